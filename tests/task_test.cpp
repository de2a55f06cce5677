// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/capture_stderr.hpp"
#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;

namespace {
template <class T>
std::string text(const weft::task<T>& t) {
    std::ostringstream os;
    os << t;
    return os.str();
}
}  // namespace

TEST_CASE("a task prints pending, then finished with its result", "[task]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([](int x) { return x * 2; }, 21);
        CHECK(text(t) == "<task #2 pending>");
        CHECK(t.state() == weft::task_state::pending);
        CHECK(t.join() == 42);
        CHECK(text(t) == "<task #2 finished result=42>");
        CHECK(t.done());
    });
}

TEST_CASE("a named task shows its name, and string results are quoted", "[task]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn(weft::spawn_options{.name = "fetch"}, [] { return std::string("Hello!"); });
        CHECK(t.name() == "fetch");
        CHECK(t.join() == "Hello!");
        CHECK(text(t) == "<task #2 'fetch' finished result=\"Hello!\">");
    });
}

TEST_CASE("a task moves through pending, running, suspended, finished", "[task]") {
    weft::test::run_bounded(5s, [] {
        weft::task<void>* self = nullptr;
        weft::task_state seen_inside{};
        auto t = weft::spawn([&] {
            seen_inside = self->state();
            weft::this_fiber::sleep_for(20ms);
        });
        self = &t;
        CHECK(t.state() == weft::task_state::pending);
        weft::this_fiber::sleep_for(5ms);
        CHECK(seen_inside == weft::task_state::running);
        CHECK(t.state() == weft::task_state::suspended);
        t.join();
        CHECK(t.state() == weft::task_state::finished);
    });
}

TEST_CASE("an exception crosses join and the task is failed", "[task]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn(weft::spawn_options{.name = "boom"}, []() -> int { throw std::runtime_error("boom"); });
        CHECK_THROWS_WITH(t.join(), "boom");
        CHECK(t.state() == weft::task_state::failed);
        CHECK(text(t) == "<task #2 'boom' failed error=\"boom\">");
        CHECK_THROWS_AS(t.join(), std::runtime_error);  // joining again rethrows again
    });
}

TEST_CASE("join from several fibers at once", "[task]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([] {
            weft::this_fiber::sleep_for(10ms);
            return 7;
        });
        std::vector<weft::task<int>> joiners;
        for (int i = 0; i < 3; ++i) joiners.push_back(weft::spawn([&t] { return t.join() + 1; }));
        for (auto& j : joiners) CHECK(j.join() == 8);
        CHECK(t.join() == 7);
    });
}

TEST_CASE("a fiber joining itself gets an error, not a hang", "[task]") {
    weft::test::run_bounded(5s, [] {
        weft::task<bool>* self = nullptr;
        auto t = weft::spawn([&] {
            try {
                self->join();
            } catch (const std::system_error& e) {
                return e.code() == std::errc::resource_deadlock_would_occur;
            }
            return false;
        });
        self = &t;
        CHECK(t.join());
    });
}

TEST_CASE("cancel a sleeping task: join throws cancelled, state is cancelled", "[task][cancel]") {
    weft::test::run_bounded(5s, [] {
        bool unwound = false;
        auto t = weft::spawn([&] {
            struct flag {
                bool& f;
                ~flag() { f = true; }
            } guard{unwound};
            weft::this_fiber::sleep_for(10s);
        });
        weft::this_fiber::sleep_for(5ms);
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(unwound);
        CHECK(t.state() == weft::task_state::cancelled);
        CHECK(text(t) == "<task #2 cancelled>");
    });
}

TEST_CASE("a task cancelled before it starts never runs", "[task][cancel]") {
    weft::test::run_bounded(5s, [] {
        bool ran = false;
        auto t = weft::spawn([&] { ran = true; });
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK_FALSE(ran);
    });
}

