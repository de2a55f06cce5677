// SPDX-License-Identifier: MIT
// Peer for idle: memory per idle Boost.Fiber fiber. N fibers block on a
// boost::fibers::condition_variable; RSS growth / N once all have blocked.
// Kinds: default (fixedsize_stack, 128 KiB malloc'd each), pooled
// (pooled_fixedsize_stack), protected (protected_fixedsize_stack: mmap + a
// PROT_NONE guard page each, two mappings per fiber).
// protected needs two mappings per fiber, so it is capped below
// vm.max_map_count (about 32k fibers on a stock kernel). A kind that runs out
// of memory stops early; the per-fiber figures are then over the fibers it did
// create, reported as `created`.
// usage: boost_fiber_idle [N] [default|pooled|protected]
#include <boost/fiber/all.hpp>
#include <csignal>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "../common.hpp"

namespace bf = boost::fibers;

namespace {

volatile long g_created = 0;

// A Boost allocator that asserts on a failed mmap/mprotect aborts; say how far it got.
void on_abort(int) {
    char b[96];
    int len = std::snprintf(b, sizeof b, "NOTE aborted (stack allocator assertion) after %ld fibers\n", g_created);
    if (::write(1, b, static_cast<std::size_t>(len)) < 0) {
    }
    _exit(3);
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::arg_long(argc, argv, 1, 1'000'000);
    const std::string kind = bench::arg_str(argc, argv, 2, "default");
    if (kind == "protected") {
        // Past the cap its mprotect fails and Boost asserts; stop short instead.
        const long cap = (bench::max_map_count() - bench::map_count() - 1000) / 2;
        if (n > cap) {
            std::printf(
                "NOTE protected: two mappings per fiber; capped at %ld fibers by "
                "vm.max_map_count=%ld\n",
                cap, bench::max_map_count());
            n = cap;
        }
    }
    bf::mutex m;
    bf::condition_variable cv;
    bool go = false;
    long blocked = 0;
    auto body = [&] {
        std::unique_lock<bf::mutex> lk(m);
        ++blocked;
        cv.wait(lk, [&] { return go; });
    };
    std::vector<bf::fiber> v;
    v.reserve(static_cast<std::size_t>(n));
    bf::pooled_fixedsize_stack pooled;
    bf::protected_fixedsize_stack prot;
    std::signal(SIGABRT, on_abort);

    const long rss0 = bench::rss_bytes(), vsz0 = bench::vsz_bytes(), maps0 = bench::map_count();
    double t0 = bench::now_ns();
    try {
        for (long i = 0; i < n; ++i) {
            if (kind == "pooled")
                v.emplace_back(std::allocator_arg, pooled, body);
            else if (kind == "protected")
                v.emplace_back(std::allocator_arg, prot, body);
            else
                v.emplace_back(body);
            g_created = static_cast<long>(v.size());
        }
    } catch (const std::exception& e) {
        std::printf("NOTE allocation failed after %zu fibers: %s\n", v.size(), e.what());
    }
    const long created = static_cast<long>(v.size());
    boost::this_fiber::yield();  // main goes behind all of them: each runs and blocks
    double t1 = bench::now_ns();
    const long rss1 = bench::rss_bytes(), vsz1 = bench::vsz_bytes(), maps1 = bench::map_count();

    const double per = 1.0 / static_cast<double>(created ? created : 1);
    std::printf(
        "INFO bfiber_%s created=%ld blocked=%ld maps_before=%ld maps_after=%ld max_map_count=%ld "
        "spawn+block=%.0f ns/fiber\n",
        kind.c_str(), created, blocked, maps0, maps1, bench::max_map_count(), (t1 - t0) * per);
    std::printf("RESULT bfiber_%s_idle_rss_bytes=%.0f\n", kind.c_str(), static_cast<double>(rss1 - rss0) * per);
    std::printf("RESULT bfiber_%s_idle_vsz_bytes=%.0f\n", kind.c_str(), static_cast<double>(vsz1 - vsz0) * per);
    std::printf("RESULT bfiber_%s_idle_maps=%ld\n", kind.c_str(), maps1 - maps0);
    std::printf("RESULT bfiber_%s_idle_created=%ld\n", kind.c_str(), created);
    std::fflush(stdout);
    {
        std::lock_guard<bf::mutex> lk(m);
        go = true;
    }
    cv.notify_all();
    for (auto& f : v) f.join();
    return 0;
}
