/* SPDX-License-Identifier: MIT
 * echo_load: the one load generator of bench/'s echo benchmark, used against
 * every server. A single thread, level-triggered epoll, 127.0.0.1 only, bounded
 * in time.
 *
 * usage: echo_load PORT [-c CONNS] [-d DEPTH] [-m MSG_BYTES] [-t SECONDS]
 *                       [-w WARMUP_SECONDS] [-p SERVER_PID]
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
 * and, with -p, the server's CPU time (utime + stime of the whole process from
 * /proc/PID/stat, read at the start and the end of the counted window):
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

static int ep;
static size_t msg_bytes = 512;
static uint64_t depth = 1;
static char* out_buf;     /* what we send: bytes of 'x', as much as a conn may owe */
static size_t out_cap;
static char in_buf[65536];

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

/* proc_cpu_s(pid, &user): utime + stime of every thread of pid, in seconds
 * (utime alone in *user); -1 if gone. comm (field 2) may hold spaces and
 * parentheses: count fields after the last ')'. */
static double proc_cpu_s(int pid, double* user) {
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
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    *user = (double)utime / (double)sysconf(_SC_CLK_TCK);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void set_out(conn* c, int on) {
    if (c->want_out == on) return;
    struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->want_out = on;
}

/* top_up(c): write what the closed loop allows; -1 on a broken connection. */
static int top_up(conn* c) {
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
            set_out(c, 1);
            return 0;
        }
        return -1;
    }
    set_out(c, 0);
    return 0;
}

static void usage(const char* argv0) {
    fprintf(stderr, "usage: %s PORT [-c CONNS] [-d DEPTH] [-m MSG_BYTES] [-t SECONDS] [-w WARMUP] [-p SERVER_PID]\n",
            argv0);
    exit(2);
}

int main(int argc, char** argv) {
    int nconn = 1000, server_pid = 0, opt;
    double secs = 5, warm = 1;
    while ((opt = getopt(argc, argv, "c:d:m:t:w:p:")) != -1) {
        switch (opt) {
        case 'c': nconn = atoi(optarg); break;
        case 'd': depth = (uint64_t)atoll(optarg); break;
        case 'm': msg_bytes = (size_t)atol(optarg); break;
        case 't': secs = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'p': server_pid = atoi(optarg); break;
        default: usage(argv[0]);
        }
    }
    if (optind + 1 != argc || nconn < 1 || depth < 1 || msg_bytes < 1) usage(argv[0]);
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
    ep = epoll_create1(EPOLL_CLOEXEC);
    conn* cs = calloc((size_t)nconn, sizeof *cs);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    for (int i = 0; i < nconn; ++i) {
        /* Blocking connect (loopback: the handshake is done by the kernel
         * whether or not the server has accepted yet), then non-blocking. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
            fprintf(stderr, "echo_load: connection %d to 127.0.0.1:%d: %s\n", i, port, strerror(errno));
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        cs[i].fd = fd;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }
    long errors = 0;
    for (int i = 0; i < nconn; ++i)
        if (top_up(&cs[i]) < 0) errors++;

    struct epoll_event evs[512];
    double t0 = now_s(), t_start = t0 + warm, t_end = t_start + secs;
    double cpu0 = 0, srv0 = 0, usr0 = 0, usr1 = 0;
    int counting = 0;
    for (;;) {
        double t = now_s();
        if (!counting && t >= t_start) {
            for (int i = 0; i < nconn; ++i) cs[i].at_start = cs[i].received;
            counting = 1;
            t_start = t;
            t_end = t + secs;
            cpu0 = self_cpu_s();
            if (server_pid) srv0 = proc_cpu_s(server_pid, &usr0);
        }
        if (counting && t >= t_end) break;
        int n = epoll_wait(ep, evs, 512, 20);
        for (int i = 0; i < n; ++i) {
            conn* c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r = read(c->fd, in_buf, sizeof in_buf);
                if (r > 0) {
                    c->received += (uint64_t)r;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
            }
            if (top_up(c) < 0) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
            }
        }
    }
    double t = now_s(), elapsed = t - t_start;
    double cpu = self_cpu_s() - cpu0;
    double srv = server_pid ? proc_cpu_s(server_pid, &usr1) : -1;

    uint64_t total = 0, lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nconn; ++i) {
        uint64_t m = (cs[i].received - cs[i].at_start) / msg_bytes;
        total += m;
        if (m < lo) lo = m;
        if (m > hi) hi = m;
        if (cs[i].fd >= 0) close(cs[i].fd);
    }
    printf("INFO port=%d conns=%d depth=%llu msg=%zu secs=%.2f msgs=%llu per_conn_min=%llu per_conn_max=%llu errors=%ld\n",
           port, nconn, (unsigned long long)depth, msg_bytes, elapsed, (unsigned long long)total,
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