TEST_CASE("cancellation is sticky: every later blocking call throws", "[task][cancel]") {
    weft::test::run_bounded(5s, [] {
        int caught = 0;
        auto t = weft::spawn([&] {
            for (int i = 0; i < 3; ++i) {
                try {
                    weft::this_fiber::sleep_for(10s);
                } catch (const weft::cancelled&) {
                    ++caught;
                }
            }
            try {
                weft::this_fiber::yield();
            } catch (const weft::cancelled&) {
                ++caught;
            }
            return caught;
        });
        weft::this_fiber::yield();
        t.cancel();
        CHECK(t.join() == 4);  // it swallowed cancelled, so it finished normally
        CHECK(t.state() == weft::task_state::finished);
    });
}

TEST_CASE("dropping an unjoined task cancels it and waits for it to unwind", "[task][cancel]") {
    weft::test::run_bounded(5s, [] {
        int destroyed = 0;
        {
            auto t = weft::spawn([&] {
                struct counter {
                    int& n;
                    ~counter() { ++n; }
                } c{destroyed};
                weft::this_fiber::sleep_for(10s);
            });
            weft::this_fiber::yield();
        }
        CHECK(destroyed == 1);
    });
}

TEST_CASE("dropping a task after the with_timeout deadline passed still waits for it", "[task][timeout]") {
    weft::test::run_bounded(5s, [] {
        int unwound = 0;
        try {
            weft::with_timeout(10ms, [&] {
                auto child = weft::spawn([&] {
                    struct counter {
                        int& n;
                        ~counter() { ++n; }
                    } c{unwound};
                    try {
                        weft::this_fiber::sleep_for(1s);
                    } catch (...) {
                    }
                });
                weft::this_fiber::sleep_for(1s);  // throws timeout_error; dropping `child` must not spin
            });
            FAIL("no timeout");
        } catch (const weft::timeout_error&) {
        }
        CHECK(unwound == 1);
    });
}

TEST_CASE("a detached task runs on its own", "[task]") {
    weft::test::run_bounded(5s, [] {
        bool ran = false;
        auto t = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            ran = true;
        });
        t.detach();
        CHECK_FALSE(t.valid());
        CHECK_THROWS_AS(t.join(), std::system_error);
        weft::this_fiber::sleep_for(50ms);
        CHECK(ran);
    });
}

TEST_CASE("an exception that ends a detached fiber is reported with its name", "[task]") {
    std::string err = weft::test::capture_stderr([] {
        weft::test::run_bounded(5s, [] {
            weft::spawn(weft::spawn_options{.name = "lonely"}, [] {
                throw std::runtime_error("nobody listens");
            }).detach();
            weft::this_fiber::sleep_for(5ms);
        });
    });
    CHECK_THAT(err, Catch::Contains("'lonely'") && Catch::Contains("nobody listens"));
}

TEST_CASE("a failure never joined is reported when the handle is dropped", "[task]") {
    std::string err = weft::test::capture_stderr([] {
        weft::test::run_bounded(5s, [] {
            auto t = weft::spawn(weft::spawn_options{.name = "ignored"}, [] { throw std::runtime_error("lost?"); });
            weft::this_fiber::yield();
        });
    });
    CHECK_THAT(err, Catch::Contains("'ignored'") && Catch::Contains("never joined") && Catch::Contains("lost?"));
}

TEST_CASE("task<void>, move-only results and moving a result out", "[task]") {
    weft::test::run_bounded(5s, [] {
        auto v = weft::spawn([] {});
        v.join();
        CHECK(v.state() == weft::task_state::finished);

        auto p = weft::spawn([] { return std::make_unique<int>(5); });
        CHECK(*p.join() == 5);                             // a reference to the stored result
        std::unique_ptr<int> owned = std::move(p).join();  // moved out
        CHECK(*owned == 5);

        auto s = weft::spawn([](std::string a, std::string b) { return a + b; }, std::string("we"), "ft");
        CHECK(std::move(s).join() == "weft");
    });
}

TEST_CASE("a finished task can be joined and printed after run returns", "[task]") {
    auto t = weft::run([] {
        auto t = weft::spawn([] { return 3; });
        t.join();
        return t;
    });
    CHECK(t.join() == 3);
    CHECK(text(t) == "<task #2 finished result=3>");
}

