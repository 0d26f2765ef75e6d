/* Processes: fork and wait4 with exit statuses and death by signal, pipes between
 * processes, dup2, execve of another program, and the exit code of main. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) {
        printf("exec'ed child with %s\n", argv[2]);
        return 42;
    }
    int st;
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    waitpid(pid, &st, 0);
    printf("child exit: %d %d\n", WIFEXITED(st), WEXITSTATUS(st));

    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    printf("child signalled: %d %d\n", WIFSIGNALED(st), WTERMSIG(st));

    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        printf("through the pipe\n");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    char buf[64] = {0};
    int n = read(p[0], buf, sizeof buf - 1);
    waitpid(pid, &st, 0);
    printf("parent read %d: %s", n, buf);

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *args[] = {argv[0], "child", "an argument", 0};
        execv(argv[0], args);
        _exit(99);
    }
    waitpid(pid, &st, 0);
    printf("exec'ed exit: %d\n", WEXITSTATUS(st));
    return 5;
}
