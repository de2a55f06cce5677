/* SPDX-License-Identifier: MIT
 * epoll_echo: the floor of bench/'s echo benchmark. A hand-written echo server:
 * one thread, non-blocking sockets registered once with epoll, edge-triggered,
 * for both directions; 127.0.0.1 only; exits by itself after MAX_SECONDS.
 *
 * usage: epoll_echo PORT [MAX_SECONDS=60 [short|strict] [own|shared] [procs=N]]
 *   PORT 0 picks a free port; the server prints "PORT n" once it listens.
 *   procs=N (default 1): N processes, as nginx's workers, each this server
 *     with a listener of its own on the one port (SO_REUSEPORT: the kernel
 *     spreads the connections among them). This process binds all N, then
 *     forks N - 1 children that each keep one; it serves the first itself.
 *     A child ends with its parent (PR_SET_PDEATHSIG) or after MAX_SECONDS.
 *   short (default): a read that returns less than the buffer drained the
 *     socket (a stream socket gives all it holds, and data that comes later
 *     raises a new edge), so a 512-byte message costs one read and one write:
 *     the syscall floor for a readiness-based server.
 *   strict: read until EAGAIN, as the epoll manual's example does (one more
 *     read per wake-up).
 *   own (default): every connection reads into its own 16 KiB buffer, as
 *     weft's fiber and Go's goroutine do (a fiber or goroutine that waits to
 *     write still owns its bytes): the same memory footprint for the same work.
 *   shared: every connection reads into one static 16 KiB buffer, which only
 *     an event loop can do; it stays hot in the L1 cache (bench/README.md, echo).
 * Bytes a write could not take wait in the connection's buffer and go out on
 * the next EPOLLOUT edge; meanwhile that connection is not read, so memory per
 * connection stays bounded by one buffer. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { buf_bytes = 16384 };

typedef struct {
    int fd;
    char* buf;         /* buf_bytes: what is read (own), and unsent bytes; NULL until needed (shared) */
    size_t pend_off, pend_len;  /* buf[pend_off, pend_len) is waiting for EPOLLOUT */
} conn;

static int short_is_drained = 1;
static int shared_buf = 0;
static char in_buf[buf_bytes];  /* shared: every connection reads here */

static void drop(int ep, conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->buf);
    free(c);
}

/* send_all(c, p, n): 1 when all went out, 0 when the rest was parked in
 * c->buf (the socket is full), -1 on error. */
static int send_all(conn* c, const char* p, size_t n) {
    while (n) {
        ssize_t w = write(c->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            if (!c->buf && !(c->buf = malloc(buf_bytes))) return -1;
            uintptr_t at = (uintptr_t)p, own = (uintptr_t)c->buf;
            if (at >= own && at < own + buf_bytes) {
                c->pend_off = at - own;  /* own, or a second flush: already in place */
            } else {
                memcpy(c->buf, p, n);    /* shared: off the shared buffer */
                c->pend_off = 0;
            }
            c->pend_len = c->pend_off + n;
            return 0;
        } else {
            return -1;
        }
    }
    return 1;
}

/* serve(c): flush what is pending, then echo until the socket is drained or
 * full. -1: close the connection. */
static int serve(conn* c) {
    if (c->pend_len) {
        size_t off = c->pend_off, len = c->pend_len;
        c->pend_len = 0;
        int s = send_all(c, c->buf + off, len - off);
        if (s <= 0) return s;
    }
    char* rbuf = shared_buf ? in_buf : c->buf;
    for (;;) {
        ssize_t r = read(c->fd, rbuf, buf_bytes);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
        int s = send_all(c, rbuf, (size_t)r);
        if (s <= 0) return s;
        if (short_is_drained && r < (ssize_t)buf_bytes) return 0;
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [MAX_SECONDS [short|strict] [own|shared]]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int max_s = argc > 2 ? atoi(argv[2]) : 60;
    int procs = 1;
    for (int i = 3; i < argc; ++i) {
        if (strncmp(argv[i], "procs=", 6) == 0) {
            procs = atoi(argv[i] + 6);
            if (procs < 1 || procs > 1024) {
                fprintf(stderr, "epoll_echo: procs=%s: 1 to 1024\n", argv[i] + 6);
                return 2;
            }
        } else if (strcmp(argv[i], "strict") == 0) short_is_drained = 0;
        else if (strcmp(argv[i], "shared") == 0) shared_buf = 1;
        else if (strcmp(argv[i], "short") != 0 && strcmp(argv[i], "own") != 0) {
            fprintf(stderr, "epoll_echo: unknown mode %s (short, strict, own, shared, procs=N)\n", argv[i]);
            return 2;
        }
    }

    signal(SIGPIPE, SIG_IGN);  /* a peer that went away is an EPIPE, not a death */
    int one = 1;
    /* Every listener is bound before any child exists, so that the port
     * printed takes connections on all of them by the time it is read. */
    int* lfds = calloc((size_t)procs, sizeof *lfds);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int k = 0; k < procs; ++k) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (procs > 1) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        socklen_t alen = sizeof a;
        if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 4096) != 0 ||
            getsockname(fd, (struct sockaddr*)&a, &alen) != 0) {
            perror("epoll_echo: bind/listen");
            return 1;
        }
        lfds[k] = fd;  /* a picked port is in a now: the others bind it */
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    int lfd = lfds[0];
    pid_t parent = getpid();
    for (int k = 1; k < procs; ++k) {
        pid_t child = fork();
        if (child < 0) {
            perror("epoll_echo: fork");
            return 1;
        }
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) return 0;  /* the parent ended before the line above */
            lfd = lfds[k];
            break;
        }
    }
    for (int k = 0; k < procs; ++k)
        if (lfds[k] != lfd) close(lfds[k]);
    free(lfds);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    time_t end = ts.tv_sec + max_s;
    struct epoll_event evs[256];
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (ts.tv_sec >= end) break;
        int n = epoll_wait(ep, evs, 256, 500);
        for (int i = 0; i < n; ++i) {
            conn* c = evs[i].data.ptr;
            if (c) {
                if (serve(c) < 0) drop(ep, c);
                continue;
            }
            for (;;) {  /* the listener: accept until EAGAIN (edge-triggered) */
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EINTR || errno == ECONNABORTED) continue;
                    break;  /* EAGAIN, or out of fds: the next edge retries */
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conn* nc = calloc(1, sizeof *nc);
                nc->fd = fd;
                if (!shared_buf && !(nc->buf = malloc(buf_bytes))) {
                    close(fd);
                    free(nc);
                    continue;
                }
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = nc};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                /* Data sent before the accept raised no edge for this epoll:
                 * the registration reports the current state, so the first
                 * event comes by itself; no need to read here. */
            }
        }
    }
    return 0;
}
