// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

namespace {
auto sleeper(std::chrono::milliseconds d, int v) {
    return [d, v] {
        weft::this_fiber::sleep_for(d);
        return v;
    };
}
}  // namespace

TEST_CASE("when_any returns the first task to finish and cancels nothing", "[when]") {
    weft::test::run_bounded(10s, [] {
        auto slow = weft::spawn(sleeper(60ms, 1));
        auto fast = weft::spawn(sleeper(5ms, 2));
        CHECK(weft::when_any(slow, fast) == 1);
        CHECK(fast.done());
        CHECK(fast.join() == 2);
        CHECK(slow.state() == weft::task_state::suspended);  // still running, not cancelled
        CHECK(slow.join() == 1);
    });
}

TEST_CASE("when_any with a task already done returns at once, the lowest index", "[when]") {
    weft::test::run_bounded(10s, [] {
        auto a = weft::spawn([] { return 1; });
        auto b = weft::spawn([] { return std::string("b"); });
        auto c = weft::spawn(sleeper(1h, 3));
        a.join();
        b.join();
        CHECK(weft::when_any(c, b, a) == 1);
        CHECK(c.state() == weft::task_state::suspended);
        c.cancel();
    });
}

TEST_CASE("when_any counts a failed or cancelled task as done, and rethrows nothing", "[when]") {
    weft::test::run_bounded(10s, [] {
        auto ok = weft::spawn(sleeper(1h, 0));
        auto bad = weft::spawn([] {
            weft::this_fiber::sleep_for(2ms);
            throw std::runtime_error("bad");
        });
        CHECK(weft::when_any(ok, bad) == 1);
        CHECK_THROWS_WITH(bad.join(), "bad");
        auto doomed = weft::spawn(sleeper(1h, 0));
        auto canceller = weft::spawn([&] {
            weft::this_fiber::sleep_for(2ms);
            doomed.cancel();
        });
        CHECK(weft::when_any(ok, doomed) == 1);
        CHECK(doomed.state() == weft::task_state::cancelled);
        CHECK(ok.state() == weft::task_state::suspended);
        canceller.join();
        ok.cancel();
    });
}

TEST_CASE("an interrupted when_any leaves the tasks it waited on running", "[when][cancel]") {
    weft::test::run_bounded(10s, [] {
        auto a = weft::spawn(sleeper(30ms, 1));
        auto b = weft::spawn(sleeper(30ms, 2));
        CHECK_THROWS_AS(weft::with_timeout(5ms, [&] { return weft::when_any(a, b); }), weft::timeout_error);
        auto waiter = weft::spawn([&] { return weft::when_any(a, b); });
        weft::this_fiber::sleep_for(2ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        CHECK(a.state() == weft::task_state::suspended);
        CHECK(b.state() == weft::task_state::suspended);
        CHECK(a.join() == 1);  // neither was cancelled
        CHECK(b.join() == 2);
    });
}

TEST_CASE("when_any over a vector of tasks", "[when]") {
    weft::test::run_bounded(10s, [] {
        std::vector<weft::task<int>> ts;
        for (int ms : {50, 40, 3, 30}) ts.push_back(weft::spawn(sleeper(std::chrono::milliseconds(ms), ms)));
        std::size_t i = weft::when_any(ts);
        CHECK(i == 2);
        CHECK(ts[i].join() == 3);
        for (std::size_t k = 0; k < ts.size(); ++k)
            if (k != i) CHECK_FALSE(ts[k].done());
        std::vector<weft::task<int>> none;
        CHECK(weft::test::error_of([&] { weft::when_any(none); }).code() == std::errc::invalid_argument);
    });  // the others are dropped here: their handles cancel them
}

TEST_CASE("when_all returns every result, void as monostate", "[when]") {
    weft::test::run_bounded(10s, [] {
        auto a = weft::spawn(sleeper(10ms, 7));
        auto b = weft::spawn([] {
            weft::this_fiber::sleep_for(2ms);
            return std::string("two");
        });
        bool ran = false;
        auto c = weft::spawn([&] { ran = true; });
        auto [x, y, z] = weft::when_all(a, b, c);
        static_assert(std::is_same_v<decltype(z), std::monostate>);
        CHECK(x == 7);
        CHECK(y == "two");
        CHECK(ran);
        CHECK((a.done() && b.done() && c.done()));
    });
}

TEST_CASE("when_all rethrows the first failure at once and leaves the rest running", "[when]") {
    weft::test::run_bounded(10s, [] {
        auto slow = weft::spawn(sleeper(1h, 1));
        auto bad = weft::spawn([]() -> int {
            weft::this_fiber::sleep_for(3ms);
            throw std::runtime_error("broken");
        });
        auto start = weft::clock::now();
        CHECK_THROWS_WITH(weft::when_all(slow, bad), "broken");
        CHECK(weft::clock::now() - start < 10s);
        CHECK(slow.state() == weft::task_state::suspended);  // not its to cancel
        slow.cancel();
        CHECK_THROWS_AS(slow.join(), weft::cancelled);
    });
}

TEST_CASE("when_all over a vector of tasks", "[when]") {
    weft::test::run_bounded(10s, [] {
        std::vector<weft::task<int>> ts;
        for (int ms : {5, 1, 3}) ts.push_back(weft::spawn(sleeper(std::chrono::milliseconds(ms), ms)));
        weft::when_all(ts);
        int sum = 0;
        for (auto& t : ts) {
            CHECK(t.done());
            sum += t.join();
        }
        CHECK(sum == 9);
        ts.push_back(weft::spawn([]() -> int { throw std::runtime_error("last"); }));
        CHECK_THROWS_WITH(weft::when_all(ts), "last");
        std::vector<weft::task<int>> none;
        weft::when_all(none);  // nothing to wait for
    });
}

TEST_CASE("when_any and when_all refuse empty handles and the caller's own task", "[when]") {
    weft::test::run_bounded(10s, [] {
        weft::task<int> empty;
        auto t = weft::spawn(sleeper(1ms, 1));
        CHECK(weft::test::error_of([&] { weft::when_any(t, empty); }).code() == std::errc::invalid_argument);
        CHECK(weft::test::error_of([&] { weft::when_all(empty); }).code() == std::errc::invalid_argument);
        weft::task<void> self;
        self = weft::spawn([&] {
            CHECK(weft::test::error_of([&] { weft::when_any(t, self); }).code() ==
                  std::errc::resource_deadlock_would_occur);
        });
        self.join();
        t.join();
    });
}

TEST_CASE("when_any and when_all after run() returned: every task is done", "[when]") {
    weft::task<int> done_after_run;
    weft::run([&] {
        done_after_run = weft::spawn([] { return 5; });
        done_after_run.join();
    });
    CHECK(weft::when_any(done_after_run) == 0);
    auto [v] = weft::when_all(done_after_run);
    CHECK(v == 5);
}
