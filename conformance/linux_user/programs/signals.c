/* Signals: handlers for synchronous faults (SIGSEGV with si_addr, SIGFPE, SIGILL,
 * SIGTRAP), raise/kill to self, masks, sigaltstack, SA_RESETHAND, and recovery
 * from a fault through siglongjmp. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int last_sig, last_code;
static void *volatile last_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_sig = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(env, 1);
}

static volatile int counted;
static void count(int sig) { counted += sig; }

static int on_alt;
static char altstack[65536];
static void check_alt(int sig) {
    char here;
    (void)sig;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGFPE, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    sigaction(SIGTRAP, &sa, 0);

    if (!sigsetjmp(env, 1))
        *(volatile int *)0x1234 = 1;
    printf("segv: sig %d code %d addr %p\n", last_sig, last_code, last_addr);
    if (!sigsetjmp(env, 1)) {
        volatile int zero = 0;
        printf("%d\n", 10 / zero);
    }
    printf("fpe: sig %d code %d\n", last_sig, last_code);
    if (!sigsetjmp(env, 1))
        __asm__ volatile("ud2");
    printf("ill: sig %d code %d\n", last_sig, last_code);
    if (!sigsetjmp(env, 1))
        __asm__ volatile("int3");
    printf("trap: sig %d\n", last_sig);

    signal(SIGUSR1, count);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("usr1 counted %d\n", counted);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    signal(SIGUSR2, count);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR2);
    printf("blocked: counted %d\n", counted);
    sigset_t pend;
    sigpending(&pend);
    printf("pending usr2: %d\n", sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, 0);
    printf("unblocked: counted %d\n", counted);

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = check_alt;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigaction(SIGHUP, &sa, 0);
    raise(SIGHUP);
    printf("altstack: %d\n", on_alt);
    sigaction(SIGHUP, 0, &sa);
    printf("reset to default: %d\n", sa.sa_handler == SIG_DFL);
    fflush(stdout);
    signal(SIGABRT, SIG_DFL);
    abort();
}
