// SPDX-License-Identifier: MIT
// glibc peer for bench/'s dns benchmark, the usual C++ answer: a pool of
// THREADS threads taking names ("name0.bench" ...) from a shared counter and
// calling blocking getaddrinfo(name, "80", AF_INET) for each. getaddrinfo
// asks the servers of /etc/resolv.conf, on port 53 only: run.sh runs it in a
// network namespace of its own whose resolv.conf names 127.0.0.1, where the
// benchmark's server listens on port 53. Measures wall time and the process's
// CPU time (getrusage: user + sys, every thread) from when the threads, all
// started, are released until the last one is joined.
// usage: dns_getaddrinfo [N [THREADS]]   (default 10,000 lookups, 64 threads)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static long n_lookups;
static atomic_long next_name;
static atomic_long failed, wrong;
static atomic_int first_error;
static pthread_barrier_t go;

static void* worker(void* arg) {
    (void)arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char name[64];
    pthread_barrier_wait(&go);
    for (;;) {
        long i = atomic_fetch_add(&next_name, 1);
        if (i >= n_lookups) break;
        snprintf(name, sizeof name, "name%ld.bench", i);
        struct addrinfo* res = NULL;
        int rc = getaddrinfo(name, "80", &hints, &res);
        if (rc != 0) {
            int none = 0;
            atomic_compare_exchange_strong(&first_error, &none, rc);
            atomic_fetch_add(&failed, 1);
            continue;
        }
        const struct sockaddr_in* sa = (const struct sockaddr_in*)res->ai_addr;
        if (res->ai_next || sa->sin_family != AF_INET || ntohl(sa->sin_addr.s_addr) != 0xc0000201 ||
            ntohs(sa->sin_port) != 80)
            atomic_fetch_add(&wrong, 1);
        freeaddrinfo(res);
    }
    return NULL;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval tv) { return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3; }

int main(int argc, char** argv) {
    n_lookups = argc > 1 ? atol(argv[1]) : 10000;
    int nthreads = argc > 2 ? atoi(argv[2]) : 64;
    if (n_lookups < 1 || nthreads < 1 || nthreads > 4096) {
        fprintf(stderr, "usage: %s [N [THREADS]]\n", argv[0]);
        return 2;
    }
    pthread_t* threads = calloc((size_t)nthreads, sizeof *threads);
    if (!threads) return 1;
    pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int t = 0; t < nthreads; ++t)
        if (pthread_create(&threads[t], &attr, worker, NULL) != 0) {
            fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
            return 1;
        }

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now_ms();
    pthread_barrier_wait(&go);
    for (int t = 0; t < nthreads; ++t) pthread_join(threads[t], NULL);
    double wall = now_ms() - t0;
    getrusage(RUSAGE_SELF, &r1);
    double user = tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime);
    double sys = tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime);

    long f = atomic_load(&failed), w = atomic_load(&wrong);
    if (f) printf("NOTE glibc_dns: %ld of %ld lookups failed (first: %s)\n", f, n_lookups, gai_strerror(first_error));
    if (w) printf("NOTE glibc_dns: %ld of %ld lookups gave another address\n", w, n_lookups);
    printf("RESULT glibc_dns_wall_ms=%.2f\n", wall);
    printf("RESULT glibc_dns_cpu_ms=%.2f\n", user + sys);
    printf("RESULT glibc_dns_user_ms=%.2f\n", user);
    printf("RESULT glibc_dns_sys_ms=%.2f\n", sys);
    printf("RESULT glibc_dns_failed=%ld\n", f + w);
    free(threads);
    return f + w ? 1 : 0;
}
