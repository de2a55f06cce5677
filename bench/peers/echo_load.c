/* SPDX-License-Identifier: MIT
 * echo_load: the one load generator of bench/'s echo benchmark, used against
 * every server. One thread (or -T of them, each with its own share of the
 * connections and its own epoll), level-triggered epoll, 127.0.0.1 only,
 * bounded in time.
 *
 * usage: echo_load PORT [-c CONNS] [-d DEPTH] [-m MSG_BYTES] [-t SECONDS]
 *                       [-w WARMUP_SECONDS] [-p SERVER_PID] [-T THREADS]
 *   -c 1000 -d 1   ping-pong: every connection sends one message and waits
 *                  for all of its bytes back before it sends the next
 *   -c 8 -d 64     streaming: every connection keeps DEPTH messages in flight,
 *                  sending one more for each one that comes back
 * Both are the same closed loop: a connection may have sent at most
 * (messages received + DEPTH) messages. A "message" is MSG_BYTES echoed back;
 * the stream is a byte stream, so messages need not arrive whole.
 *
 * After WARMUP seconds it counts messages for SECONDS and prints
 *   RESULT msgs_per_s=...          messages echoed per second
 *   RESULT loadgen_cpu_util=...    this process's CPU time / wall time
 * and, with -p, the server's CPU time (utime + stime from /proc/PID/stat of the
 * process and every process under it, all their threads counted: a server
 * that forks workers is measured whole; read at the start and the end of the
 * counted window):
 *   RESULT server_cpu_ns_per_msg=...
 *   RESULT server_cpu_util=...     near 1: the server was the bottleneck
 *   RESULT server_user_share=...   the user-space part of the server's CPU time
 * It exits by itself after WARMUP + SECONDS (each capped at 600 s). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    int want_out;        /* EPOLLOUT armed: a write hit EAGAIN */
    uint64_t sent;       /* bytes written */
    uint64_t received;   /* bytes read back */
    uint64_t at_start;   /* `received` when the counted window began */
} conn;

/* A worker is one thread of the load generator: its connections, its epoll,
 * its read buffer. */
typedef struct {
    int ep;
    conn* cs;
    int n;
    long errors;
    pthread_t th;
    char in_buf[65536];
} worker;

static size_t msg_bytes = 512;
static uint64_t depth = 1;
static char* out_buf;     /* what we send: bytes of 'x', as much as a conn may owe (read only) */
static size_t out_cap;
static double t_start, t_end;  /* the counted window, on CLOCK_MONOTONIC */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* one_cpu_s(pid, &user, &ppid): utime + stime of every thread of pid, in
 * seconds (utime alone in *user, its parent in *ppid); -1 if gone. comm
 * (field 2) may hold spaces and parentheses: count fields after the last ')'. */
static double one_cpu_s(int pid, double* user, int* ppid) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char* p = strrchr(text, ')');
    if (!p) return -1;
    unsigned long long utime = 0, stime = 0;
    /* after ')': state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", ppid, &utime, &stime) != 3)
        return -1;
    *user = (double)utime / (double)sysconf(_SC_CLK_TCK);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* proc_cpu_s(pid, &user): one_cpu_s() summed over pid and every process
 * under it (children, their children: a server that forked its workers);
 * -1 if pid is gone. Parents come from /proc/N/stat (a kernel need not have
 * /proc/N/task/N/children). */
