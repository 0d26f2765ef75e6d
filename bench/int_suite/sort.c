/* Sorting: quicksort of pseudo-random 32-bit keys; checked for order and by the key sum. */
#include "common.h"

#define N 4096
static uint32_t a[N];

static void qs(uint32_t *v, long lo, long hi)
{
    while (lo < hi) {
        uint32_t p = v[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { uint32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qs(v, lo, j); lo = i; } else { qs(v, i, hi); hi = j; }
    }
}

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint32_t x = 2463534242u;
    uint64_t acc = 0;
    for (uint64_t r = 0; r < reps; r++) {
        uint64_t sum = 0;
        for (int i = 0; i < N; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            a[i] = x;
            sum += x;
        }
        qs(a, 0, N - 1);
        uint64_t sum2 = 0;
        for (int i = 0; i < N; i++) {
            sum2 += a[i];
            if (i && a[i - 1] > a[i])
                *ok = 0;
        }
        if (sum != sum2)
            *ok = 0;
        acc += a[N / 2];
    }
    return acc;
}