TEST_CASE("spawn outside run is a clear error", "[task]") {
    try {
        auto t = weft::spawn([] {});
        FAIL("spawn outside run did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code() == weft::errc::no_scheduler);
        CHECK_THAT(e.what(), Catch::Contains("weft::run"));
    }
}

// The next cases are hidden ([.]): they fail on purpose, and the case below
// runs them in a child process to check that a failing REQUIRE inside a fiber
// fails its test.
TEST_CASE("failing REQUIRE in a joined fiber", "[.][fails-on-purpose]") {
    weft::run([] {
        auto t = weft::spawn([] { REQUIRE(1 == 2); });
        t.join();
    });
}

TEST_CASE("failing CHECK in a detached fiber", "[.][fails-on-purpose]") {
    weft::run([] {
        weft::spawn([] { CHECK(1 == 2); }).detach();
        weft::this_fiber::yield();
    });
}

TEST_CASE("failing REQUIRE in a detached fiber", "[.][fails-on-purpose]") {
    weft::run([] {
        weft::spawn([] { REQUIRE(1 == 2); }).detach();
        weft::this_fiber::yield();
    });
}

TEST_CASE("a Catch2 assertion failing inside a fiber fails the test", "[task]") {
    for (const char* name : {"failing REQUIRE in a joined fiber", "failing CHECK in a detached fiber",
                             "failing REQUIRE in a detached fiber"}) {
        INFO(name);
        auto r = weft::test::run_self({name});
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.output, Catch::Contains("1 == 2") && Catch::Contains("failed"));
    }
}

TEST_CASE("join_for gives up with false and leaves the task running", "[task][timeout]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([] {
            weft::this_fiber::sleep_for(30ms);
            return 4;
        });
        auto start = weft::clock::now();
        CHECK_FALSE(t.join_for(5ms));
        CHECK(weft::clock::now() - start >= 5ms);
        CHECK(t.state() == weft::task_state::suspended);  // not cancelled
        CHECK(t.join_for(5s));
        CHECK(t.done());
        CHECK(t.join() == 4);
        CHECK(t.join_until(weft::clock::now()));  // done: true at once, even past the deadline
    });
}

TEST_CASE("join_for neither rethrows nor retrieves; join() does", "[task][timeout]") {
    weft::test::run_bounded(5s, [] {
        auto t = weft::spawn([] { throw std::runtime_error("late"); });
        CHECK(t.join_for(1s));
        CHECK(t.state() == weft::task_state::failed);
        CHECK_THROWS_WITH(t.join(), "late");
    });
}

TEST_CASE("join_for is interrupted by cancellation and with_timeout like join", "[task][cancel]") {
    weft::test::run_bounded(5s, [] {
        auto sleeper = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
        CHECK_THROWS_AS(weft::with_timeout(2ms, [&] { return sleeper.join_for(1h); }), weft::timeout_error);
        auto joiner = weft::spawn([&] { return sleeper.join_for(1h); });
        weft::this_fiber::sleep_for(2ms);
        joiner.cancel();
        CHECK_THROWS_AS(joiner.join(), weft::cancelled);
        CHECK(sleeper.state() == weft::task_state::suspended);
        sleeper.cancel();
        CHECK(sleeper.join_for(1s));
        CHECK(sleeper.state() == weft::task_state::cancelled);
    });
}

TEST_CASE("a task dropped before it ever ran says so in debug builds", "[task][rule]") {
#ifdef NDEBUG
    SUCCEED("reported in debug builds only");
#else
    std::string said = weft::test::capture_stderr([] {
        weft::test::run_bounded(5s, [] {
            bool ran = false;
            {
                auto t = weft::spawn(weft::spawn_options{.name = "forgotten"}, [&] { ran = true; });
            }  // dropped: cancelled before it ran
            weft::this_fiber::yield();
            CHECK_FALSE(ran);
        });
    });
    CHECK_THAT(said, Catch::Contains("weft: task #2 'forgotten' was dropped before it ever ran") &&
                         Catch::Contains("call detach()"));
    // Not when it was cancelled on purpose, detached, or had run.
    said = weft::test::capture_stderr([] {
        weft::test::run_bounded(5s, [] {
            {
                auto t = weft::spawn([] {});
                t.cancel();
            }
            weft::spawn([] {}).detach();
            {
                auto t = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
                weft::this_fiber::yield();
            }
        });
    });
    CHECK(said.empty());
#endif
}
