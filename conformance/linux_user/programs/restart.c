/* SA_RESTART: a read from a pipe interrupted by a signal is restarted when the
 * handler was installed with SA_RESTART, and fails with EINTR when it was not. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; write(1, "alarm\n", 6); }

static void attempt(int flags) {
    int p[2];
    pipe(p);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, 0);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        sleep(2);
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[1]);
    alarm(1);
    char c = 0;
    ssize_t n = read(p[0], &c, 1);
    printf("%s: read %zd %s\n", flags ? "SA_RESTART" : "no SA_RESTART", n,
           n < 0 ? strerror(errno) : "data");
    fflush(stdout);
    waitpid(child, 0, 0);
    close(p[0]);
}

int main(void) {
    attempt(SA_RESTART);
    attempt(0);
    return 0;
}
