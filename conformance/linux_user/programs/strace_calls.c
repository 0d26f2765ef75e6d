/* A freestanding program whose system calls are the same under any emulator:
 * every pointer it passes is in its own data, so -strace lines can be compared
 * with QEMU's line for line. */
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_access 21
#define SYS_getpid 39
#define SYS_exit_group 231
#define SYS_openat 257
#define SYS_getuid 102
#define SYS_getgid 104

static long sys(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9) : "rcx", "r11", "memory");
    return r;
}

static char buf[256];
static const char path[] = "/nonexistent/file";
static const char msg[] = "strace test\n";

void _start(void) {
    sys(SYS_write, 1, (long)msg, sizeof msg - 1, 0, 0, 0);
    sys(SYS_openat, -100, (long)path, 0, 0, 0, 0);
    sys(SYS_openat, -100, (long)path, 0101, 0644, 0, 0);
    sys(SYS_access, (long)path, 4, 0, 0, 0, 0);
    sys(SYS_read, 99, (long)buf, sizeof buf, 0, 0, 0);
    sys(SYS_close, 99, 0, 0, 0, 0, 0);
    sys(SYS_getuid, 0, 0, 0, 0, 0, 0);
    sys(SYS_getgid, 0, 0, 0, 0, 0, 0);
    sys(SYS_mprotect, 0x1000, 4096, 1, 0, 0, 0);
    sys(SYS_munmap, 0x1001, 4096, 0, 0, 0, 0);
    sys(SYS_mmap, 0x30000000, 8192, 3, 0x32, -1, 0);
    sys(SYS_mprotect, 0x30000000, 4096, 1, 0, 0, 0);
    sys(SYS_munmap, 0x30000000, 8192, 0, 0, 0, 0);
    sys(SYS_write, 1, 0x10, 1, 0, 0, 0);
    sys(SYS_exit_group, 3, 0, 0, 0, 0, 0);
}
