// SPDX-License-Identifier: MIT
// spawn: the cost of a fiber's whole life, spawn to join.
//   batch:  spawn N fibers into a vector, then join them all (first in the
//           process, so stacks are fresh: page faults included, as in the peers)
//   seq:    spawn one, join it, N times (stacks come back from the pool)
//   batch_warm: batch again, now on pooled stacks
// Each fiber writes a volatile, like the peers' bodies.
// usage: weft_spawn [N]   (default 100,000)
#include <vector>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "common.hpp"

namespace {

void body() { bench::sink = bench::sink + 1; }

double batch(long n) {
    std::vector<weft::task<void>> v;
    v.reserve(static_cast<std::size_t>(n));
    double t0 = bench::now_ns();
    for (long i = 0; i < n; ++i) v.push_back(weft::spawn(body));
    for (auto& t : v) t.join();
    return (bench::now_ns() - t0) / static_cast<double>(n);
}

double seq(long n) {
    double t0 = bench::now_ns();
    for (long i = 0; i < n; ++i) weft::spawn(body).join();
    return (bench::now_ns() - t0) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 100'000);
    return weft::run([n] {
        std::printf("RESULT weft_spawn_batch_ns=%.1f\n", batch(n));
        std::printf("RESULT weft_spawn_seq_ns=%.1f\n", seq(n));
        std::printf("RESULT weft_spawn_batch_warm_ns=%.1f\n", batch(n));
        return 0;
    });
}
