// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <vector>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("a latch opens when every worker has counted down", "[latch]") {
    weft::test::run_bounded(10s, [] {
        weft::latch started(4);  // three workers and this fiber
        CHECK(started.count() == 4);
        CHECK_FALSE(started.try_wait());
        std::vector<weft::task<void>> workers;
        int passed = 0;
        for (int i = 0; i < 3; ++i)
            workers.push_back(weft::spawn([&] {
                started.arrive_and_wait();  // nobody passes before the last one arrives
                CHECK(started.count() == 0);
                ++passed;
            }));
        weft::this_fiber::sleep_for(2ms);
        CHECK(passed == 0);
        CHECK(started.count() == 1);
        started.arrive_and_wait();
        for (auto& w : workers) w.join();
        CHECK(passed == 3);
        CHECK(started.try_wait());
        CHECK(started.wait_for(1ms));  // zero stays zero
    });
}

TEST_CASE("count_down by more than is left is refused and changes nothing", "[latch]") {
    weft::test::run_bounded(10s, [] {
        weft::latch l(2);
        CHECK(weft::test::error_of([&] { l.count_down(3); }).code() == std::errc::invalid_argument);
        CHECK(weft::test::error_of([&] { l.count_down(-1); }).code() == std::errc::invalid_argument);
        CHECK(l.count() == 2);
        l.count_down(2);
        CHECK(l.try_wait());
    });
    CHECK(weft::test::error_of([] { weft::latch bad(-1); }).code() == std::errc::invalid_argument);
}

TEST_CASE("a latch wait times out, is a cancellation point and honours with_timeout", "[latch][cancel]") {
    weft::test::run_bounded(10s, [] {
        weft::latch l(1);
        auto start = weft::clock::now();
        CHECK_FALSE(l.wait_for(20ms));
        CHECK(weft::clock::now() - start >= 20ms);
        auto waiter = weft::spawn([&] { l.wait(); });
        weft::this_fiber::sleep_for(2ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { l.wait(); }), weft::timeout_error);
        CHECK(l.count() == 1);
        l.count_down();
    });
}

TEST_CASE("latch::wait outside a fiber fails, at zero or not", "[latch]") {
    weft::latch l(0);
    CHECK(weft::test::error_of([&] { l.wait(); }).code() == weft::errc::no_scheduler);
}
