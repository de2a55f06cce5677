// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/capture_stderr.hpp"
#include "support/error_of.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

namespace {

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    }
}

// group_error_of(fn) is the task_group_error fn() throws; fails the test if none.
template <class Fn>
weft::task_group_error group_error_of(Fn&& fn) {
    try {
        fn();
    } catch (const weft::task_group_error& e) {
        return e;
    }
    FAIL("no task_group_error");
    return weft::task_group_error(std::vector<std::exception_ptr>{});
}

}  // namespace

TEST_CASE("wait() joins every child", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        std::vector<int> done;
        weft::task_group g;
        for (int ms : {20, 5, 10})
            g.spawn([&done, ms] {
                weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));
                done.push_back(ms);
            });
        CHECK(g.size() == 3);
        g.wait();
        CHECK(g.size() == 0);
        CHECK(done == std::vector<int>{5, 10, 20});
        g.wait();  // empty: returns at once
    });
}

TEST_CASE("children may spawn into their own group, and wait() waits for those too", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        int ran = 0;
        weft::task_group g;
        g.spawn([&] {
            weft::this_fiber::sleep_for(2ms);
            g.spawn([&] {
                weft::this_fiber::sleep_for(5ms);
                ++ran;
            });
            ++ran;
        });
        g.wait();
        CHECK(ran == 2);
    });
}

TEST_CASE("the first failure cancels the siblings and wait() throws it, first", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        bool sibling_cancelled = false;
        bool sibling_stop_requested = false;
        weft::task_group g;
        g.spawn({.name = "sleeper"}, [&] {
            auto tok = weft::this_fiber::stop_token();
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
                sibling_cancelled = true;
                sibling_stop_requested = tok.stop_requested();
                throw;
            }
        });
        g.spawn([] {
            weft::this_fiber::sleep_for(2ms);
            throw std::runtime_error("boom");
        });
        auto start = weft::clock::now();
        auto e = group_error_of([&] { g.wait(); });
        CHECK(weft::clock::now() - start < 10s);
        CHECK(sibling_cancelled);
        CHECK(sibling_stop_requested);
        REQUIRE(e.exceptions().size() == 1);  // the cancelled sibling did not fail
        CHECK(what_of(e.exceptions()[0]) == "boom");
        CHECK(std::string(e.what()) == "weft::task_group: 1 child failed: boom");
        CHECK_THROWS_WITH(std::rethrow_if_nested(e), "boom");  // errgroup's rule in one line
        CHECK_THROWS_AS(std::rethrow_if_nested(e), std::runtime_error);
    });
}

TEST_CASE("a child failing while the group is already unwinding is reported after the first", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        weft::task_group g;
        g.spawn([] {
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
                throw std::logic_error("clean-up failed");  // breaks while being cancelled
            }
        });
        g.spawn([] {
            weft::this_fiber::sleep_for(2ms);
            throw std::runtime_error("first");
        });
        auto e = group_error_of([&] { g.wait(); });
        REQUIRE(e.exceptions().size() == 2);
        CHECK(what_of(e.exceptions()[0]) == "first");
        CHECK(what_of(e.exceptions()[1]) == "clean-up failed");
        CHECK_THROWS_WITH(std::rethrow_if_nested(e), "first");
        CHECK(std::string(e.what()) == "weft::task_group: 2 children failed: first; clean-up failed");
    });
}

TEST_CASE("a cancelled that escapes a child nobody cancelled is a failure", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        weft::task_group g;
        g.spawn([] {
            auto inner = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
            inner.cancel();
            inner.join();  // throws weft::cancelled, but this child was not cancelled
        });
        auto e = group_error_of([&] { g.wait(); });
        REQUIRE(e.exceptions().size() == 1);
        CHECK_THROWS_AS(std::rethrow_exception(e.exceptions()[0]), weft::cancelled);
    });
}

TEST_CASE("a supervising group lets the siblings of a failure run on", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        int finished = 0;
        weft::task_group g({.supervise = true});
        for (int i = 0; i < 3; ++i)
            g.spawn([&] {
                weft::this_fiber::sleep_for(10ms);
                ++finished;
            });
        g.spawn([] { throw std::runtime_error("one"); });
        g.spawn([] {
            weft::this_fiber::sleep_for(3ms);
            throw std::runtime_error("two");
        });
        auto e = group_error_of([&] { g.wait(); });
        CHECK(finished == 3);
        REQUIRE(e.exceptions().size() == 2);
        CHECK(what_of(e.exceptions()[0]) == "one");
        CHECK(what_of(e.exceptions()[1]) == "two");
        g.spawn([&] { ++finished; });  // usable again
        g.wait();
        CHECK(finished == 4);
    });
}

TEST_CASE("a limit keeps at most that many children running; spawn parks for a slot", "[task_group][limit]") {
    weft::test::run_bounded(10s, [] {
        int running = 0, most = 0, ran = 0;
        weft::task_group g({.limit = 3});
        CHECK(g.limit() == 3);
        for (int i = 0; i < 10; ++i) {
            g.spawn([&] {
                most = std::max(most, ++running);
                weft::this_fiber::sleep_for(2ms);
                --running;
                ++ran;
            });
            CHECK(g.size() <= 3);
        }
        g.wait();
        CHECK(ran == 10);
        CHECK(most == 3);
    });
}

