// SPDX-License-Identifier: MIT
// timer: how late a sleeper wakes. N fibers each sleep until their own
// deadline (spread over 200 ms) and record now - deadline on waking; the peer
// is a plain thread sleeping with std::this_thread::sleep_until (clock_nanosleep,
// the kernel's floor) for a sample of the same deadlines. Prints medians and p99.
// usage: weft_timer [N]   (default 10,000 sleepers)
// DUMP=file also writes each sleeper's deadline (µs after the first one) and
// how late it woke, one "deadline lateness" line each: a late cluster is one
// stall of the loop (a slow turn, or the process preempted).
#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>
#include <weft/run.hpp>
#include <weft/this_fiber.hpp>

#include "common.hpp"

namespace {

using namespace std::chrono;

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::vector<double> weft_lateness(long n) {
    std::vector<double> late(static_cast<std::size_t>(n));
    weft::run([&] {
        // Deadlines begin once every fiber has been spawned and parked (a fresh
        // stack costs a few microseconds), so only the wake-up is measured.
        auto start = weft::clock::now() + 100ms + microseconds(20 * n);
        std::vector<weft::task<void>> ts;
        for (long i = 0; i < n; ++i) {
            auto at = start + microseconds((i * 7919) % 200'000);
            ts.push_back(weft::spawn([&late, i, at] {
                weft::this_fiber::sleep_until(at);
                late[static_cast<std::size_t>(i)] = duration<double, std::micro>(weft::clock::now() - at).count();
            }));
        }
        for (auto& t : ts) t.join();
    });
    return late;
}

std::vector<double> thread_lateness(long n) {
    std::vector<double> late;
    auto at = steady_clock::now();
    for (long i = 0; i < n; ++i) {
        at += microseconds(200 + (i * 7919) % 800);
        std::this_thread::sleep_until(at);
        late.push_back(duration<double, std::micro>(steady_clock::now() - at).count());
    }
    return late;
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 10'000);
    auto w = weft_lateness(n);
    const char* dump = std::getenv("DUMP");
    if (FILE* f = dump ? std::fopen(dump, "w") : nullptr) {
        for (long i = 0; i < n; ++i)
            std::fprintf(f, "%ld %.1f\n", (i * 7919) % 200'000, w[static_cast<std::size_t>(i)]);
        std::fclose(f);
    }
    auto t = thread_lateness(std::min(n, 500L));
    std::printf("RESULT weft_late_median_us=%.1f\n", percentile(w, 0.5));
    std::printf("RESULT weft_late_p99_us=%.1f\n", percentile(w, 0.99));
    std::printf("RESULT thread_late_median_us=%.1f\n", percentile(t, 0.5));
    std::printf("RESULT thread_late_p99_us=%.1f\n", percentile(t, 0.99));
    return 0;
}