static double proc_cpu_s(int pid, double* user) {
    enum { max_procs = 32768 };
    static int pids[max_procs], parents[max_procs];
    static double cpus[max_procs], users[max_procs];
    static char in_tree[max_procs];
    int n = 0, root = -1;
    DIR* d = opendir("/proc");
    if (!d) return -1;
    for (struct dirent* e; (e = readdir(d)) != NULL && n < max_procs;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        int p = atoi(e->d_name), pp = 0;
        double u = 0, c = one_cpu_s(p, &u, &pp);
        if (c < 0) continue;  /* ended between the listing and the read */
        if (p == pid) root = n;
        pids[n] = p, parents[n] = pp, cpus[n] = c, users[n] = u, in_tree[n] = p == pid;
        ++n;
    }
    closedir(d);
    if (root < 0) return -1;
    for (int more = 1; more;) {
        more = 0;
        for (int i = 0; i < n; ++i) {
            if (in_tree[i]) continue;
            for (int j = 0; j < n; ++j) {
                if (in_tree[j] && pids[j] == parents[i]) {
                    in_tree[i] = 1;
                    more = 1;
                    break;
                }
            }
        }
    }
    double total = 0;
    *user = 0;
    for (int i = 0; i < n; ++i) {
        if (!in_tree[i]) continue;
        total += cpus[i];
        *user += users[i];
    }
    return total;
}

static void set_out(int ep, conn* c, int on) {
    if (c->want_out == on) return;
    struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->want_out = on;
}

/* top_up(ep, c): write what the closed loop allows; -1 on a broken connection. */
static int top_up(int ep, conn* c) {
    uint64_t allowed = (c->received / msg_bytes + depth) * msg_bytes;
    while (c->sent < allowed) {
        size_t n = (size_t)(allowed - c->sent);
        if (n > out_cap) n = out_cap;
        ssize_t w = write(c->fd, out_buf, n);
        if (w > 0) {
            c->sent += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            set_out(ep, c, 1);
            return 0;
        }
        return -1;
    }
    set_out(ep, c, 0);
    return 0;
}

/* drop(w, c): closes a broken connection; it counts as an error. */
static void drop(worker* w, conn* c) {
    w->errors++;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* run_worker(w): the closed loop over w's connections until t_end; each
 * worker marks its connections' counts at the first wake-up past t_start. */
static void* run_worker(void* arg) {
    worker* w = arg;
    for (int i = 0; i < w->n; ++i)
        if (top_up(w->ep, &w->cs[i]) < 0) drop(w, &w->cs[i]);
    struct epoll_event evs[512];
    int counting = 0;
    for (;;) {
        double t = now_s();
        if (!counting && t >= t_start) {
            for (int i = 0; i < w->n; ++i) w->cs[i].at_start = w->cs[i].received;
            counting = 1;
        }
        if (t >= t_end) break;
        int n = epoll_wait(w->ep, evs, 512, 5);
        for (int i = 0; i < n; ++i) {
            conn* c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r = read(c->fd, w->in_buf, sizeof w->in_buf);
                if (r > 0) {
                    c->received += (uint64_t)r;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    drop(w, c);
                    continue;
                }
            }
            if (top_up(w->ep, c) < 0) drop(w, c);
        }
    }
    return NULL;
}

