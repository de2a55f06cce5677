// SPDX-License-Identifier: MIT
#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "detail/context.hpp"
#include "detail/scheduler.hpp"
#include "detail/stack_pool.hpp"
#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;

namespace {

long map_count() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    long n = 0;
    while (std::getline(maps, line)) ++n;
    return n;
}

volatile bool keep_diving = true;

// Recurses until the stack runs out; `pad` keeps each frame big and real.
int dive(int depth) {
    volatile char pad[512];
    pad[0] = static_cast<char>(depth);
    return keep_diving ? dive(depth + 1) + pad[0] : 0;
}

// stacks_among() is how many fiber stacks the frame addresses lie on. A
// fiber's frames start at most 896 bytes below its stack's top (one of 8
// offsets, scheduler::launch), and two stacks' tops are a whole slot apart
// (guard + size, 80 KiB at least), so sorted addresses more than half a
// default stack apart are on different stacks.
std::size_t stacks_among(std::vector<std::uintptr_t> frames) {
    std::ranges::sort(frames);
    std::size_t stacks = 0;
    for (std::size_t i = 0; i < frames.size(); ++i)
        if (i == 0 || frames[i] - frames[i - 1] > weft::detail::stack_pool::default_stack_size / 2) ++stacks;
    return stacks;
}

// died_of_segv() is true when the child was killed by SIGSEGV, or, under ASan
// (which catches the signal itself), when ASan reported one and failed it.
bool died_of_segv(const weft::test::child_result& r) {
    if (weft::detail::asan_enabled)
        return r.exit_code != 0 && r.output.find("SEGV on unknown address") != std::string::npos;
    return r.signal == SIGSEGV;
}

}  // namespace

TEST_CASE("a returned stack is handed out again", "[stack]") {
    weft::detail::stack_pool pool;
    auto a = pool.take(0);
    REQUIRE(a);
    CHECK(a.size >= weft::detail::stack_pool::default_stack_size);
    auto bottom = a.bottom;
    pool.give(a);
    auto b = pool.take(0);
    CHECK(b.bottom == bottom);
    CHECK(pool.in_use() == 1);
    pool.give(b);
    CHECK(pool.in_use() == 0);
}

