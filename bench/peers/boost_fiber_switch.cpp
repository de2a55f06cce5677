// SPDX-License-Identifier: MIT
// Peer for switch: Boost.Fiber (round_robin scheduler). Two fibers call
// boost::this_fiber::yield() N times each; each yield is one switch.
// usage: boost_fiber_switch [N]   (yields per fiber; default 5,000,000)
#include <boost/fiber/all.hpp>

#include "../common.hpp"

namespace {

double yield_pair(long n) {
    auto body = [n] {
        for (long i = 0; i < n; ++i) boost::this_fiber::yield();
    };
    double t0 = bench::now_ns();
    boost::fibers::fiber a(body), b(body);
    a.join();
    b.join();
    return bench::now_ns() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 5'000'000);
    yield_pair(n);  // warm-up
    double ns = yield_pair(n);
    std::printf("RESULT bfiber_yield_ns=%.3f\n", ns / (2.0 * static_cast<double>(n)));
    return 0;
}
