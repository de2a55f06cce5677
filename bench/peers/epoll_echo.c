/* SPDX-License-Identifier: MIT
 * epoll_echo: the floor of bench/'s echo benchmark. A hand-written echo server:
 * one thread, non-blocking sockets registered once with epoll, edge-triggered,
 * for both directions; 127.0.0.1 only; exits by itself after MAX_SECONDS.
 *
 * usage: epoll_echo PORT [MAX_SECONDS=60 [short|strict]]
 *   PORT 0 picks a free port; the server prints "PORT n" once it listens.
 *   short (default): a read that returns less than the buffer drained the
 *     socket (a stream socket gives all it holds, and data that comes later
 *     raises a new edge), so a 512-byte message costs one read and one write:
 *     the syscall floor for a readiness-based server.
 *   strict: read until EAGAIN, as the epoll manual's example does (one more
 *     read per wake-up).
 * Bytes a write could not take wait in a per-connection buffer and go out on
 * the next EPOLLOUT edge; meanwhile that connection is not read, so memory per
 * connection stays bounded by one buffer. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { buf_bytes = 16384 };

typedef struct {
    int fd;
    char* pending;     /* unsent bytes, or NULL; buf_bytes long when allocated */
    size_t pend_off, pend_len;
} conn;

static int short_is_drained = 1;
static char in_buf[buf_bytes];

static void drop(int ep, conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

/* send_all(c, p, n): 1 when all went out, 0 when the rest was parked in
 * c->pending (the socket is full), -1 on error. */
static int send_all(conn* c, const char* p, size_t n) {
    while (n) {
        ssize_t w = write(c->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            if (!c->pending && !(c->pending = malloc(buf_bytes))) return -1;
            memmove(c->pending, p, n);
            c->pend_off = 0;
            c->pend_len = n;
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
        int s = send_all(c, c->pending + off, len - off);
        if (s <= 0) return s;
    }
    for (;;) {
        ssize_t r = read(c->fd, in_buf, sizeof in_buf);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
        int s = send_all(c, in_buf, (size_t)r);
        if (s <= 0) return s;
        if (short_is_drained && r < (ssize_t)sizeof in_buf) return 0;
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [MAX_SECONDS [short|strict]]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int max_s = argc > 2 ? atoi(argv[2]) : 60;
    if (argc > 3) short_is_drained = strcmp(argv[3], "strict") != 0;

    signal(SIGPIPE, SIG_IGN);  /* a peer that went away is an EPIPE, not a death */
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr*)&a, sizeof a) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr*)&a, &alen) != 0) {
        perror("epoll_echo: bind/listen");
        return 1;
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);

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
