// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("with_timeout interrupts a longer sleep with timeout_error", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        auto start = weft::clock::now();
        try {
            weft::with_timeout(20ms, [] { weft::this_fiber::sleep_for(10s); });
            FAIL("no timeout");
        } catch (const weft::timeout_error& e) {
            CHECK(e.code() == weft::errc::timed_out);
        }
        auto took = weft::clock::now() - start;
        CHECK(took >= 20ms);
        CHECK(took < 2s);
    });
}

TEST_CASE("with_timeout returns the function's result when it is in time", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        int v = weft::with_timeout(1s, [] {
            weft::this_fiber::sleep_for(5ms);
            return 9;
        });
        CHECK(v == 9);
        weft::this_fiber::sleep_for(5ms);  // the deadline is gone once the scope ends
    });
}

TEST_CASE("nested timeouts take the tighter deadline", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        auto start = weft::clock::now();
        CHECK_THROWS_AS(weft::with_timeout(20ms, [] {
                            weft::with_timeout(10s, [] { weft::this_fiber::sleep_for(10s); });
                        }),
                        weft::timeout_error);
        CHECK(weft::clock::now() - start < 2s);

        start = weft::clock::now();
        CHECK_THROWS_AS(weft::with_timeout(10s, [] {
                            weft::with_timeout(20ms, [] { weft::this_fiber::sleep_for(10s); });
                        }),
                        weft::timeout_error);
        CHECK(weft::clock::now() - start < 2s);
    });
}

TEST_CASE("an inner scope that ends in time leaves the outer deadline in force", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        CHECK_THROWS_AS(weft::with_timeout(30ms, [] {
                            weft::with_timeout(10s, [] { weft::this_fiber::sleep_for(1ms); });
                            weft::this_fiber::sleep_for(10s);
                        }),
                        weft::timeout_error);
    });
}

TEST_CASE("a sleep shorter than the deadline just sleeps", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        weft::with_timeout(1s, [] { weft::this_fiber::sleep_for(5ms); });
    });
}

TEST_CASE("the deadline reaches join; the joined task keeps running", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        auto slow = weft::spawn([] {
            weft::this_fiber::sleep_for(50ms);
            return 1;
        });
        CHECK_THROWS_AS(weft::with_timeout(5ms, [&] { return slow.join(); }), weft::timeout_error);
        CHECK(slow.join() == 1);
    });
}

TEST_CASE("an expired deadline fails the next blocking call at once", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        CHECK_THROWS_AS(weft::with_deadline(weft::clock::now() - 1ms, [] { weft::this_fiber::sleep_for(1h); }),
                        weft::timeout_error);
    });
}

TEST_CASE("a deadline is per fiber: another fiber's scope does not leak", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        auto other = weft::spawn([] {
            weft::this_fiber::sleep_for(30ms);  // no deadline here
            return true;
        });
        CHECK_THROWS_AS(weft::with_timeout(5ms, [] { weft::this_fiber::sleep_for(1h); }), weft::timeout_error);
        CHECK(other.join());
    });
}

TEST_CASE("huge timeouts saturate instead of overflowing", "[timeout]") {
    CHECK(weft::deadline_after(std::chrono::hours::max()) == weft::never);
    auto before = weft::clock::now();
    auto past = weft::deadline_after(-5s);  // a negative timeout means "already due", not 5 s ago
    CHECK(past >= before);
    CHECK(past <= weft::clock::now());
}
