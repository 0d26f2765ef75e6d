/* A host signal reaches the guest's handler: SIGTERM sent to the emulator runs the
 * program's handler, which reports and exits with a status of its own. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig) {
    char msg[] = "handler got signal 15\n";
    msg[19] = '0' + sig / 10;
    msg[20] = '0' + sig % 10;
    write(1, msg, strlen(msg));
    _exit(7);
}

int main(void) {
    signal(SIGTERM, on_term);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
