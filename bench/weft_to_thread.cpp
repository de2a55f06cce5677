// SPDX-License-Identifier: MIT
// to_thread: what a round trip through the worker pool costs.
//   one:   one fiber calls to_thread(noop) N times: the latency of a hand-off
//          to a worker and back (worker and loop each watch for the other a
//          few microseconds before sleeping, so back-to-back calls need no
//          futex or eventfd wake-up);
//   many:  C fibers call it at once, N calls in all: the throughput, with
//          the loop busy and the workers' results batched (no eventfd write
//          while the loop has fibers to run).
// usage: weft_to_thread [N] [C]   (default 20,000 calls, 64 fibers)
// Prints RESULT weft_to_thread_one_ns=..., weft_to_thread_many_ns=...
#include <cstdio>
#include <vector>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/to_thread.hpp>

#include "common.hpp"

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 20000);
    const long c = bench::arg_long(argc, argv, 2, 64);
    weft::run([&] {
        for (int i = 0; i < 100; ++i) weft::to_thread([] {});  // start a worker, warm the caches

        double t0 = bench::now_ns();
        for (long i = 0; i < n; ++i) weft::to_thread([] {});
        double one = (bench::now_ns() - t0) / static_cast<double>(n);

        std::vector<weft::task<void>> ts;
        t0 = bench::now_ns();
        for (long f = 0; f < c; ++f)
            ts.push_back(weft::spawn([&, f] {
                for (long i = f; i < n; i += c) weft::to_thread([] {});
            }));
        for (auto& t : ts) t.join();
        double many = (bench::now_ns() - t0) / static_cast<double>(n);

        std::printf("RESULT weft_to_thread_one_ns=%.0f\n", one);
        std::printf("RESULT weft_to_thread_many_ns=%.0f\n", many);
        std::printf("INFO %ld calls; %ld fibers at once; pool of %zu threads\n", n, c,
                    weft::default_thread_pool_size());
    });
}
