// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <weft/to_thread.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

namespace {

// busy_count tracks how many jobs run at once.
struct busy_count {
    std::atomic<int> now{0};
    std::atomic<int> most{0};
    void enter() {
        int n = ++now;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {
        }
    }
    void leave() { --now; }
};

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("to_thread returns fn's result, computed on another thread", "[to_thread][threads]") {
    weft::test::run_bounded(30s, [] {
        const auto loop_thread = std::this_thread::get_id();
        CHECK(weft::to_thread([](int a, int b) { return a + b; }, 40, 2) == 42);
        CHECK(weft::to_thread([] { return std::this_thread::get_id(); }) != loop_thread);
        auto p = weft::to_thread([](std::string s) { return std::make_unique<std::string>(s + "!"); }, "moved");
        CHECK(*p == "moved!");
        int touched = 0;
        weft::to_thread([](int& t) { t = 7; }, std::ref(touched));  // void, and std::ref shares
        CHECK(touched == 7);
    });
}

TEST_CASE("to_thread rethrows fn's exception with its type", "[to_thread][threads]") {
    weft::test::run_bounded(30s, [] {
        CHECK_THROWS_AS(weft::to_thread([]() -> int { throw std::out_of_range("far"); }), std::out_of_range);
        CHECK_THROWS_WITH(weft::to_thread([] { throw std::runtime_error("from the pool"); }), "from the pool");
        CHECK(weft::to_thread([] { return 1; }) == 1);  // the pool carries on
    });
}

TEST_CASE("to_thread from 1,000 fibers at once: the ticker keeps its 1 ms beat", "[to_thread][threads]") {
    busy_count busy;
    weft::test::run_bounded(60s, [&] {
        constexpr int fibers = 1000;
        int done = 0;
        long long sum = 0;
        std::vector<weft::task<void>> tasks;
        tasks.reserve(fibers);
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < fibers; ++i) {
            tasks.push_back(weft::spawn([&, i] {
                sum += weft::to_thread([&busy, i] {
                    busy.enter();
                    std::this_thread::sleep_for(2ms);  // a blocking call: a file read, a C library
                    busy.leave();
                    return i;
                });
                ++done;
            }));
        }
        double worst_gap = 0;
        int ticks = 0;
        auto ticker = weft::spawn([&] {
            auto last = std::chrono::steady_clock::now();
            while (done < fibers) {
                weft::this_fiber::sleep_for(1ms);
                worst_gap = std::max(worst_gap, ms_since(last));
                last = std::chrono::steady_clock::now();
                ++ticks;
            }
        });
        for (auto& t : tasks) t.join();
        ticker.join();
        double total = ms_since(start);
        INFO("1,000 jobs of 2 ms on " << weft::default_thread_pool_size() << " threads: " << total << " ms; " << ticks
                                      << " ticks, worst gap " << worst_gap << " ms, at most " << busy.most.load()
                                      << " jobs at once");
        CHECK(sum == static_cast<long long>(fibers) * (fibers - 1) / 2);
        // Run one after another on the loop's thread the jobs would take 2 s and
        // the ticker would not tick at all; a 1 ms beat allows for a loaded box.
        CHECK(worst_gap < 50);
        CHECK(ticks > 20);
        CHECK(busy.most.load() <= static_cast<int>(weft::default_thread_pool_size()));
        CHECK(busy.most.load() >= 2);  // they ran side by side (one after another: 2 s)
    });
}

TEST_CASE("run_options::thread_pool_size bounds the pool; the default is min(32, cores + 4)", "[to_thread][threads]") {
    std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    CHECK(weft::default_thread_pool_size() >= 5);
    CHECK(weft::default_thread_pool_size() <= std::min<std::size_t>(32, cores + 4));

    busy_count busy;
    weft::test::run_bounded(30s, weft::run_options{.thread_pool_size = 2}, [&] {
        std::vector<weft::task<void>> tasks;
        for (int i = 0; i < 8; ++i)
            tasks.push_back(weft::spawn([&] {
                weft::to_thread([&] {
                    busy.enter();
                    std::this_thread::sleep_for(20ms);
                    busy.leave();
                });
            }));
        for (auto& t : tasks) t.join();
    });
    CHECK(busy.most.load() == 2);
}

