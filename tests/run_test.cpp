// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("run returns the first fiber's result", "[run]") {
    CHECK(weft::test::run_bounded(5s, [] { return 42; }) == 42);
    CHECK(weft::test::run_bounded(5s, [] { return std::string("again"); }) == "again");  // run may run again
    weft::test::run_bounded(5s, [] {});
}

TEST_CASE("run rethrows the first fiber's exception", "[run]") {
    CHECK_THROWS_WITH(weft::test::run_bounded(5s, []() -> int { throw std::runtime_error("main failed"); }),
                      "main failed");
}

TEST_CASE("run inside a fiber is a clear error", "[run]") {
    weft::test::run_bounded(5s, [] {
        try {
            weft::run([] {});
            FAIL("nested run did not throw");
        } catch (const std::system_error& e) {
            CHECK(e.code() == weft::errc::nested_run);
        }
    });
}

TEST_CASE("run cancels and unwinds the fibers still alive when main returns", "[run]") {
    int unwound = 0;
    struct counter {
        int& n;
        ~counter() { ++n; }
    };
    int r = weft::test::run_bounded(5s, [&] {
        for (int i = 0; i < 10; ++i) {
            weft::spawn([&] {
                counter c{unwound};
                weft::this_fiber::sleep_for(1h);
            }).detach();
        }
        weft::spawn([&] {  // never started: cancelled before it runs; its captures still die
            counter c{unwound};
        })
            .detach();
        weft::this_fiber::sleep_for(1ms);
        return 5;
    });
    CHECK(r == 5);
    CHECK(unwound == 11);
}

TEST_CASE("a fiber spawned while run tears down starts cancelled", "[run]") {
    bool body_ran = false;
    weft::test::run_bounded(5s, [&] {
        weft::spawn([&] {
            struct spawn_on_unwind {
                bool& ran;
                ~spawn_on_unwind() {
                    weft::spawn([this] { ran = true; }).detach();
                }
            } s{body_ran};
            weft::this_fiber::sleep_for(1h);
        }).detach();
        weft::this_fiber::yield();
    });
    CHECK_FALSE(body_ran);
}

TEST_CASE("a deadlock is detected and names every parked fiber", "[run][deadlock]") {
    try {
        weft::test::run_bounded(5s, [] {
            auto worker =
                weft::spawn(weft::spawn_options{.name = "worker"}, [] { weft::this_fiber::sleep_until(weft::never); });
            worker.join();
        });
        FAIL("no deadlock reported");
    } catch (const weft::deadlock& e) {
        CHECK(e.code() == weft::errc::deadlock);
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("#1 'main' waits on join"));
        CHECK_THAT(what, Catch::Contains("#2 'worker' waits on sleep"));
    }
}

TEST_CASE("a deadlock unwinds the parked fibers before run throws", "[run][deadlock]") {
    int unwound = 0;
    CHECK_THROWS_AS(weft::test::run_bounded(5s,
                                            [&] {
                                                struct counter {
                                                    int& n;
                                                    ~counter() { ++n; }
                                                } c{unwound};
                                                weft::this_fiber::sleep_until(weft::never);
                                            }),
                    weft::deadlock);
    CHECK(unwound == 1);
}

TEST_CASE("yielding fibers interleave in FIFO order", "[run][yield]") {
    std::vector<int> order;
    weft::test::run_bounded(5s, [&] {
        std::vector<weft::task<void>> ts;
        for (int id = 0; id < 4; ++id) {
            ts.push_back(weft::spawn([&order, id] {
                for (int round = 0; round < 3; ++round) {
                    order.push_back(id);
                    weft::this_fiber::yield();
                }
            }));
        }
        for (auto& t : ts) t.join();
    });
    CHECK(order == std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
}

TEST_CASE("a fiber never changes OS thread; thread_local values stay valid", "[run]") {
    static thread_local int marker = 0;
    weft::test::run_bounded(5s, [] {
        const auto tid = std::this_thread::get_id();
        std::vector<weft::task<bool>> ts;
        for (int i = 0; i < 8; ++i) {
            ts.push_back(weft::spawn([tid] {
                int* before = &marker;
                weft::this_fiber::sleep_for(1ms);
                weft::this_fiber::yield();
                return std::this_thread::get_id() == tid && &marker == before;
            }));
        }
        for (auto& t : ts) CHECK(t.join());
    });
}

TEST_CASE("each fiber keeps its own exception in flight across switches", "[run][exceptions]") {
    // A fiber that parks inside a catch block must find its own exception there
    // afterwards, even though other fibers threw and caught in between.
    weft::test::run_bounded(5s, [] {
        auto catcher = [](int id) {
            try {
                throw id;
            } catch (int) {
                weft::this_fiber::sleep_for(std::chrono::milliseconds(1 + id % 3));
                CHECK(std::uncaught_exceptions() == 0);
                try {
                    throw;  // rethrows the exception this fiber is handling
                } catch (int again) {
                    return again;
                }
            }
        };
        std::vector<weft::task<int>> ts;
        for (int i = 0; i < 6; ++i) ts.push_back(weft::spawn(catcher, i));
        for (int i = 0; i < 6; ++i) CHECK(ts[i].join() == i);
    });
}

TEST_CASE("two runs on two threads are independent", "[run]") {
    const int fds_before = weft::test::open_fds();
    int a = 0, b = 0;
    {
        weft::test::watchdog dog(5s, "two runs on two threads");
        std::thread other([&] { b = weft::run([] { return weft::spawn([] { return 2; }).join(); }); });
        a = weft::run([] { return weft::spawn([] { return 1; }).join(); });
        other.join();
    }
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(weft::test::open_fds() == fds_before);
}
