// SPDX-License-Identifier: MIT
// The floor of bench/'s fetch_many benchmark: N concurrent GETs of one URL
// written by hand in C, one thread, one epoll. Every socket is opened and
// connected at once (non-blocking); as each handshake completes its request
// goes out, and as each answer is complete (header, Content-Length bytes of
// body, which must be "Hello!") its socket is closed. No HTTP library, no
// allocation per request beyond a fixed buffer: what is left is the kernel's
// work, which every client pays. Measures wall and CPU time (getrusage) as
// the others do.
// With --ask-again it does what weft's tcp_stream::connect does: right after
// the EINPROGRESS it calls connect() once more, which on loopback always
// finds the handshake over (0), and then writes the request at once instead
// of waiting for EPOLLOUT and asking SO_ERROR (bench/fetch.sh's row "C epoll,
// connect again": the floor with weft's trick).
// usage: fetch_epoll [--ask-again] URL [N]   (URL: http://127.0.0.1:PORT/...; default 1,000; bounded by 60 s)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BUF = 512 };

struct conn {
    int fd;
    int sent;   // the request is written
    int got;    // bytes in buf
    char buf[BUF];
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval t) { return (double)t.tv_sec * 1e3 + (double)t.tv_usec / 1e3; }

// complete() is 1 when c->buf holds a whole answer whose body is "Hello!",
// -1 when it holds a whole answer that is not, 0 when more is to come.
static int complete(const struct conn* c) {
    const char* end = memmem(c->buf, (size_t)c->got, "\r\n\r\n", 4);
    if (!end) return c->got == BUF ? -1 : 0;
    long len = -1;
    for (const char* p = c->buf; p < end; p++) {
        if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) len = atol(p + 15);
    }
    const char* body = end + 4;
    long have = (long)(c->buf + c->got - body);
    if (len < 0) return -1;
    if (have < len) return 0;
    return len == 6 && memcmp(body, "Hello!", 6) == 0 ? 1 : -1;
}

int main(int argc, char** argv) {
    const char* prog = argv[0];
    int ask_again = argc > 1 && strcmp(argv[1], "--ask-again") == 0;
    if (ask_again) {
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [--ask-again] URL [N]\n", prog);
        return 2;
    }
    char host[64] = "";
    int port = 0;
    char path[256] = "/";
    if (sscanf(argv[1], "http://%63[0-9.]:%d%255s", host, &port, path) < 2) {
        fprintf(stderr, "fetch_epoll: URL must be http://IPV4:PORT/...\n");
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    char req[512];
    int req_len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: fetch_epoll\r\n\r\n", path,
                           host, port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    struct conn* conns = calloc((size_t)n, sizeof *conns);
    struct epoll_event* evs = calloc(1024, sizeof *evs);
    if (!conns || !evs) return 1;

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now_ms();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long left = n, failed = 0;
    for (long i = 0; i < n; i++) {
        struct conn* c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || (connect(c->fd, (struct sockaddr*)&sa, sizeof sa) != 0 && errno != EINPROGRESS)) {
            if (failed++ == 0) fprintf(stdout, "NOTE fetch_epoll: socket/connect: %s\n", strerror(errno));
            if (c->fd >= 0) close(c->fd);
            c->fd = -1;
            left--;
            continue;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (ask_again && connect(c->fd, (struct sockaddr*)&sa, sizeof sa) == 0) {
            if (write(c->fd, req, (size_t)req_len) != req_len) {
                if (failed++ == 0) fprintf(stdout, "NOTE fetch_epoll: write: %s\n", strerror(errno));
                close(c->fd);
                c->fd = -1;
                left--;
                continue;
            }
            c->sent = 1;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    while (left > 0 && now_ms() - t0 < 60e3) {
        int k = epoll_wait(ep, evs, 1024, 1000);
        for (int e = 0; e < k; e++) {
            struct conn* c = evs[e].data.ptr;
            if (c->fd < 0) continue;
            int done = 0;
            if (!c->sent && (evs[e].events & (EPOLLOUT | EPOLLERR))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || write(c->fd, req, (size_t)req_len) != req_len) done = -1;
                else c->sent = 1;
            }
            if (!done && c->sent && (evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                for (;;) {
                    ssize_t r = read(c->fd, c->buf + c->got, (size_t)(BUF - c->got));
                    if (r > 0) {
                        c->got += (int)r;
                        if ((done = complete(c)) != 0) break;
                        continue;
                    }
                    if (r < 0 && errno == EAGAIN) break;
                    done = -1;  // EOF or error before a whole answer
                    break;
                }
            }
            if (done) {
                if (done < 0 && failed++ == 0)
                    printf("NOTE fetch_epoll: a GET failed (got %d bytes: %.60s)\n", c->got, c->buf);
                close(c->fd);
                c->fd = -1;
                left--;
            }
        }
    }
    close(ep);
    double wall = now_ms() - t0;
    getrusage(RUSAGE_SELF, &r1);
    if (left > 0) {
        printf("NOTE fetch_epoll: %ld GETs unanswered after 60 s\n", left);
        failed += left;
        for (long i = 0; i < n; i++)
            if (conns[i].fd >= 0) close(conns[i].fd);
    }
    double user = tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime), sys = tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime);
    printf("RESULT wall_ms=%.2f\n", wall);
    printf("RESULT cpu_ms=%.2f\n", user + sys);
    printf("RESULT user_ms=%.2f\n", user);
    printf("RESULT sys_ms=%.2f\n", sys);
    printf("RESULT failed=%ld\n", failed);
    free(conns);
    free(evs);
    return failed ? 1 : 0;
}
