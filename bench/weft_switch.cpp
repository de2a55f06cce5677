// SPDX-License-Identifier: MIT
// switch: ns per yield between two weft fibers. Two fibers each call
// this_fiber::yield() N times; every yield hands the thread to the other one,
// so the time over 2N yields is the cost of one switch, scheduler included
// (the loop also gets a turn every scheduler::poll_budget switches).
// With FIBERS (default 2), that many fibers take turns, 2N yields in all: each
// switch then goes to a fiber whose stack and control block have gone cold
// (1,000 fibers: what a server with many connections pays per switch).
// usage: weft_switch [N] [FIBERS]   (yields per fiber; default 5,000,000)
#include <vector>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/this_fiber.hpp>

#include "common.hpp"

namespace {

// yield_among() is the time for `fibers` fibers to yield 2n times in all.
double yield_among(long n, long fibers) {
    const long each = 2 * n / fibers;
    auto body = [each] {
        for (long i = 0; i < each; ++i) weft::this_fiber::yield();
    };
    double t0 = bench::now_ns();
    std::vector<weft::task<void>> ts;
    for (long i = 0; i < fibers; ++i) ts.push_back(weft::spawn(body));
    for (auto& t : ts) t.join();
    return bench::now_ns() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 5'000'000);
    const long fibers = bench::arg_long(argc, argv, 2, 2);
    return weft::run([n, fibers] {
        yield_among(n, fibers);  // warm-up: stacks pooled, caches and branch predictors primed
        double ns = yield_among(n, fibers);
        const double yields = static_cast<double>(2 * n / fibers * fibers);
        if (fibers == 2)
            std::printf("RESULT weft_yield_ns=%.3f\n", ns / yields);
        else
            std::printf("RESULT weft_yield_%ld_ns=%.3f\n", fibers, ns / yields);
        return 0;
    });
}
