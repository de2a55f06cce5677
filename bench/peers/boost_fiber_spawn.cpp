// SPDX-License-Identifier: MIT
// Peer for spawn: Boost.Fiber, same three phases as weft_spawn (batch cold,
// seq, batch warm), with its default stack allocator (fixedsize_stack: 128 KiB
// malloc'd per fiber) or pooled_fixedsize_stack (reused after join).
// usage: boost_fiber_spawn [N] [default|pooled]   (default 100,000 default)
#include <boost/fiber/all.hpp>
#include <string>
#include <vector>

#include "../common.hpp"

namespace bf = boost::fibers;

namespace {

void body() { bench::sink = bench::sink + 1; }

template <class Make>
void phases(const char* kind, long n, Make make) {
    auto batch = [&] {
        std::vector<bf::fiber> v;
        v.reserve(static_cast<std::size_t>(n));
        double t0 = bench::now_ns();
        for (long i = 0; i < n; ++i) v.push_back(make());
        for (auto& f : v) f.join();
        return (bench::now_ns() - t0) / static_cast<double>(n);
    };
    std::printf("RESULT bfiber_%s_spawn_batch_ns=%.1f\n", kind, batch());
    double t0 = bench::now_ns();
    for (long i = 0; i < n; ++i) make().join();
    std::printf("RESULT bfiber_%s_spawn_seq_ns=%.1f\n", kind, (bench::now_ns() - t0) / static_cast<double>(n));
    std::printf("RESULT bfiber_%s_spawn_batch_warm_ns=%.1f\n", kind, batch());
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 100'000);
    const std::string kind = bench::arg_str(argc, argv, 2, "default");
    if (kind == "pooled") {
        bf::pooled_fixedsize_stack salloc;  // 128 KiB stacks from a boost::pool
        phases("pooled", n, [&] { return bf::fiber(std::allocator_arg, salloc, body); });
    } else {
        phases("default", n, [] { return bf::fiber(body); });
    }
    return 0;
}
