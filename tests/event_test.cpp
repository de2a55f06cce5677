// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <vector>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("set() wakes every waiter, and a later wait returns at once", "[event]") {
    weft::test::run_bounded(10s, [] {
        weft::event ready;
        std::vector<int> woke;
        std::vector<weft::task<void>> waiters;
        for (int i = 0; i < 3; ++i)
            waiters.push_back(weft::spawn([&, i] {
                ready.wait();
                woke.push_back(i);
            }));
        weft::this_fiber::sleep_for(5ms);
        CHECK(woke.empty());
        CHECK_FALSE(ready.is_set());
        ready.set();
        CHECK(ready.is_set());
        for (auto& w : waiters) w.join();
        CHECK(woke == std::vector<int>{0, 1, 2});  // in the order they waited
        ready.set();                               // twice: nothing happens
        auto start = weft::clock::now();
        ready.wait();
        CHECK(ready.wait_for(1h));
        CHECK(weft::clock::now() - start < 1s);
    });
}

TEST_CASE("wait_for gives up with false and leaves the event unset", "[event][timeout]") {
    weft::test::run_bounded(10s, [] {
        weft::event e;
        auto start = weft::clock::now();
        CHECK_FALSE(e.wait_for(20ms));
        auto took = weft::clock::now() - start;
        CHECK((took >= 20ms && took < 5s));
        CHECK_FALSE(e.wait_until(weft::clock::now()));  // a deadline already passed
        auto setter = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            e.set();
        });
        CHECK(e.wait_for(5s));
        setter.join();
    });
}

TEST_CASE("an event wait is a cancellation point and honours with_timeout", "[event][cancel]") {
    weft::test::run_bounded(10s, [] {
        weft::event never_set;
        auto waiter = weft::spawn([&] { never_set.wait(); });
        weft::this_fiber::sleep_for(2ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { never_set.wait(); }), weft::timeout_error);
    });
}

TEST_CASE("event::wait outside a fiber fails, set or not", "[event]") {
    weft::event e;
    CHECK(weft::test::error_of([&] { e.wait(); }).code() == weft::errc::no_scheduler);
    e.set();
    CHECK(e.is_set());
    CHECK(weft::test::error_of([&] { e.wait(); }).code() == weft::errc::no_scheduler);
}