/* sleep_until(t): sleeps until now_s() reaches t. */
static void sleep_until(double t) {
    for (double now; (now = now_s()) < t;) {
        double d = t - now;
        struct timespec ts = {.tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void usage(const char* argv0) {
    fprintf(stderr,
            "usage: %s PORT [-c CONNS] [-d DEPTH] [-m MSG_BYTES] [-t SECONDS] [-w WARMUP] [-p SERVER_PID] "
            "[-T THREADS]\n",
            argv0);
    exit(2);
}

int main(int argc, char** argv) {
    int nconn = 1000, server_pid = 0, nthreads = 1, opt;
    double secs = 5, warm = 1;
    while ((opt = getopt(argc, argv, "c:d:m:t:w:p:T:")) != -1) {
        switch (opt) {
        case 'c': nconn = atoi(optarg); break;
        case 'd': depth = (uint64_t)atoll(optarg); break;
        case 'm': msg_bytes = (size_t)atol(optarg); break;
        case 't': secs = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'p': server_pid = atoi(optarg); break;
        case 'T': nthreads = atoi(optarg); break;
        default: usage(argv[0]);
        }
    }
    if (optind + 1 != argc || nconn < 1 || depth < 1 || msg_bytes < 1 || nthreads < 1 || nthreads > 256)
        usage(argv[0]);
    if (nthreads > nconn) nthreads = nconn;
    int port = atoi(argv[optind]);
    if (secs > 600) secs = 600;
    if (warm > 600) warm = 600;

    signal(SIGPIPE, SIG_IGN);  /* a peer that went away is an EPIPE, not a death */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    out_cap = msg_bytes * depth;
    if (out_cap > (1u << 20)) out_cap = 1u << 20;
    out_buf = malloc(out_cap);
    memset(out_buf, 'x', out_cap);
    conn* cs = calloc((size_t)nconn, sizeof *cs);
    worker* ws = calloc((size_t)nthreads, sizeof *ws);
    if (!out_buf || !cs || !ws) {
        fprintf(stderr, "echo_load: out of memory\n");
        return 1;
    }
    /* Worker k gets connections [k * nconn / nthreads, (k + 1) * nconn / nthreads). */
    for (int k = 0; k < nthreads; ++k) {
        int lo = (int)((long)k * nconn / nthreads), hi = (int)((long)(k + 1) * nconn / nthreads);
        ws[k].cs = cs + lo;
        ws[k].n = hi - lo;
        ws[k].ep = epoll_create1(EPOLL_CLOEXEC);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    for (int k = 0; k < nthreads; ++k) {
        for (int i = 0; i < ws[k].n; ++i) {
            /* Blocking connect (loopback: the handshake is done by the kernel
             * whether or not the server has accepted yet), then non-blocking. */
            conn* c = &ws[k].cs[i];
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
                fprintf(stderr, "echo_load: connection %d to 127.0.0.1:%d: %s\n", (int)(c - cs), port,
                        strerror(errno));
                return 1;
            }
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            c->fd = fd;
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ws[k].ep, EPOLL_CTL_ADD, fd, &e);
        }
    }

    /* The window is fixed before the workers start; this thread reads the
     * CPU times at its ends while the workers run. */
    t_start = now_s() + warm;
    t_end = t_start + secs;
    for (int k = 0; k < nthreads; ++k) {
        if (pthread_create(&ws[k].th, NULL, run_worker, &ws[k]) != 0) {
            fprintf(stderr, "echo_load: pthread_create failed\n");
            return 1;
        }
    }
    double usr0 = 0, usr1 = 0, srv0 = -1, srv = -1;
    sleep_until(t_start);
    double cpu0 = self_cpu_s();
    if (server_pid) srv0 = proc_cpu_s(server_pid, &usr0);
    sleep_until(t_end);
    double cpu = self_cpu_s() - cpu0;
    if (server_pid) srv = proc_cpu_s(server_pid, &usr1);
    double elapsed = t_end - t_start;
    long errors = 0;
    for (int k = 0; k < nthreads; ++k) {
        pthread_join(ws[k].th, NULL);
        errors += ws[k].errors;
    }

    uint64_t total = 0, lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nconn; ++i) {
        uint64_t m = (cs[i].received - cs[i].at_start) / msg_bytes;
        total += m;
        if (m < lo) lo = m;
        if (m > hi) hi = m;
        if (cs[i].fd >= 0) close(cs[i].fd);
    }
    printf("INFO port=%d conns=%d threads=%d depth=%llu msg=%zu secs=%.2f msgs=%llu per_conn_min=%llu "
           "per_conn_max=%llu errors=%ld\n",
           port, nconn, nthreads, (unsigned long long)depth, msg_bytes, elapsed, (unsigned long long)total,
           (unsigned long long)lo, (unsigned long long)hi, errors);
    printf("RESULT msgs_per_s=%.0f\n", (double)total / elapsed);
    printf("RESULT loadgen_cpu_util=%.3f\n", cpu / elapsed);
    if (server_pid && srv >= 0 && srv0 >= 0 && total > 0) {
        printf("RESULT server_cpu_ns_per_msg=%.1f\n", (srv - srv0) * 1e9 / (double)total);
        printf("RESULT server_cpu_util=%.3f\n", (srv - srv0) / elapsed);
        if (srv > srv0) printf("RESULT server_user_share=%.3f\n", (usr1 - usr0) / (srv - srv0));
    }
    return errors ? 1 : 0;
}
