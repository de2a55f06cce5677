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
        CHECK_THROWS_AS(
            weft::with_timeout(20ms, [] { weft::with_timeout(10s, [] { weft::this_fiber::sleep_for(10s); }); }),
            weft::timeout_error);
        CHECK(weft::clock::now() - start < 2s);

        start = weft::clock::now();
        CHECK_THROWS_AS(
            weft::with_timeout(10s, [] { weft::with_timeout(20ms, [] { weft::this_fiber::sleep_for(10s); }); }),
            weft::timeout_error);
        CHECK(weft::clock::now() - start < 2s);
    });
}

TEST_CASE("an inner scope that ends in time leaves the outer deadline in force", "[timeout]") {
    weft::test::run_bounded(5s, [] {
        CHECK_THROWS_AS(weft::with_timeout(30ms,
                                           [] {
                                               weft::with_timeout(10s, [] { weft::this_fiber::sleep_for(1ms); });
                                               weft::this_fiber::sleep_for(10s);
                                           }),
                        weft::timeout_error);
    });
}

TEST_CASE("a sleep shorter than the deadline just sleeps", "[timeout]") {
    weft::test::run_bounded(5s, [] { weft::with_timeout(1s, [] { weft::this_fiber::sleep_for(5ms); }); });
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

// --- one timeout vocabulary (README, "What you can rely on") ---

TEST_CASE("a zero timeout has already passed, no_timeout never passes", "[timeout][rule]") {
    weft::test::run_bounded(5s, [] {
        auto start = weft::clock::now();
        CHECK_THROWS_AS(weft::with_timeout(0s, [] { weft::this_fiber::sleep_for(10s); }), weft::timeout_error);
        CHECK_THROWS_AS(weft::with_timeout(-5ms, [] { weft::this_fiber::sleep_for(10s); }), weft::timeout_error);
        CHECK(weft::clock::now() - start < 1s);
        // ... and what needs no wait still happens inside it.
        CHECK(weft::with_timeout(0s, [] { return 7; }) == 7);
        CHECK(weft::deadline_after(weft::no_timeout) == weft::never);
        CHECK(weft::deadline_after(std::chrono::hours::max()) == weft::never);
        const weft::deadline zero = weft::deadline_after(0s);
        CHECK(zero <= weft::clock::now());
        weft::with_timeout(weft::no_timeout, [] { weft::this_fiber::sleep_for(2ms); });
    });
}

TEST_CASE("with_timeout outside a fiber fails itself, naming itself", "[timeout][rule]") {
    bool ran = false;
    try {
        weft::with_timeout(1s, [&] { ran = true; });
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == weft::errc::no_scheduler);
        CHECK_THAT(e.what(), Catch::StartsWith("weft::with_timeout must be called inside a fiber"));
    }
    CHECK_FALSE(ran);
    CHECK_THROWS_WITH(weft::with_deadline(weft::never, [] {}),
                      Catch::StartsWith("weft::with_deadline must be called inside a fiber"));
    // sleep_for names itself, not the sleep_until it is built on.
    CHECK_THROWS_WITH(weft::this_fiber::sleep_for(0s), Catch::StartsWith("weft::this_fiber::sleep_for must be"));
    CHECK_THROWS_WITH(weft::this_fiber::sleep_until(weft::clock::now()),
                      Catch::StartsWith("weft::this_fiber::sleep_until must be"));
}

TEST_CASE("timeout_error says what timed out and whose deadline it was", "[timeout][rule]") {
    CHECK(std::string(weft::timeout_error().what()) == "deadline passed");
    CHECK(std::string(weft::timeout_error("weft::net::tcp_stream::read_some", "timeout 5 s").what()) ==
          "weft::net::tcp_stream::read_some (timeout 5 s): deadline passed");
    // The whole text is std::system_error's own: a copy sliced to it says it too.
    const std::system_error sliced = weft::timeout_error("weft::dns::resolve \"x\"", "timeout 1 s");
    CHECK(std::string(sliced.what()) == "weft::dns::resolve \"x\" (timeout 1 s): deadline passed");
    const std::system_error& as_system = weft::timeout_error("x");
    CHECK(as_system.code() == weft::errc::timed_out);
    CHECK(as_system.code() == std::errc::timed_out);
    CHECK(std::string(as_system.what()) == "x: deadline passed");
    weft::test::run_bounded(5s, [] {
        try {
            weft::with_timeout(10ms, [] { weft::this_fiber::sleep_for(10s); });
            FAIL("no timeout");
        } catch (const weft::timeout_error& e) {
            CHECK(std::string(e.what()) == "weft::this_fiber::sleep_for (an enclosing with_timeout): deadline passed");
        }
        weft::channel<int> ch;
        CHECK_THROWS_WITH(weft::with_timeout(10ms, [&] { return ch.recv(); }),
                          "weft::channel::recv (an enclosing with_timeout): deadline passed");
    });
}
