/* Freestanding-style integer benchmarks for linux-user runs, one per shape; each
 * checks its own result and exits 0 only when it is right.  Usage: programs NAME N */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t loop(long n) {             /* tight counting loop */
    uint64_t s = 0;
    for (long i = 0; i < n; i++)
        s += (uint64_t)i ^ (s >> 3);
    return s;
}

static uint64_t fnv(long n) {              /* hashing bytes */
    uint64_t h = 1469598103934665603ull;
    for (long i = 0; i < n; i++)
        h = (h ^ (uint8_t)(i * 31)) * 1099511628211ull;
    return h;
}

static int cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t sorting(long n) {          /* qsort of pseudo-random words */
    uint32_t *v = malloc(n * sizeof *v), x = 12345;
    for (long i = 0; i < n; i++)
        v[i] = x = x * 1103515245u + 12345u;
    qsort(v, n, sizeof *v, cmp);
    uint64_t s = 0;
    for (long i = 1; i < n; i++)
        if (v[i - 1] > v[i])
            return 0;
    for (long i = 0; i < n; i += 97)
        s += v[i];
    free(v);
    return s;
}

static uint64_t copying(long n) {          /* memcpy and memset of 64 KiB blocks */
    static char a[65536], b[65536];
    uint64_t s = 0;
    for (long i = 0; i < n; i++) {
        memset(a, (int)i, sizeof a);
        memcpy(b, a, sizeof a);
        s += (uint8_t)b[i % sizeof b];
    }
    return s;
}

static uint64_t fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }

static uint64_t matrix(long n) {           /* n x n integer matrix product */
    uint32_t *a = malloc(n * n * 4), *b = malloc(n * n * 4), *c = calloc(n * n, 4);
    for (long i = 0; i < n * n; i++)
        a[i] = (uint32_t)i * 7 + 1, b[i] = (uint32_t)i * 3 + 2;
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++)
            for (long j = 0; j < n; j++)
                c[i * n + j] += a[i * n + k] * b[k * n + j];
    uint64_t s = 0;
    for (long i = 0; i < n * n; i++)
        s += c[i];
    return s;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: programs NAME N EXPECTED\n");
        return 2;
    }
    long n = atol(argv[2]);
    uint64_t r;
    if (!strcmp(argv[1], "loop")) r = loop(n);
    else if (!strcmp(argv[1], "fnv")) r = fnv(n);
    else if (!strcmp(argv[1], "sort")) r = sorting(n);
    else if (!strcmp(argv[1], "copy")) r = copying(n);
    else if (!strcmp(argv[1], "fib")) r = fib((int)n);
    else if (!strcmp(argv[1], "matrix")) r = matrix(n);
    else return 2;
    printf("%s %ld = %llu\n", argv[1], n, (unsigned long long)r);
    return strcmp(argv[3], "-") && strtoull(argv[3], 0, 10) != r;
}
