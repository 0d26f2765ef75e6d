/* Recursion: naive Fibonacci and Ackermann(2, n) by call; checked against loops. */
#include "common.h"

__attribute__((noinline)) static uint64_t fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static uint64_t ack(uint64_t m, uint64_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint64_t acc = 0;
    for (uint64_t r = 0; r < reps; r++) {
        unsigned n = 20 + (unsigned)(r & 1);
        uint64_t a = 0, b = 1;
        for (unsigned i = 0; i < n; i++) { uint64_t t = a + b; a = b; b = t; }
        uint64_t f = fib(n);
        if (f != a)
            *ok = 0;
        uint64_t k = ack(2, 50);
        if (k != 2 * 50 + 3)
            *ok = 0;
        acc += f + k;
    }
    return acc;
}
