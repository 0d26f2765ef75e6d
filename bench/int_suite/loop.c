/* Tight loop: a counted loop of register arithmetic; checked against its closed form. */
#include "common.h"

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint64_t total = 0;
    for (uint64_t r = 0; r < reps; r++) {
        uint64_t s = 0;
        for (uint32_t i = 0; i < 100000; i++) {
            s += i;
            __asm__ volatile("" : "+r"(s));
        }
        if (s != 100000ULL * 99999 / 2)
            *ok = 0;
        total += s;
    }
    return total;
}