TEST_CASE("to_thread's own timeout wakes the fiber at once; the job finishes, its result dropped",
          "[to_thread][threads]") {
    std::atomic<bool> finished{false};
    std::thread::id dropped_on;
    struct witness {
        std::thread::id* where;
        ~witness() { *where = std::this_thread::get_id(); }
    };
    weft::test::run_bounded(30s, [&] {
        auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_AS(weft::to_thread(20ms,
                                        [&] {
                                            std::this_thread::sleep_for(300ms);
                                            finished = true;
                                            return std::make_unique<witness>(witness{&dropped_on});
                                        }),
                        weft::timeout_error);
        double waited = ms_since(start);
        INFO("woke after " << waited << " ms");
        CHECK(waited >= 19);
        CHECK(waited < 200);
        CHECK_FALSE(finished.load());
    });
    // run() waited for the job before it returned; the result died on the
    // loop's thread, not the worker's.
    CHECK(finished.load());
    CHECK(dropped_on == std::this_thread::get_id());
}

TEST_CASE("an enclosing with_timeout wakes a fiber in to_thread", "[to_thread][threads]") {
    weft::test::run_bounded(30s, [] {
        auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_AS(weft::with_timeout(20ms, [] { weft::to_thread([] { std::this_thread::sleep_for(300ms); }); }),
                        weft::timeout_error);
        CHECK(ms_since(start) < 200);
        // Already past: the job is not even queued.
        bool ran = false;
        CHECK_THROWS_AS(weft::with_timeout(0ms, [&] { weft::to_thread([&] { ran = true; }); }), weft::timeout_error);
        CHECK_THROWS_AS(weft::to_thread(0ms, [&] { ran = true; }), weft::timeout_error);
        CHECK_FALSE(ran);
    });
}

TEST_CASE("cancel() wakes a fiber in to_thread at once", "[to_thread][threads]") {
    weft::test::run_bounded(30s, [] {
        std::atomic<bool> started{false};
        auto t = weft::spawn([&] {
            weft::to_thread([&] {
                started = true;
                std::this_thread::sleep_for(300ms);
            });
        });
        while (!started) weft::this_fiber::sleep_for(1ms);
        auto start = std::chrono::steady_clock::now();
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(ms_since(start) < 100);
        CHECK(t.state() == weft::task_state::cancelled);
    });
}

TEST_CASE("a job still queued when its fiber gives up never runs", "[to_thread][threads]") {
    std::atomic<bool> release{false};
    std::atomic<bool> second_ran{false};
    weft::test::run_bounded(30s, weft::run_options{.thread_pool_size = 1}, [&] {
        auto blocker = weft::spawn([&] {
            weft::to_thread([&] {
                while (!release) std::this_thread::sleep_for(1ms);
            });
        });
        weft::this_fiber::yield();  // blocker's job takes the only thread
        CHECK_THROWS_AS(weft::to_thread(20ms, [&] { second_ran = true; }), weft::timeout_error);
        release = true;
        blocker.join();
        CHECK(weft::to_thread([] { return 3; }) == 3);  // the one thread is free again
    });
    CHECK_FALSE(second_ran.load());
}

TEST_CASE("run() ends while fibers wait in to_thread: they unwind, run() waits for the jobs", "[to_thread][threads]") {
    std::atomic<int> started{0}, finished{0};
    int unwound = 0;
    weft::test::run_bounded(30s, [&] {
        for (int i = 0; i < 4; ++i)
            weft::spawn([&] {
                struct on_unwind {
                    int& n;
                    ~on_unwind() { ++n; }
                } guard{unwound};
                weft::to_thread([&] {
                    ++started;
                    std::this_thread::sleep_for(50ms);
                    ++finished;
                });
            }).detach();
        // They are all in their jobs (workers start on demand: slowly under TSan).
        while (started.load() < 4) weft::this_fiber::sleep_for(1ms);
    });
    CHECK(unwound == 4);
    CHECK(finished.load() == 4);
}

TEST_CASE("to_thread outside a fiber is a clear error", "[to_thread][threads]") {
    try {
        weft::to_thread([] {});
        FAIL("no error");
    } catch (const std::system_error& e) {
        CHECK(e.code() == weft::errc::no_scheduler);
    }
    // Inside a job there is no fiber either: weft's blocking calls say so.
    weft::test::run_bounded(30s, [] {
        CHECK_THROWS_AS(weft::to_thread([] { weft::this_fiber::sleep_for(1ms); }), std::system_error);
        // A job may run a loop of its own.
        CHECK(weft::to_thread([] { return weft::run([] { return weft::spawn([] { return 5; }).join(); }); }) == 5);
    });
}
