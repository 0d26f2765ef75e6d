#include <stdint.h>
uint64_t bench_run(uint64_t reps, int *ok);
