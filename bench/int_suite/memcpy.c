/* Memory copy: word and byte copies between buffers at varying offsets; the copy is
 * compared word by word with its source. */
#include "common.h"

static uint64_t src[8192], dst[8192];

static void copy_words(uint64_t *d, const uint64_t *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        d[i] = s[i];
}

static void copy_bytes(uint8_t *d, const uint8_t *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        d[i] = s[i];
        __asm__ volatile("" ::: "memory");
    }
}

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint64_t acc = 0;
    for (unsigned i = 0; i < 8192; i++)
        src[i] = i * 0x9E3779B97F4A7C15ULL;
    for (uint64_t r = 0; r < reps; r++) {
        unsigned off = (unsigned)(r % 64);
        copy_words(dst, src + off, 8192 - 64);
        copy_bytes((uint8_t *)dst + 8 * 4096 + 3, (const uint8_t *)src + 8 * 4096 + 3, 8 * 1024);
        for (unsigned i = 0; i < 4096; i++)
            if (dst[i] != src[i + off])
                *ok = 0;
        for (unsigned i = 4097; i < 4096 + 1024; i++)
            if (dst[i] != src[i])
                *ok = 0;
        acc += dst[r % 4096];
    }
    return acc;
}
