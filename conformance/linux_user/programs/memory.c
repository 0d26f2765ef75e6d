#define _GNU_SOURCE
/* Memory: brk, anonymous and file mmap, mprotect (a write to a read-only page
 * faults, then succeeds after mprotect), munmap (then the address faults),
 * mremap growing and moving, and code written at run time (self-modifying). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static void on_segv(int sig) { (void)sig; siglongjmp(env, 1); }

static int faults(volatile char *p) {
    if (sigsetjmp(env, 1))
        return 1;
    *p = 1;
    return 0;
}

int main(int argc, char **argv) {
    (void)argc;
    signal(SIGSEGV, on_segv);
    char *b0 = sbrk(0);
    char *b1 = sbrk(65536);
    memset(b1, 7, 65536);
    printf("brk grew: %d\n", (char *)sbrk(0) - b0 == 65536 && b1 == b0);

    char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("anon zero: %d\n", m[0] == 0 && m[3 * 4096 - 1] == 0);
    strcpy(m, "hello");
    mprotect(m, 4096, PROT_READ);
    printf("ro write faults: %d\n", faults(m));
    mprotect(m, 4096, PROT_READ | PROT_WRITE);
    printf("rw write ok: %d, kept %s\n", !faults(m + 1), m + 2);
    munmap(m + 4096, 4096);
    printf("unmapped faults: %d, next page ok: %d\n", faults(m + 4096), !faults(m + 8192));

    char *r = mremap(m, 3 * 4096, 64 * 4096, MREMAP_MAYMOVE);
    printf("mremap kept: %c\n", r == MAP_FAILED ? '?' : r[3]);

    int fd = open(argv[0], O_RDONLY);
    char *f = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("file map: %.4s\n", f + 1);
    close(fd);

    unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        unsigned char prog[] = {0xb8, (unsigned char)(i * 10), 0, 0, 0, 0xc3};  /* mov eax, imm; ret */
        memcpy(code, prog, sizeof prog);
        sum += ((int (*)(void))code)();
    }
    printf("self-modifying code: %d\n", sum);
    return 0;
}
