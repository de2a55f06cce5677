// SPDX-License-Identifier: MIT
// Peer for switch: raw Boost.Context, the floor under every fiber library here
// (weft's switch is an fcontext jump too). main and one boost::context::fiber
// resume() each other; each round trip is two switches.
// Also the bare fcontext jump, which is what weft calls.
// usage: boost_context_switch [N]   (round trips; default 20,000,000)
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <cstdlib>

#include "../common.hpp"

namespace ctx = boost::context;

namespace {

void fcontext_entry(ctx::detail::transfer_t t) {
    for (;;) t = ctx::detail::jump_fcontext(t.fctx, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 20'000'000);
    {
        bool stop = false;
        ctx::fiber f{[&stop](ctx::fiber&& c) {
            while (!stop) c = std::move(c).resume();
            return std::move(c);
        }};
        for (int i = 0; i < 100'000; ++i) f = std::move(f).resume();  // warm-up
        double t0 = bench::now_ns();
        for (long i = 0; i < n; ++i) f = std::move(f).resume();
        double t1 = bench::now_ns();
        stop = true;
        f = std::move(f).resume();  // let it return
        std::printf("RESULT ctx_fiber_switch_ns=%.3f\n", (t1 - t0) / (2.0 * static_cast<double>(n)));
    }
    {
        const std::size_t size = 64 * 1024;
        char* stack = static_cast<char*>(std::malloc(size));
        auto fc = ctx::detail::make_fcontext(stack + size, size, fcontext_entry);
        auto t = ctx::detail::jump_fcontext(fc, nullptr);
        for (int i = 0; i < 100'000; ++i) t = ctx::detail::jump_fcontext(t.fctx, nullptr);
        double t0 = bench::now_ns();
        for (long i = 0; i < n; ++i) t = ctx::detail::jump_fcontext(t.fctx, nullptr);
        double t1 = bench::now_ns();
        std::printf("RESULT fcontext_jump_ns=%.3f\n", (t1 - t0) / (2.0 * static_cast<double>(n)));
        // the context never finishes, so its stack is left to the process exit
    }
    return 0;
}
