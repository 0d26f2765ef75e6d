/* Threads: pthread_create/join, a mutex-protected counter, a condition variable
 * hand-off, thread-local storage, atomics, and exit from a thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static atomic_long atomics;
static int turn;
static __thread int tls_value;

static void *work(void *arg) {
    long id = (long)arg;
    tls_value = (int)id * 100;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add(&atomics, 1);
    }
    pthread_mutex_lock(&lock);
    while (turn != id)
        pthread_cond_wait(&cond, &lock);
    printf("thread %ld: tls %d\n", id, tls_value);
    turn++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    if (id == 3)
        pthread_exit((void *)(id * 7));
    return (void *)(id * 7);
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], 0, work, (void *)i);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter %ld atomics %ld joined %ld main tls %d\n", counter, (long)atomics, sum,
           tls_value);
    return 0;
}