TEST_CASE("try_spawn never parks, and leaves its arguments alone when full", "[task_group][limit]") {
    weft::test::run_bounded(10s, [] {
        weft::task_group g({.limit = 1});
        weft::event go;
        CHECK(g.try_spawn([&] { go.wait(); }));
        auto p = std::make_unique<int>(7);
        CHECK_FALSE(g.try_spawn([](std::unique_ptr<int> q) { CHECK(*q == 7); }, std::move(p)));
        REQUIRE(p);  // untouched
        go.set();
        g.wait();
        CHECK(g.try_spawn([](std::unique_ptr<int> q) { CHECK(*q == 7); }, std::move(p)));
        g.wait();
        weft::task_group unlimited;
        for (int i = 0; i < 100; ++i) REQUIRE(unlimited.try_spawn([] {}));
        unlimited.wait();
    });
}

TEST_CASE("spawn parked at the limit is a cancellation point", "[task_group][limit][cancel]") {
    weft::test::run_bounded(10s, [] {
        weft::task_group g({.limit = 1});
        g.spawn([] { weft::this_fiber::sleep_for(1h); });
        bool started = false;
        auto spawner = weft::spawn([&] { g.spawn([&] { started = true; }); });
        weft::this_fiber::sleep_for(2ms);
        CHECK_FALSE(spawner.done());
        spawner.cancel();
        CHECK_THROWS_AS(spawner.join(), weft::cancelled);
        CHECK_THROWS_AS(weft::with_timeout(2ms, [&] { g.spawn([&] { started = true; }); }), weft::timeout_error);
        g.cancel();
        g.wait();
        CHECK_FALSE(started);
    });
}

TEST_CASE("cancel() stops the children and is not a failure", "[task_group][cancel]") {
    weft::test::run_bounded(10s, [] {
        int cancelled = 0;
        bool ran_late = false;
        weft::task_group g;
        for (int i = 0; i < 3; ++i)
            g.spawn([&] {
                try {
                    weft::this_fiber::sleep_for(1h);
                } catch (const weft::cancelled&) {
                    ++cancelled;
                    throw;
                }
            });
        weft::this_fiber::yield();  // they are all parked
        g.cancel();
        g.spawn([&] { ran_late = true; });  // cancelled before it runs
        g.wait();                           // returns normally
        CHECK(cancelled == 3);
        CHECK_FALSE(ran_late);
        g.spawn([&] { ran_late = true; });  // after wait(), the group is fresh
        g.wait();
        CHECK(ran_late);
    });
}

TEST_CASE("children cancelled before they ever ran still end the group", "[task_group][cancel]") {
    weft::test::run_bounded(10s, [] {
        int ran = 0;
        weft::task_group g({.limit = 2});
        g.spawn([&] { ++ran; });
        g.spawn([&] { ++ran; });
        g.cancel();  // neither has run yet
        g.wait();
        CHECK(ran == 0);
        CHECK(g.size() == 0);
        g.spawn([&] { ++ran; });  // their slots came back
        g.spawn([&] { ++ran; });
        g.wait();
        CHECK(ran == 2);
    });
}

TEST_CASE("cancelling the fiber in wait() cancels and joins the children, then throws cancelled",
          "[task_group][cancel]") {
    weft::test::run_bounded(10s, [] {
        bool child_unwound = false;
        bool after_wait = false;
        auto owner = weft::spawn([&] {
            weft::task_group g;
            g.spawn([&] {
                struct flag {
                    bool& f;
                    ~flag() { f = true; }
                } guard{child_unwound};
                weft::this_fiber::sleep_for(1h);
            });
            g.wait();
            after_wait = true;
        });
        weft::this_fiber::sleep_for(2ms);
        owner.cancel();
        CHECK_THROWS_AS(owner.join(), weft::cancelled);
        CHECK(child_unwound);
        CHECK_FALSE(after_wait);
    });
}

TEST_CASE("a nested group does not swallow its parent's cancellation", "[task_group][cancel]") {
    weft::test::run_bounded(10s, [] {
        bool inner_returned = false;
        std::string err = weft::test::capture_stderr([&] {
            weft::task_group outer;
            outer.spawn({.name = "nested"}, [&] {
                weft::task_group inner;
                inner.spawn([] {
                    try {
                        weft::this_fiber::sleep_for(1h);
                    } catch (const weft::cancelled&) {
                        throw std::runtime_error("inner clean-up failed");  // while the parent is cancelled
                    }
                });
                inner.spawn([] { weft::this_fiber::sleep_for(1h); });
                inner.wait();  // must throw weft::cancelled, not the inner failure
                inner_returned = true;
            });
            outer.spawn([] {
                weft::this_fiber::sleep_for(3ms);
                throw std::runtime_error("sibling failed");
            });
            auto e = group_error_of([&] { outer.wait(); });
            REQUIRE(e.exceptions().size() == 1);  // the nested child ended cancelled: no failure
            CHECK(what_of(e.exceptions()[0]) == "sibling failed");
        });
        CHECK_FALSE(inner_returned);
        // The inner failure could not travel with the cancellation: it is reported, not lost.
        CHECK(err.find("inner clean-up failed") != std::string::npos);
    });
}