TEST_CASE("stack sizes round up to pages and are pooled per size", "[stack]") {
    weft::detail::stack_pool pool;
    auto odd = pool.take(100'000);
    CHECK(odd.size % weft::detail::page_size() == 0);
    CHECK(odd.size >= 100'000);
    auto def = pool.take(0);
    CHECK(def.size != odd.size);
    pool.give(odd);
    pool.give(def);
    CHECK(pool.take(100'000).bottom == odd.bottom);
}

TEST_CASE("guards do not cost a mapping each on this kernel", "[stack]") {
    weft::detail::stack_pool pool;
    std::vector<weft::detail::stack> stacks;
    long before = map_count();
    for (int i = 0; i < 2000; ++i) stacks.push_back(pool.take(0));
    long after = map_count();
    if (pool.mode() == weft::detail::guard_mode::madvise) {
        CHECK(after - before < 100);  // a few per 64 MiB region, not two per stack
    } else {
        WARN("MADV_GUARD_INSTALL unavailable (kernel < 6.13): mprotect guards, two mappings per stack");
        CHECK(pool.mode() == weft::detail::guard_mode::mprotect);
    }
    for (auto s : stacks) pool.give(s);
}

TEST_CASE("mprotect guards stop at vm.max_map_count with a clear error, not a crash", "[stack]") {
    auto r = weft::test::run_child([] {
        weft::detail::stack_pool pool(weft::detail::guard_mode::mprotect);
        for (int i = 0; i < 200'000; ++i) {
            try {
                pool.take(0);
            } catch (const std::system_error& e) {
                bool ok = e.code() == weft::errc::no_stack &&
                          std::string(e.what()).find("vm.max_map_count") != std::string::npos;
                std::printf("stopped after %d stacks: %s\n", i, e.what());
                return ok && i > 1000 ? 0 : 1;
            }
        }
        return 2;  // never hit the limit
    });
    INFO(r.output);
    CHECK(r.exit_code == 0);
}

TEST_CASE("a guard page is there: writing below a stack faults", "[stack]") {
    auto r = weft::test::run_child([] {
        weft::detail::stack_pool pool;
        auto s = pool.take(0);
        s.bottom[0] = 1;                                 // the lowest usable byte is fine
        *static_cast<volatile char*>(s.bottom - 1) = 1;  // the guard is not
        return 0;
    });
    CHECK(died_of_segv(r));
}

TEST_CASE("a stack overflow is reported with the fiber's name and size", "[stack]") {
    auto r = weft::test::run_child([] {
        return weft::run([] {
            auto t = weft::spawn(weft::spawn_options{.name = "deep", .stack_size = 64 * 1024}, [] { return dive(0); });
            return t.join();
        });
    });
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK_THAT(r.output, Catch::Contains("fiber #2 'deep' overflowed its 64 KiB stack"));
}

// big_frame() has a frame far larger than a stack's guard: without stack-clash
// protection its first store would land past the guard, in whatever lies
// there; with it (meson.build), the frame is probed page by page into the guard.
[[gnu::noinline]] int big_frame() {
    volatile char big[512 * 1024];
    big[0] = 1;
    return big[0];
}

TEST_CASE("a frame larger than the guard is still reported as an overflow", "[stack]") {
    auto r = weft::test::run_child([] {
        return weft::run(
            [] { return weft::spawn(weft::spawn_options{.name = "wide", .stack_size = 64 * 1024}, big_frame).join(); });
    });
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK_THAT(r.output, Catch::Contains("fiber #2 'wide' overflowed its 64 KiB stack"));
}

TEST_CASE("run_options sizes run()'s own fiber, and its overflow says so", "[stack]") {
    // 1 MiB for main: a 512 KiB frame fits.
    CHECK(weft::run(weft::run_options{.stack_size = 1024 * 1024}, [] { return big_frame(); }) == 1);
    auto r = weft::test::run_child([] { return weft::run(weft::run_options{.stack_size = 64 * 1024}, big_frame); });
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK_THAT(r.output, Catch::Contains("fiber #1 'main' overflowed its 64 KiB stack; give it more with "
                                         "weft::run_options::stack_size"));
}

TEST_CASE("a segfault that is not an overflow still crashes as a segfault", "[stack]") {
    auto r = weft::test::run_child([] {
        return weft::run([] {
            weft::spawn([] {
                // A page nobody may touch (not a null store, which UBSan would report first).
                void* p = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                *static_cast<volatile int*>(p) = 1;
            }).join();
            return 0;
        });
    });
    INFO(r.output);
    CHECK(died_of_segv(r));
    CHECK_THAT(r.output, !Catch::Contains("overflowed"));
}

// A SIGSEGV handler set after a run() (a crash reporter, a test framework)
// neither silences the next run's overflow report nor loses the faults that
// are not overflows: the next run puts weft's handler back in front of it.
extern "C" void exit_42(int) { ::_exit(42); }

TEST_CASE("a SIGSEGV handler set after a run(): the next run still reports overflows and hands it other faults",
          "[stack]") {
    auto set_own_handler = [] {
        weft::run([] {});
        struct sigaction sa {};
        sa.sa_handler = &exit_42;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGSEGV, &sa, nullptr);
    };
    auto overflow = weft::test::run_child([&] {
        set_own_handler();
        return weft::run([] {
            return weft::spawn(weft::spawn_options{.name = "deep", .stack_size = 64 * 1024}, [] { return dive(0); })
                .join();
        });
    });
    INFO(overflow.output);
    CHECK(overflow.signal == SIGABRT);
    CHECK_THAT(overflow.output, Catch::Contains("fiber #2 'deep' overflowed its 64 KiB stack"));

    auto other = weft::test::run_child([&] {
        set_own_handler();
        return weft::run([] {
            void* p = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            *static_cast<volatile int*>(p) = 1;
            return 0;
        });
    });
    INFO(other.output);
    CHECK(other.exit_code == 42);  // the program's own handler got it
}

TEST_CASE("a fiber can ask for a big stack and use it", "[stack]") {
    weft::test::run_bounded(10s, [] {
        auto t = weft::spawn(weft::spawn_options{.name = "big", .stack_size = 4 << 20}, [] {
            std::vector<char> unused;
            volatile char buf[2 << 20];
            for (std::size_t i = 0; i < sizeof buf; i += 4096) buf[i] = 1;
            return static_cast<int>(buf[4096]);
        });
        CHECK(t.join() == 1);
    });
}

TEST_CASE("a million guarded fibers at once", "[stack][slow]") {
    weft::test::run_bounded(180s, [] {
        constexpr int n = 1'000'000;
        long maps_before = map_count();
        int started = 0;
        std::vector<weft::task<void>> ts;
        ts.reserve(n);
        for (int i = 0; i < n; ++i)
            ts.push_back(weft::spawn([&started] {
                ++started;
                weft::this_fiber::sleep_for(1h);
            }));
        weft::this_fiber::yield();
        while (started < n) weft::this_fiber::sleep_for(10ms);
        CHECK(started == n);
        CHECK(map_count() - maps_before < 65530 / 2);  // far under vm.max_map_count
        for (auto& t : ts) t.cancel();
        int cancelled = 0;
        for (auto& t : ts) {
            try {
                t.join();
            } catch (const weft::cancelled&) {
                ++cancelled;
            }
        }
        CHECK(cancelled == n);
    });
}

TEST_CASE("trim gives cold free stacks back, a batch at a time, and they still work", "[stack]") {
    weft::detail::stack_pool pool;
    std::vector<weft::detail::stack> stacks;
    for (int i = 0; i < 8; ++i) {
        stacks.push_back(pool.take(0));
        stacks.back().bottom[0] = 1;
        stacks.back().top()[-1] = 1;
    }
    for (auto s : stacks) pool.give(s);
    pool.trim(2, 3);  // three of the six cold ones
    pool.trim(2);     // the other three
    pool.trim(2);     // nothing left to do
    int zeroed = 0, kept = 0;
    for (int i = 0; i < 8; ++i) {
        auto s = pool.take(0);
        (s.top()[-1] == 0 ? zeroed : kept) += 1;  // a trimmed stack reads back as fresh zero pages
        s.top()[-1] = 2;                          // and is writable again
    }
    CHECK(zeroed == 6);
    CHECK(kept == 2);
    CHECK(pool.in_use() == 8);
}

TEST_CASE("trim_settled gives back only the stacks that stayed free since the settle before", "[stack]") {
    weft::detail::stack_pool pool;
    std::vector<weft::detail::stack> stacks;
    for (int i = 0; i < 6; ++i) {
        stacks.push_back(pool.take(0));
        stacks.back().top()[-1] = 1;
    }
    for (auto s : stacks) pool.give(s);
    pool.trim_settled(0, 100);  // never settled: none has stayed free a whole period
    pool.settle();              // a period starts with all six free
    pool.trim_settled(0, 100);  // none yet: the period has not ended
    for (auto s : stacks) CHECK(s.top()[-1] == 1);
    pool.give(pool.take(0));  // the most recent one is used again in this period
    pool.settle();            // the other five stayed free all through it
    pool.trim_settled(1, 2);  // two of them
    pool.trim_settled(1, 100);
    pool.trim_settled(1, 100);  // nothing left to do
    int zeroed = 0, kept = 0;
    for (int i = 0; i < 6; ++i) (pool.take(0).top()[-1] == 0 ? zeroed : kept) += 1;
    CHECK(zeroed == 5);
    CHECK(kept == 1);
}

TEST_CASE("a call on the side stack runs off the fiber's stack, and what it throws comes back", "[stack]") {
    using weft::detail::scheduler;
    auto frame = [] { return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)); };
    auto apart = [](std::uintptr_t a, std::uintptr_t b) { return a > b ? a - b : b - a; };
    constexpr std::uintptr_t stack_size = weft::detail::stack_pool::default_stack_size;
    std::uintptr_t sides[2] = {0, 0};
    weft::test::run_bounded(10s, [&] {
        auto call = [&](int i) {
            const std::uintptr_t here = frame();
            std::uintptr_t nested = 0;
            scheduler::on_side_stack([&] {
                sides[i] = frame();
                scheduler::on_side_stack([&] { nested = frame(); });  // already there: runs in place
            });
            CHECK(apart(here, sides[i]) > stack_size);
            CHECK(apart(sides[i], nested) < 4096);
            CHECK_THROWS_WITH(scheduler::on_side_stack([] { throw std::runtime_error("thrown on the side"); }),
                              "thrown on the side");
            int after = 0;
            scheduler::on_side_stack([&] { after = 1; });  // still usable after a throw
            CHECK(after == 1);
            weft::this_fiber::yield();
        };
        auto a = weft::spawn(call, 0);
        auto b = weft::spawn(call, 1);
        a.join();
        b.join();
        CHECK(apart(sides[0], sides[1]) < 4096);  // both fibers' calls ran on the one side stack
    });
    // Outside weft::run there is no side stack: the call runs in place.
    const std::uintptr_t here = frame();
    std::uintptr_t there = 0;
    scheduler::on_side_stack([&] { there = frame(); });
    CHECK(apart(here, there) < 4096);
}

TEST_CASE("a batch of short fibers runs on a few warm stacks, not a stack each", "[stack]") {
    constexpr std::size_t n = 1000;
    std::vector<std::uintptr_t> frames(n, 0);
    // Each fiber records where its frame is (not a local's address: under
    // ASan a local whose address is taken may live on ASan's fake stack).
    auto record = [&frames](std::size_t i) {
        frames[i] = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    };
    weft::test::run_bounded(30s, [&] {
        // A fiber takes its stack at its first switch, the most recently given
        // back one first (stack_pool::take_reserved), and an ended fiber's stack
        // is given back by the side its last switch lands on. So when one of
        // these fibers starts, at most one other of them holds a stack (the one
        // that has just ended), and the whole batch runs on 2 stacks, whatever
        // their size (4x under ASan): a bound the design keeps, not a margin.
        std::vector<weft::task<void>> batch;
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) batch.push_back(weft::spawn(record, i));
        for (auto& t : batch) t.join();
        CHECK(std::ranges::count(frames, std::uintptr_t{0}) == 0);
        CHECK(stacks_among(frames) <= 2);

        // The count tells stacks apart: fibers that are alive at once (each
        // yields once after recording) are on a stack each.
        std::ranges::fill(frames, std::uintptr_t{0});
        batch.clear();
        for (std::size_t i = 0; i < n; ++i)
            batch.push_back(weft::spawn([&record, i] {
                record(i);
                weft::this_fiber::yield();
            }));
        for (auto& t : batch) t.join();
        CHECK(std::ranges::count(frames, std::uintptr_t{0}) == 0);
        CHECK(stacks_among(frames) == n);
    });
}
