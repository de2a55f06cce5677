// SPDX-License-Identifier: MIT
#include <algorithm>
#include <catch2/catch.hpp>
#include <system_error>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("a semaphore counts units with try_acquire and release", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(2);
        CHECK(s.value() == 2);
        CHECK(s.try_acquire());
        CHECK(s.try_acquire());
        CHECK_FALSE(s.try_acquire());
        s.release(3);
        CHECK(s.value() == 3);
        s.acquire();  // a unit is there: no parking
        CHECK(s.value() == 2);
    });
}

TEST_CASE("acquire parks until a unit is released", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(0);
        bool acquired = false;
        auto waiter = weft::spawn([&] {
            s.acquire();
            acquired = true;
        });
        weft::this_fiber::sleep_for(5ms);
        CHECK_FALSE(acquired);
        s.release();
        waiter.join();
        CHECK(acquired);
        CHECK(s.value() == 0);
    });
}

TEST_CASE("release hands units to waiters in FIFO order, with no barging", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(0);
        std::vector<int> order;
        std::vector<weft::task<void>> waiters;
        for (int i = 0; i < 5; ++i)
            waiters.push_back(weft::spawn([&, i] {
                s.acquire();
                order.push_back(i);
            }));
        weft::this_fiber::yield();  // all five parked, in spawn order
        s.release();
        CHECK(s.value() == 0);  // handed to waiter 0 before it ran
        CHECK_FALSE(s.try_acquire());
        s.release(2);
        weft::this_fiber::yield();
        CHECK(order == std::vector<int>{0, 1, 2});
        s.release(4);  // two waiters left: two units stay
        for (auto& w : waiters) w.join();
        CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
        CHECK(s.value() == 2);
    });
}

TEST_CASE("try_acquire_for gives up after its timeout, or succeeds in time", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(0);
        auto start = weft::clock::now();
        CHECK_FALSE(s.try_acquire_for(20ms));
        auto took = weft::clock::now() - start;
        CHECK(took >= 20ms);
        CHECK(took < 5s);
        auto releaser = weft::spawn([&] {
            weft::this_fiber::sleep_for(10ms);
            s.release();
        });
        CHECK(s.try_acquire_until(weft::deadline_after(5s)));
        releaser.join();
        CHECK(s.value() == 0);
    });
}

TEST_CASE("a fiber cancelled in acquire throws cancelled and takes no unit", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(0);
        auto a = weft::spawn([&] { s.acquire(); });
        auto b = weft::spawn([&] { s.acquire(); });
        weft::this_fiber::yield();
        a.cancel();  // woken, not yet run: the release must skip it
        s.release();
        CHECK_THROWS_AS(a.join(), weft::cancelled);
        b.join();
        CHECK(s.value() == 0);
    });
}

TEST_CASE("with_timeout around acquire throws timeout_error", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore s(0);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { s.acquire(); }), weft::timeout_error);
        s.release();
        CHECK(s.value() == 1);  // the timed-out waiter took nothing
    });
}

TEST_CASE("a negative count throws invalid_argument", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        CHECK_THROWS_AS(weft::semaphore(-1), std::system_error);
        weft::semaphore s(1);
        try {
            s.release(-1);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::invalid_argument);
        }
        CHECK(s.value() == 1);
    });
}

TEST_CASE("a semaphore bounds how many fibers work at once", "[semaphore]") {
    weft::test::run_bounded(10s, [] {
        weft::semaphore slots(3);
        weft::wait_group wg;
        int busy = 0, max_busy = 0, done = 0;
        for (int i = 0; i < 12; ++i) {
            wg.add(1);
            weft::spawn([&] {
                slots.acquire();
                max_busy = std::max(max_busy, ++busy);
                weft::this_fiber::sleep_for(2ms);
                --busy;
                ++done;
                slots.release();
                wg.done();
            }).detach();
        }
        wg.wait();
        CHECK(max_busy == 3);
        CHECK(done == 12);
        CHECK(slots.value() == 3);
    });
}

TEST_CASE("outside a fiber acquire fails every time, even with units left", "[semaphore][rule]") {
    weft::semaphore s(2);
    for (auto fn : {+[](weft::semaphore& x) { x.acquire(); },
                    +[](weft::semaphore& x) { (void)x.try_acquire_for(std::chrono::seconds(1)); },
                    +[](weft::semaphore& x) { (void)x.try_acquire_until(weft::never); }}) {
        try {
            fn(s);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == weft::errc::no_scheduler);
            CHECK_THAT(e.what(), Catch::StartsWith("weft::semaphore::"));
        }
    }
    CHECK(s.value() == 2);   // nothing taken
    CHECK(s.try_acquire());  // never parks: fine anywhere
    s.release();
    CHECK(s.value() == 2);
}