TEST_CASE("a with_timeout around a group fires, even when a child fails while being cancelled",
          "[task_group][timeout]") {
    weft::test::run_bounded(10s, [] {
        std::string err = weft::test::capture_stderr([] {
            auto start = weft::clock::now();
            CHECK_THROWS_AS(weft::with_timeout(20ms,
                                               [] {
                                                   weft::task_group g;
                                                   g.spawn([] {
                                                       try {
                                                           weft::this_fiber::sleep_for(1h);
                                                       } catch (const weft::cancelled&) {
                                                           throw std::runtime_error("failed on the way out");
                                                       }
                                                   });
                                                   g.spawn([] { weft::this_fiber::sleep_for(1h); });
                                                   g.wait();
                                               }),
                            weft::timeout_error);
            auto took = weft::clock::now() - start;
            CHECK((took >= 20ms && took < 5s));
        });
        CHECK(err.find("failed on the way out") != std::string::npos);
    });
}

TEST_CASE("a with_timeout around a group that was cancelled still fires", "[task_group][timeout]") {
    weft::test::run_bounded(10s, [] {
        bool reached = false;
        CHECK_THROWS_AS(weft::with_timeout(20ms,
                                           [&] {
                                               weft::task_group g;
                                               g.spawn([] { weft::this_fiber::sleep_for(1h); });
                                               weft::this_fiber::yield();
                                               g.cancel();
                                               g.wait();  // the group's own cancellation: no error
                                               reached = true;
                                               weft::this_fiber::sleep_for(1h);  // the deadline still holds
                                           }),
                        weft::timeout_error);
        CHECK(reached);
    });
}

TEST_CASE("the destructor joins children that wait() did not", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        int finished = 0;
        {
            weft::task_group g;
            g.spawn([&] {
                weft::this_fiber::sleep_for(5ms);
                ++finished;
            });
        }  // waits: it does not cancel a child it can let finish
        CHECK(finished == 1);
        std::string err = weft::test::capture_stderr([] {
            weft::task_group g;
            g.spawn([] { throw std::runtime_error("nobody waited"); });
        });
        CHECK(err.find("nobody waited") != std::string::npos);  // reported, not lost
    });
}

TEST_CASE("an exception leaving the group's scope cancels and joins its children", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        bool child_unwound = false;
        CHECK_THROWS_WITH(
            [&] {
                weft::task_group g;
                g.spawn([&] {
                    struct flag {
                        bool& f;
                        ~flag() { f = true; }
                    } guard{child_unwound};
                    weft::this_fiber::sleep_for(1h);
                });
                weft::this_fiber::yield();
                throw std::runtime_error("body failed");
            }(),
            "body failed");
        CHECK(child_unwound);
    });
}

TEST_CASE("the destructor of a group in a cancelled fiber cancels the children", "[task_group][cancel]") {
    weft::test::run_bounded(10s, [] {
        bool child_unwound = false;
        auto owner = weft::spawn([&] {
            weft::task_group g;
            g.spawn([&] {
                struct flag {
                    bool& f;
                    ~flag() { f = true; }
                } guard{child_unwound};
                weft::this_fiber::sleep_for(1h);
            });
            try {
                weft::this_fiber::sleep_for(1h);
            } catch (const weft::cancelled&) {
            }  // swallowed here, but cancellation is sticky: the group sees it
        });
        weft::this_fiber::sleep_for(2ms);
        owner.cancel();
        owner.join();
        CHECK(child_unwound);
    });
}

TEST_CASE("a child cannot wait for its own group", "[task_group]") {
    weft::test::run_bounded(10s, [] {
        weft::task_group g;
        std::error_code ec;
        g.spawn([&] { ec = weft::test::error_of([&] { g.wait(); }).code(); });
        g.wait();
        CHECK(ec == std::errc::resource_deadlock_would_occur);
    });
}

TEST_CASE("task_group::wait outside a fiber fails", "[task_group]") {
    weft::task_group g;
    CHECK(weft::test::error_of([&] { g.wait(); }).code() == weft::errc::no_scheduler);
    CHECK(weft::test::error_of([&] { g.spawn([] {}); }).code() == weft::errc::no_scheduler);
    CHECK(g.size() == 0);
}

TEST_CASE("ten thousand children in a group with a limit", "[task_group][limit]") {
    weft::test::run_bounded(60s, [] {
        long sum = 0;
        weft::task_group g({.limit = 64});
        for (int i = 0; i < 10000; ++i)
            g.spawn([&sum, i] {
                weft::this_fiber::yield();
                sum += i;
            });
        g.wait();
        CHECK(sum == 10000L * 9999 / 2);
    });
}
