/*
 * System-mode benchmark guest: an integer loop, iteration count from the
 * multiboot command line ("iters=N", default 1000000), result on COM1,
 * exit through isa-debug-exit (port 0xf4, value 0).
 *
 * Two fixed 6-instruction loop bodies, chosen with "loop=":
 *   count (default): 32-bit induction variable and a 64-bit sum, as compiled
 *                    C for-loops look (add, lea, xor, add, cmp, jne);
 *   mix:             64-bit hash mixing with a rotate (add, xor, rol, lea,
 *                    dec, jnz): full-width values and a flag-preserving rotate.
 */
#include <stdint.h>

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

static uint64_t parse_iters(const char *s)
{
    for (; *s; s++) {
        if (s[0] == 'i' && s[1] == 't' && s[2] == 'e' && s[3] == 'r' && s[4] == 's' && s[5] == '=') {
            uint64_t n = 0;
            for (s += 6; *s >= '0' && *s <= '9'; s++)
                n = n * 10 + (uint64_t)(*s - '0');
            return n;
        }
    }
    return 1000000;
}

static int has(const char *s, const char *word)
{
    for (; *s; s++) {
        const char *p = s, *w = word;
        while (*w && *p == *w) { p++; w++; }
        if (!*w)
            return 1;
    }
    return 0;
}

void bench_main(uint32_t *mbi)
{
    const char *cmdline = (mbi[0] & 4) ? (const char *)(uint64_t)mbi[4] : "";
    uint64_t n = parse_iters(cmdline);
    uint64_t a = 1, b = 0x9E3779B97F4A7C15ULL;
    if (!has(cmdline, "loop=mix")) {
        uint64_t sum = 0, t = 0;
        uint32_t i = 0, lim = (uint32_t)n;
        __asm__ volatile(
            "1:\n\t"
            "add %q[i], %[sum]\n\t"
            "lea (%q[i], %q[i], 2), %k[t]\n\t"
            "xor %k[t], %k[b]\n\t"
            "add $1, %k[i]\n\t"
            "cmp %k[lim], %k[i]\n\t"
            "jne 1b\n\t"
            : [sum] "+r"(sum), [t] "+r"(t), [b] "+r"(b), [i] "+r"(i) : [lim] "r"(lim));
        a = sum;
    } else __asm__ volatile(
        "1:\n\t"
        "add %[b], %[a]\n\t"
        "xor %[n], %[b]\n\t"
        "rol $7, %[a]\n\t"
        "lea 3(%[a], %[b]), %[b]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        : [a] "+r"(a), [b] "+r"(b), [n] "+r"(n));
    puts("bench result ");
    putx(a ^ b);
    puts("\n");
    outb(0xf4, 0);
}
