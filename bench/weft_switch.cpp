// SPDX-License-Identifier: MIT
// switch: ns per yield between two weft fibers. Two fibers each call
// this_fiber::yield() N times; every yield hands the thread to the other one,
// so the time over 2N yields is the cost of one switch, scheduler included
// (the loop also gets a turn every scheduler::poll_budget switches).
// usage: weft_switch [N]   (yields per fiber; default 5,000,000)
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/this_fiber.hpp>

#include "common.hpp"

namespace {

double yield_pair(long n) {
    auto body = [n] {
        for (long i = 0; i < n; ++i) weft::this_fiber::yield();
    };
    double t0 = bench::now_ns();
    auto a = weft::spawn(body);
    auto b = weft::spawn(body);
    a.join();
    b.join();
    return bench::now_ns() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 5'000'000);
    return weft::run([n] {
        yield_pair(n);  // warm-up: stacks pooled, caches and branch predictors primed
        double ns = yield_pair(n);
        std::printf("RESULT weft_yield_ns=%.3f\n", ns / (2.0 * static_cast<double>(n)));
        return 0;
    });
}
