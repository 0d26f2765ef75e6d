/* Hashing: FNV-1a over a generated buffer, and a byte-by-byte re-check with a second,
 * independently written rolling form (the same function, computed twice). */
#include "common.h"

static uint8_t buf[16384];

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint64_t x = 0x243F6A8885A308D3ULL, acc = 0;
    for (uint64_t r = 0; r < reps; r++) {
        for (unsigned i = 0; i < sizeof buf; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        uint64_t h = 0xcbf29ce484222325ULL;
        for (unsigned i = 0; i < sizeof buf; i++)
            h = (h ^ buf[i]) * 0x100000001b3ULL;
        uint64_t h2 = 0xcbf29ce484222325ULL;
        const uint64_t *w = (const uint64_t *)buf;
        for (unsigned i = 0; i < sizeof buf / 8; i++) {
            uint64_t v = w[i];
            for (int k = 0; k < 8; k++, v >>= 8)
                h2 = (h2 ^ (v & 0xff)) * 0x100000001b3ULL;
        }
        if (h != h2)
            *ok = 0;
        acc ^= h + r;
    }
    return acc;
}
