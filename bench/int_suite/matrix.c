/* Matrix arithmetic: 48x48 integer matrix products; (A*B)*v is checked against A*(B*v). */
#include "common.h"

#define N 48
static int64_t A[N][N], B[N][N], C[N][N];

uint64_t bench_run(uint64_t reps, int *ok)
{
    uint64_t acc = 0;
    for (uint64_t r = 0; r < reps; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                A[i][j] = (int64_t)((i * 7 + j * 3 + r) % 17) - 8;
                B[i][j] = (int64_t)((i * 5 + j * 11 + 2 * r) % 13) - 6;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int64_t s = 0;
                for (int k = 0; k < N; k++)
                    s += A[i][k] * B[k][j];
                C[i][j] = s;
            }
        int64_t v[N], bv[N], x[N], y[N];
        for (int i = 0; i < N; i++)
            v[i] = i - 20;
        for (int i = 0; i < N; i++) {
            int64_t s = 0, t = 0;
            for (int k = 0; k < N; k++) {
                s += C[i][k] * v[k];
                t += B[i][k] * v[k];
            }
            x[i] = s;
            bv[i] = t;
        }
        for (int i = 0; i < N; i++) {
            int64_t s = 0;
            for (int k = 0; k < N; k++)
                s += A[i][k] * bv[k];
            y[i] = s;
            if (x[i] != y[i])
                *ok = 0;
        }
        acc += (uint64_t)C[r % N][(r * 7) % N];
    }
    return acc;
}
