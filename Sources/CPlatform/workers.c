// A pool of worker threads for the engine's parallel loops. Decoding one token runs about 90
// matrix products of 100–200 µs each, separated by short serial steps (norms, attention). Waking
// a sleeping thread for each of them costs a noticeable share of that (libdispatch's
// concurrentPerform lost about 9 µs a call on the 2-core development machine), so the workers
// here spin for a while after each job, as llama.cpp's do, and only then sleep on a condition
// variable.
#define _GNU_SOURCE
#include "CPlatform.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/// Pause iterations a worker spins before sleeping: 0.1–1 ms, depending on the CPU's pause
/// latency; longer than the gaps between a token's products, short next to a human's.
#define SPIN_LIMIT 40000

struct cplatform_pool {
    size_t workers;
    pthread_t *threads;
    pthread_mutex_t run_lock;  // one job at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    // The job's generation (high 32 bits, bumped for each job and for shutdown) and the next task
    // index to take (low 32 bits), in one word: a worker takes a task only with a compare-and-swap
    // on the generation it was woken for, so a late worker can never take a task of the next job.
    _Atomic uint64_t job;
    // The job's generation (high 32 bits) and its task count (low 32 bits), stored before the job
    // is published. A worker compares a task index with the count of its own generation only: a
    // worker late from the previous job that read the next job's plain `tasks` could take a task
    // "of its generation" that does not exist, run it early, and drive `pending` below zero, so
    // that the caller spun forever (seen under load: a `check` hung with the workers asleep).
    _Atomic uint64_t limit;
    _Atomic size_t pending;  // tasks of the current job not finished
    _Atomic int sleepers;
    _Atomic int stop;
    size_t tasks;
    cplatform_task fn;
    void *context;
};

static inline uint32_t generation_of(uint64_t job) { return (uint32_t)(job >> 32); }

/// Runs tasks of generation `gen` until none is left.
static void take_tasks(cplatform_pool *p, uint32_t gen) {
    uint64_t job = atomic_load_explicit(&p->job, memory_order_acquire);
    for (;;) {
        uint64_t limit = atomic_load_explicit(&p->limit, memory_order_acquire);
        if (generation_of(job) != gen || generation_of(limit) != gen || (job & 0xFFFFFFFFu) >= (limit & 0xFFFFFFFFu))
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->job, &job, job + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        p->fn(p->context, (size_t)(job & 0xFFFFFFFFu));
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
        job = atomic_load_explicit(&p->job, memory_order_acquire);
    }
}

static void *worker_main(void *arg) {
    cplatform_pool *p = (cplatform_pool *)arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = generation_of(atomic_load_explicit(&p->job, memory_order_acquire));
        for (int spin = 0; g == seen && spin < SPIN_LIMIT; spin++) {
            CPU_RELAX();
            g = generation_of(atomic_load_explicit(&p->job, memory_order_acquire));
        }
        if (g == seen) {
            pthread_mutex_lock(&p->sleep_lock);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = generation_of(atomic_load_explicit(&p->job, memory_order_acquire))) == seen) pthread_cond_wait(&p->wake, &p->sleep_lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->sleep_lock);
        }
        seen = g;
        if (atomic_load(&p->stop)) return NULL;
        take_tasks(p, g);
    }
}

cplatform_pool *cplatform_pool_create(size_t workers) {
    cplatform_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = calloc(workers ? workers : 1, sizeof(pthread_t));
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->sleep_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (size_t i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
        p->workers++;
    }
    return p;
}

int cplatform_pool_run(cplatform_pool *p, size_t tasks, cplatform_task fn, void *context) {
    if (pthread_mutex_trylock(&p->run_lock) != 0) return 0;
    p->tasks = tasks;
    p->fn = fn;
    p->context = context;
    atomic_store_explicit(&p->pending, tasks, memory_order_relaxed);
    const uint32_t gen = generation_of(atomic_load(&p->job)) + 1;
    atomic_store_explicit(&p->limit, ((uint64_t)gen << 32) | (uint32_t)tasks, memory_order_release);
    // The store publishes the job: its fields are written before it (release).
    pthread_mutex_lock(&p->sleep_lock);
    atomic_store_explicit(&p->job, (uint64_t)gen << 32, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->sleep_lock);
    take_tasks(p, gen);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) CPU_RELAX();
    pthread_mutex_unlock(&p->run_lock);
    return 1;
}

void cplatform_pool_destroy(cplatform_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->run_lock);
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->sleep_lock);
    atomic_store(&p->job, (uint64_t)(generation_of(atomic_load(&p->job)) + 1) << 32);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->sleep_lock);
    for (size_t i = 0; i < p->workers; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_unlock(&p->run_lock);
    free(p->threads);
    free(p);
}
