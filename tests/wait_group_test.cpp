// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <system_error>
#include <thread>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("wait returns at once when the counter is zero", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.wait();
        CHECK(wg.wait_for(0ms));
        wg.add(2);
        wg.add(-2);
        CHECK(wg.count() == 0);
        wg.wait();
    });
}

TEST_CASE("wait returns once every worker called done", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        std::vector<int> finished;
        for (int ms : {30, 10, 20}) {
            wg.add(1);
            weft::spawn([&, ms] {
                weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));
                finished.push_back(ms);
                wg.done();
            }).detach();
        }
        CHECK(wg.count() == 3);
        wg.wait();
        CHECK(finished == std::vector<int>{10, 20, 30});
        CHECK(wg.count() == 0);
    });
}

TEST_CASE("every waiter is woken when the counter reaches zero", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        std::vector<int> order;
        std::vector<weft::task<void>> waiters;
        for (int i = 0; i < 4; ++i)
            waiters.push_back(weft::spawn([&, i] {
                wg.wait();
                order.push_back(i);
            }));
        weft::this_fiber::yield();
        CHECK(order.empty());
        wg.done();
        wg.add(1);  // raised again before the waiters run: they still return
        for (auto& w : waiters) w.join();
        CHECK(order == std::vector<int>{0, 1, 2, 3});
        wg.done();
    });
}

TEST_CASE("wait_for times out while work is outstanding", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        auto start = weft::clock::now();
        CHECK_FALSE(wg.wait_for(20ms));
        auto took = weft::clock::now() - start;
        CHECK(took >= 20ms);
        CHECK(took < 5s);
        auto worker = weft::spawn([&] {
            weft::this_fiber::sleep_for(10ms);
            wg.done();
        });
        CHECK(wg.wait_until(weft::deadline_after(5s)));
        worker.join();
    });
}

TEST_CASE("a negative counter throws invalid_argument and changes nothing", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        try {
            wg.add(-2);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::invalid_argument);
        }
        CHECK(wg.count() == 1);
        wg.done();
        CHECK_THROWS_AS(wg.done(), std::system_error);
        CHECK(wg.count() == 0);
    });
}

TEST_CASE("a fiber cancelled in wait throws cancelled", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        auto waiter = weft::spawn([&] { wg.wait(); });
        auto other = weft::spawn([&] { return wg.wait_for(5s); });
        weft::this_fiber::yield();
        waiter.cancel();
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        wg.done();
        CHECK(other.join());  // the cancelled waiter took nothing from the others
    });
}

TEST_CASE("with_timeout around wait throws timeout_error", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { wg.wait(); }), weft::timeout_error);
        wg.done();
        weft::with_timeout(10ms, [&] { wg.wait(); });
    });
}

TEST_CASE("a wait_group wait outside a fiber throws no_scheduler", "[wait_group]") {
    weft::test::run_bounded(10s, [] {
        weft::wait_group wg;
        wg.add(1);
        std::thread([&] {
            try {
                wg.wait();
                FAIL("no exception");
            } catch (const std::system_error& e) {
                CHECK(e.code() == weft::errc::no_scheduler);
            }
        }).join();
        wg.done();
        wg.wait();
    });
}

TEST_CASE("outside a fiber wait fails every time, even at zero", "[wait_group][rule]") {
    weft::wait_group wg;
    CHECK(wg.count() == 0);
    try {
        wg.wait();
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == weft::errc::no_scheduler);
        CHECK_THAT(e.what(), Catch::StartsWith("weft::wait_group::wait must be called inside a fiber"));
    }
    CHECK_THROWS_WITH(wg.wait_for(1s), Catch::StartsWith("weft::wait_group::wait_for must be"));
    wg.add(2);  // add and done never park: fine anywhere
    wg.done();
    wg.done();
    CHECK(wg.count() == 0);
}
