// SPDX-License-Identifier: MIT
// The DNS server of bench/dns: tests/support/dns_server (one thread, poll(),
// UDP and TCP on 127.0.0.1) answering every name under "bench." with one A
// record, 192.0.2.1. Every client of the benchmark asks this same server.
// usage: dns_bench_server PORT [MAX_SECONDS=60]
//   PORT 0 picks a free port (53 needs root or a network namespace of one's
//   own); it prints "PORT n" once it listens, and exits after MAX_SECONDS or
//   on SIGTERM/SIGINT, printing how many queries it answered and its CPU time.
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <exception>

#include "common.hpp"
#include "support/dns_server.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PORT [MAX_SECONDS]\n", argv[0]);
        return 2;
    }
    const long port = bench::arg_long(argc, argv, 1, 0);
    const long max_seconds = bench::arg_long(argc, argv, 2, 60);
    if (port < 0 || port > 65535 || max_seconds < 1) {
        std::fprintf(stderr, "%s: bad PORT or MAX_SECONDS\n", argv[0]);
        return 2;
    }
    // Block the stop signals before the server's thread starts, so that it
    // inherits the mask and only sigtimedwait() below sees them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    try {
        weft::test::dns_server server(static_cast<std::uint16_t>(port));
        server.set_suffix("bench", {.v4 = {"192.0.2.1"}});
        std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
        std::fflush(stdout);
        const timespec limit{max_seconds, 0};
        if (sigtimedwait(&stop, nullptr, &limit) < 0) std::printf("INFO stopped after %ld s\n", max_seconds);
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        const double cpu_ms = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        std::printf("INFO queries %zu (tcp %zu) cpu_ms %.1f\n", server.queries(), server.tcp_queries(), cpu_ms);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
