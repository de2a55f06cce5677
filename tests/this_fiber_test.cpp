// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <stop_token>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("sleepers wake in deadline order", "[timers]") {
    weft::test::run_bounded(5s, [] {
        std::vector<int> order;
        std::vector<weft::task<void>> ts;
        for (int ms : {30, 40, 10, 20, 0, 25}) {
            ts.push_back(weft::spawn([&order, ms] {
                weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));
                order.push_back(ms);
            }));
        }
        for (auto& t : ts) t.join();
        REQUIRE(order == std::vector<int>{0, 10, 20, 25, 30, 40});
    });
}

TEST_CASE("sleepers with the same deadline wake in the order they slept", "[timers]") {
    weft::test::run_bounded(5s, [] {
        std::vector<int> order;
        std::vector<weft::task<void>> ts;
        auto at = weft::clock::now() + 10ms;
        for (int i = 0; i < 5; ++i) {
            ts.push_back(weft::spawn([&order, at, i] {
                weft::this_fiber::sleep_until(at);
                order.push_back(i);
            }));
        }
        for (auto& t : ts) t.join();
        REQUIRE(order == std::vector<int>{0, 1, 2, 3, 4});
    });
}

TEST_CASE("a sleep lasts at least its duration", "[timers]") {
    weft::test::run_bounded(5s, [] {
        for (auto d : {1ms, 5ms, 20ms}) {
            auto start = weft::clock::now();
            weft::this_fiber::sleep_for(d);
            auto took = weft::clock::now() - start;
            CHECK(took >= d);
            CHECK(took < d + 1s);  // generous: machines here are shared
        }
    });
}

TEST_CASE("10,000 fibers each sleeping 100 ms all finish in about 100 ms", "[timers]") {
    weft::test::run_bounded(30s, [] {
        int woke = 0;
        auto start = weft::clock::now();
        {
            std::vector<weft::task<void>> ts;
            ts.reserve(10'000);
            for (int i = 0; i < 10'000; ++i)
                ts.push_back(weft::spawn([&woke] {
                    weft::this_fiber::sleep_for(100ms);
                    ++woke;
                }));
            for (auto& t : ts) t.join();
        }
        auto took = weft::clock::now() - start;
        CHECK(woke == 10'000);
        CHECK(took >= 100ms);
        CHECK(took < 2s);
    });
}

TEST_CASE("a million concurrent sleepers", "[timers][slow]") {
    weft::test::run_bounded(120s, [] {
        constexpr int n = 1'000'000;
        int woke = 0;
        auto first = weft::clock::now() + 500ms;
        for (int i = 0; i < n; ++i) {
            // deadlines spread over 100 ms, in an order unrelated to spawn order
            auto at = first + std::chrono::microseconds((i * 7919L) % 100'000);
            weft::spawn([&woke, at] {
                weft::this_fiber::sleep_until(at);
                ++woke;
            }).detach();
        }
        while (woke < n) weft::this_fiber::sleep_for(50ms);
        CHECK(woke == n);
    });
}

TEST_CASE("sleep is a cancellation point", "[timers][cancel]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
        weft::this_fiber::yield();
        auto start = weft::clock::now();
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(weft::clock::now() - start < 1s);
    });
}

TEST_CASE("id and name of the running fiber", "[this_fiber]") {
    CHECK(weft::this_fiber::id() == 0);
    CHECK(weft::this_fiber::name().empty());
    weft::test::run_bounded(5s, [] {
        CHECK(weft::this_fiber::id() == 1);
        CHECK(weft::this_fiber::name() == "main");
        auto t = weft::spawn(weft::spawn_options{.name = "child"},
                             [] { return std::pair(weft::this_fiber::id(), std::string(weft::this_fiber::name())); });
        CHECK(t.join() == std::pair<std::uint64_t, std::string>(t.id(), "child"));
    });
}

TEST_CASE("fiber calls outside run are clear errors", "[this_fiber]") {
    CHECK_THROWS_MATCHES(weft::this_fiber::yield(), std::system_error,
                         Catch::Matchers::Predicate<std::system_error>(
                             [](const auto& e) { return e.code() == weft::errc::no_scheduler; }));
    CHECK_THROWS_MATCHES(weft::this_fiber::sleep_for(1ms), std::system_error,
                         Catch::Matchers::Predicate<std::system_error>(
                             [](const auto& e) { return e.code() == weft::errc::no_scheduler; }));
}

TEST_CASE("a busy yielder does not starve sleepers", "[timers][yield]") {
    weft::test::run_bounded(5s, [] {
        bool slept = false;
        auto sleeper = weft::spawn([&] {
            weft::this_fiber::sleep_for(10ms);
            slept = true;
        });
        auto start = weft::clock::now();
        while (!slept && weft::clock::now() - start < 3s) weft::this_fiber::yield();
        CHECK(slept);
        sleeper.join();
    });
}

TEST_CASE("cancellation_requested() tells without throwing", "[cancel]") {
    CHECK_FALSE(weft::this_fiber::cancellation_requested());  // outside a fiber
    weft::test::run_bounded(5s, [] {
        CHECK_FALSE(weft::this_fiber::cancellation_requested());
        int spins = 0;
        auto worker = weft::spawn([&] {
            while (!weft::this_fiber::cancellation_requested()) {
                ++spins;
                try {
                    weft::this_fiber::yield();
                } catch (const weft::cancelled&) {
                }
            }
            return spins;  // winds up on its own terms, no exception
        });
        weft::this_fiber::yield();
        weft::this_fiber::yield();
        worker.cancel();
        CHECK(worker.join() >= 1);
        CHECK(worker.state() == weft::task_state::finished);
    });
}

TEST_CASE("this_fiber::stop_token() is requested when the fiber is cancelled", "[cancel][stop_token]") {
    CHECK_FALSE(weft::this_fiber::stop_token().stop_possible());  // outside a fiber
    weft::test::run_bounded(5s, [] {
        bool callback_ran = false;
        bool requested_in_catch = false;
        auto t = weft::spawn([&] {
            std::stop_token tok = weft::this_fiber::stop_token();
            CHECK(tok.stop_possible());
            CHECK_FALSE(tok.stop_requested());
            std::stop_callback cb(tok, [&] { callback_ran = true; });
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
                requested_in_catch = tok.stop_requested();
                throw;
            }
        });
        weft::this_fiber::yield();
        t.cancel();
        CHECK(callback_ran);  // at once, from cancel()
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(requested_in_catch);
        // Asked for after the cancel: requested already.
        auto late = weft::spawn([] {
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
            }
            return weft::this_fiber::stop_token().stop_requested();
        });
        weft::this_fiber::yield();
        late.cancel();
        CHECK(late.join());
    });
}

TEST_CASE("the end of run() requests the stop_token of the fibers it cancels", "[cancel][stop_token]") {
    bool requested = false;
    weft::test::run_bounded(5s, [&] {
        weft::spawn([&] {
            std::stop_token tok = weft::this_fiber::stop_token();
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
                requested = tok.stop_requested();
                throw;
            }
        }).detach();
        weft::this_fiber::yield();
    });
    CHECK(requested);
}
