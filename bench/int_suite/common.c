/*
 * Shared part of the integer benchmark guests: multiboot command line
 * ("reps=N"), result on COM1, exit through isa-debug-exit (port 0xf4):
 * 0 when the program's own check passed (exit status 1), 1 when it failed
 * (exit status 3). Each program defines bench_run(reps, &ok).
 */
#include <stdint.h>
#include "common.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }

static void puts(const char *s)
{
    while (*s) {
        if (*s == '\n')
            outb(0x3f8, '\r');
        outb(0x3f8, (uint8_t)*s++);
    }
}

static void putx(uint64_t v)
{
    puts("0x");
    for (int i = 15; i >= 0; i--)
        outb(0x3f8, "0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static uint64_t parse_reps(const char *s)
{
    for (; *s; s++) {
        if (s[0] == 'r' && s[1] == 'e' && s[2] == 'p' && s[3] == 's' && s[4] == '=') {
            uint64_t n = 0;
            for (s += 5; *s >= '0' && *s <= '9'; s++)
                n = n * 10 + (uint64_t)(*s - '0');
            return n;
        }
    }
    return 1;
}

void bench_main(uint32_t *mbi)
{
    const char *cmdline = (mbi[0] & 4) ? (const char *)(uint64_t)mbi[4] : "";
    int ok = 1;
    uint64_t r = bench_run(parse_reps(cmdline), &ok);
    puts(ok ? "ok " : "FAIL ");
    putx(r);
    puts("\n");
    outb(0xf4, ok ? 0 : 1);
}
