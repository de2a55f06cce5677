// SPDX-License-Identifier: MIT
// weft/errors.hpp: the error codes and exceptions, and the decision on
// cancellation: weft::cancelled is not a std::exception, so a handler for
// errors cannot swallow it (Python 3.8's CancelledError, Boost.Context's
// forced_unwind).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <exception>
#include <type_traits>

#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;

static_assert(!std::is_base_of_v<std::exception, weft::cancelled>,
              "catch (const std::exception&) must not catch a cancellation");
static_assert(std::is_base_of_v<std::system_error, weft::timeout_error>, "a timeout is an error");
static_assert(std::is_nothrow_copy_constructible_v<weft::cancelled>);
static_assert(std::is_nothrow_copy_constructible_v<weft::timeout_error>);

TEST_CASE("cancelled reads like a system_error without being a std::exception", "[errors][cancel]") {
    weft::cancelled c;
    CHECK(std::string(c.what()) == "fiber cancelled");
    CHECK(c.code() == weft::errc::cancelled);
    CHECK(c.code() == std::errc::operation_canceled);
    CHECK(std::string(weft::cancelled("weft::this_fiber::sleep_for").what()) ==
          "weft::this_fiber::sleep_for: fiber cancelled");
}

TEST_CASE("a cancelled blocking call names the call", "[errors][cancel]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
        weft::this_fiber::yield();
        t.cancel();
        try {
            t.join();
            FAIL("no exception");
        } catch (const weft::cancelled& e) {
            CHECK(std::string(e.what()) == "weft::this_fiber::sleep_for: fiber cancelled");
        }
    });
}

TEST_CASE("catch (const std::exception&) lets a cancellation through; a catch-all names it first", "[errors][cancel]") {
    weft::test::run_bounded(5s, [] {
        int errors_caught = 0;
        auto careless = weft::spawn([&] {
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const std::exception&) {
                ++errors_caught;  // not reached: cancelled is no std::exception
            }
        });
        bool cleaned_up = false;
        auto careful = weft::spawn([&] {
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {  // the catch-all of a fiber that must see everything
                cleaned_up = true;
                throw;
            } catch (...) {
                ++errors_caught;
            }
        });
        weft::this_fiber::yield();
        careless.cancel();
        careful.cancel();
        CHECK_THROWS_AS(careless.join(), weft::cancelled);
        CHECK_THROWS_AS(careful.join(), weft::cancelled);
        CHECK(careless.state() == weft::task_state::cancelled);
        CHECK(cleaned_up);
        CHECK(errors_caught == 0);
    });
}

TEST_CASE("a new user's retry loop ends when its fiber is cancelled (run() returns)", "[errors][cancel]") {
    // The loop of issue 13: it used to swallow weft::cancelled and spin a core
    // forever at the end of run(), with no message. In a child, bounded.
    auto r = weft::test::run_child(
        [] {
            ::alarm(20);  // a spin is a failure, not a hang of the test
            int tries = 0;
            int v = weft::run([&] {
                weft::spawn([&] {
                    for (;;) try {
                            ++tries;
                            weft::this_fiber::sleep_for(100ms);
                        } catch (const std::exception&) {
                        }
                }).detach();
                weft::this_fiber::sleep_for(250ms);
                return 7;  // run() cancels the retry loop now
            });
            return v == 7 && tries >= 1 ? 0 : 1;
        },
        30s);
    INFO(r.output);
    CHECK(r.signal == 0);
    CHECK(r.exit_code == 0);
}

TEST_CASE("a fiber that swallows cancellation with catch (...) and keeps blocking is reported", "[errors][cancel]") {
    // weft cannot end such a fiber (run() waits for it), but it says so
    // instead of spinning in silence.
    auto r = weft::test::run_child(
        [] {
            ::alarm(3);  // it does spin: the report must come before this
            weft::run([] {
                weft::spawn(weft::spawn_options{.name = "stubborn"}, [] {
                    for (;;) try {
                            weft::this_fiber::sleep_for(100ms);
                        } catch (...) {
                        }
                }).detach();
                weft::this_fiber::sleep_for(10ms);
            });
            return 0;
        },
        30s);
    INFO(r.output);
    CHECK(r.signal == SIGALRM);
    CHECK_THAT(r.output, Catch::Contains("fiber #2 'stubborn' was cancelled") &&
                             Catch::Contains("keeps making blocking calls") &&
                             Catch::Contains("cancellation_requested()"));
    // Once, not 10,000 times.
    CHECK(r.output.find("was cancelled") == r.output.rfind("was cancelled"));
}
