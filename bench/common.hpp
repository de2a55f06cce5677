// SPDX-License-Identifier: MIT
// What every benchmark program shares: a clock, argument parsing, and the
// memory probes. Programs print `RESULT key=value` lines, which run.sh collects
// over rounds and turns into medians, and `INFO ...` lines for people.
#pragma once

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

inline double now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// arg_long(argc, argv, i, def) is argv[i] as a number, or def when absent.
inline long arg_long(int argc, char** argv, int i, long def) { return argc > i ? std::atol(argv[i]) : def; }

inline const char* arg_str(int argc, char** argv, int i, const char* def) { return argc > i ? argv[i] : def; }

// statm() reads field `i` of /proc/self/statm (0: size, 1: resident) in bytes.
inline long statm(int i) {
    long f[2] = {0, 0};
    if (FILE* fp = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(fp, "%ld %ld", &f[0], &f[1]) != 2) f[0] = f[1] = 0;
        std::fclose(fp);
    }
    return f[i] * sysconf(_SC_PAGESIZE);
}
inline long rss_bytes() { return statm(1); }
inline long vsz_bytes() { return statm(0); }

// map_count() is the number of mappings (lines of /proc/self/maps): what
// vm.max_map_count limits.
inline long map_count() {
    FILE* fp = std::fopen("/proc/self/maps", "r");
    if (!fp) return -1;
    long n = 0;
    for (int c; (c = std::fgetc(fp)) != EOF;)
        if (c == '\n') ++n;
    std::fclose(fp);
    return n;
}

inline long max_map_count() {
    long v = -1;
    if (FILE* fp = std::fopen("/proc/sys/vm/max_map_count", "r")) {
        if (std::fscanf(fp, "%ld", &v) != 1) v = -1;
        std::fclose(fp);
    }
    return v;
}

// sink keeps a fiber body from being optimised away; volatile so that each
// fiber really writes it, as the Go peer's goroutines do.
inline volatile long sink = 0;

}  // namespace bench
