// SPDX-License-Identifier: MIT
// run(run_options{.threads = N}), spawn_on and shared_task<T>, SO_REUSEPORT
// listeners on every thread, and the error for a single-thread object used
// from two threads.
#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include <weft/channel.hpp>
#include <weft/shared_channel.hpp>
#include <weft/shared_task.hpp>

#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;

TEST_CASE("run on 4 threads: spawn_on starts fibers there, and they never move", "[run_threads][threads]") {
    std::set<std::thread::id> threads_seen;
    std::mutex m;
    int r = weft::test::run_bounded(30s, weft::run_options{.threads = 4}, [&] {
        CHECK(weft::thread_count() == 4);
        CHECK(weft::thread_index() == 0);
        std::vector<weft::shared_task<int>> ts;
        for (std::size_t i = 0; i < 4; ++i)
            for (int k = 0; k < 5; ++k)
                ts.push_back(weft::spawn_on(i, [&, i] {
                    // Only the test's thread may use Catch's assertions: report by value.
                    auto me = std::this_thread::get_id();
                    if (weft::thread_index() != i) return -100;
                    for (int n = 0; n < 10; ++n) {
                        weft::this_fiber::sleep_for(1ms);
                        weft::this_fiber::yield();
                        if (std::this_thread::get_id() != me) return -1;  // it moved
                    }
                    std::lock_guard lock(m);
                    threads_seen.insert(me);
                    return static_cast<int>(weft::thread_index());
                }));
        int sum = 0;
        for (auto& t : ts) sum += t.join();
        return sum;
    });
    CHECK(r == 5 * (0 + 1 + 2 + 3));
    CHECK(threads_seen.size() == 4);
    CHECK(weft::thread_count() == 0);
}

TEST_CASE("shared_task: results, exceptions and joins from another thread's fiber", "[run_threads][threads]") {
    weft::test::run_bounded(30s, weft::run_options{.threads = 3}, [] {
        auto a = weft::spawn_on(1, [] { return std::string("from 1"); });
        auto b = weft::spawn_on(2, [&a] { return a.join() + ", joined on 2"; });  // a joined by thread 2's fiber
        CHECK(b.join() == "from 1, joined on 2");
        CHECK(b.state() == weft::task_state::finished);
        CHECK(b.thread() == 2);

        auto bad = weft::spawn_on(1, []() -> int { throw std::out_of_range("on thread 1"); });
        CHECK_THROWS_AS(bad.join(), std::out_of_range);
        CHECK(bad.state() == weft::task_state::failed);

        auto slow = weft::spawn_on(2, [] { weft::this_fiber::sleep_for(50ms); });
        CHECK_FALSE(slow.join_for(5ms));
        CHECK(slow.join_for(5s));
        slow.join();

        CHECK_THROWS_AS(weft::spawn_on(3, [] {}), std::out_of_range);
        auto here = weft::spawn_on(0, [] { return weft::thread_index(); });  // this very thread
        CHECK(here.join() == 0);
    });
}

TEST_CASE("shared_task: cancel from another thread wakes the fiber at once", "[run_threads][threads]") {
    std::atomic<int> unwound{0};
    weft::test::run_bounded(30s, weft::run_options{.threads = 2}, [&] {
        std::atomic<bool> started{false};
        auto t = weft::spawn_on(1, [&] {
            struct on_unwind {
                std::atomic<int>& n;
                ~on_unwind() { ++n; }
            } guard{unwound};
            started = true;
            weft::this_fiber::sleep_for(1h);
        });
        while (!started) weft::this_fiber::sleep_for(1ms);
        auto start = std::chrono::steady_clock::now();
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(std::chrono::steady_clock::now() - start < 500ms);
        CHECK(t.state() == weft::task_state::cancelled);
        CHECK(unwound.load() == 1);

        // Dropping a handle cancels the fiber and waits for it to end.
        started = false;
        {
            auto dropped = weft::spawn_on(1, [&] {
                struct on_unwind {
                    std::atomic<int>& n;
                    ~on_unwind() { ++n; }
                } guard{unwound};
                started = true;
                weft::this_fiber::sleep_for(1h);
            });
            while (!started) weft::this_fiber::sleep_for(1ms);
        }
        CHECK(unwound.load() == 2);
    });
}

TEST_CASE("shared_task: a fiber that gets its own handle and drops it just lets go", "[run_threads][threads]") {
    weft::test::run_bounded(30s, weft::run_options{.threads = 2}, [] {
        weft::shared_channel<weft::shared_task<void>> handles(1);
        std::atomic<bool> ended{false};
        auto t = weft::spawn_on(1, [&] {
            { auto self = handles.recv(); }  // dropped by its own fiber: no wait for itself
            ended = true;
        });
        handles.send(std::move(t));
        while (!ended) weft::this_fiber::sleep_for(1ms);
    });
}

// spawn_sleepers() starts 10 fibers on each of 3 threads that sleep an hour
// and count themselves in `unwound` when they unwind.
static void spawn_sleepers(std::atomic<int>& unwound) {
    for (std::size_t i = 0; i < 3; ++i)
        for (int k = 0; k < 10; ++k)
            weft::spawn_on(i, [&] {
                struct on_unwind {
                    std::atomic<int>& n;
                    ~on_unwind() { ++n; }
                } guard{unwound};
                weft::this_fiber::sleep_for(1h);
            }).detach();
}

TEST_CASE("run's end cancels and unwinds the fibers of every thread", "[run_threads][threads]") {
    std::atomic<int> unwound{0};
    weft::test::run_bounded(30s, weft::run_options{.threads = 3}, [&] {
        spawn_sleepers(unwound);
        weft::this_fiber::sleep_for(20ms);
    });
    CHECK(unwound.load() == 30);
}

// Shutdown from any thread: run() ends when its fn returns, so the way to
// end it from elsewhere is to tell fn. Here a fiber on thread 2, or a plain
// thread outside the run, says "stop" on a shared_channel that main waits
// on; every thread's fibers then unwind.
TEST_CASE("shutdown from any thread: another thread's fiber or a plain thread ends the run", "[run_threads][threads]") {
    for (bool from_plain_thread : {false, true}) {
        std::atomic<int> unwound{0};
        weft::shared_channel<std::size_t> stop(1);
        std::thread outside;
        const auto started = std::chrono::steady_clock::now();
        weft::test::run_bounded(30s, weft::run_options{.threads = 3}, [&] {
            spawn_sleepers(unwound);
            if (from_plain_thread) {
                outside = std::thread([&] { stop.send(99); });
            } else {
                weft::spawn_on(2, [&] {
                    weft::this_fiber::sleep_for(5ms);
                    stop.send(weft::thread_index());
                }).detach();
            }
            const auto who = stop.recv();
            REQUIRE(who);
            CHECK(*who == (from_plain_thread ? 99u : 2u));
        });
        if (outside.joinable()) outside.join();
        CHECK(unwound.load() == 30);
        CHECK(std::chrono::steady_clock::now() - started < 10s);  // not the sleepers' hour
    }
}

TEST_CASE("spawn_on in a one-thread run: thread 0 is the only one", "[run_threads][threads]") {
    weft::test::run_bounded(30s, [] {
        CHECK(weft::thread_count() == 1);
        CHECK(weft::spawn_on(0, [] { return 5; }).join() == 5);
        CHECK_THROWS_AS(weft::spawn_on(1, [] {}), std::out_of_range);
    });
    CHECK_THROWS_AS(weft::spawn_on(0, [] {}), std::system_error);  // outside a run
}

TEST_CASE("SO_REUSEPORT listeners: every thread accepts on one port", "[run_threads][threads]") {
    constexpr std::size_t threads = 4;
    constexpr int connections = 400;
    std::vector<std::atomic<int>> served(threads);
    weft::test::run_bounded(60s, weft::run_options{.threads = threads}, [&] {
        // Thread 0 picks the port; each thread binds its own listener to it.
        auto first = weft::net::tcp_listener::bind(weft::net::address::loopback(0), 1024, {.reuse_port = true});
        const auto at = first.local_address();
        std::atomic<int> ready{0};
        std::vector<weft::shared_task<void>> servers;
        auto serve = [&](weft::net::tcp_listener l, std::size_t i) {
            ++ready;
            for (;;) {
                auto conn = l.accept();
                ++served[i];
                weft::spawn([c = std::move(conn)]() mutable {
                    char buf[64];
                    std::size_t n = c.read_some(std::span<char>(buf));
                    c.write_all(std::string_view(buf, n));
                }).detach();
            }
        };
        servers.push_back(weft::spawn_on(0, serve, std::move(first), std::size_t{0}));
        for (std::size_t i = 1; i < threads; ++i)
            servers.push_back(
                weft::spawn_on(i, [&, i] { serve(weft::net::tcp_listener::bind(at, 1024, {.reuse_port = true}), i); }));
        while (ready < static_cast<int>(threads)) weft::this_fiber::sleep_for(1ms);

        // Clients on threads 1..3, many connections each from its own port.
        std::vector<weft::shared_task<int>> clients;
        for (std::size_t i = 1; i < threads; ++i)
            clients.push_back(weft::spawn_on(i, [&] {
                int ok = 0;
                for (int k = 0; k < connections / 3; ++k) {
                    auto c = weft::net::tcp_stream::connect(at, 5s);
                    c.write_all("ping");
                    char buf[8];
                    if (c.read_some(std::span<char>(buf)) == 4) ++ok;
                }
                return ok;
            }));
        int ok = 0;
        for (auto& c : clients) ok += c.join();
        CHECK(ok == connections / 3 * 3);
        for (auto& s : servers) s.cancel();
    });
    for (std::size_t i = 0; i < threads; ++i) {
        INFO("thread " << i << " served " << served[i].load());
        CHECK(served[i].load() > 0);
    }
}

TEST_CASE("an HTTP server on every thread answers 10,000 requests, each thread serving some",
          "[run_threads][threads]") {
#if defined(__SANITIZE_THREAD__)
    constexpr int requests = 2000;  // TSan makes every request ~10x dearer
#else
    constexpr int requests = 10000;
#endif
    constexpr std::size_t threads = 4;
    std::vector<std::atomic<int>> served(threads);
    weft::test::run_bounded(120s, weft::run_options{.threads = threads}, [&] {
        weft::http::server_options so;
        so.reuse_port = true;
        auto handler = [&](const weft::http::request& req) {
            ++served[weft::thread_index()];
            return weft::http::response(200, std::string(req.path()));
        };
        auto first = weft::http::server::bind(weft::net::address::loopback(0), handler, so);
        const auto at = first.local_address();
        std::atomic<int> ready{0};
        std::vector<weft::shared_task<void>> servers;
        servers.push_back(weft::spawn_on(0, [&] {
            ++ready;
            first.serve();
        }));
        for (std::size_t i = 1; i < threads; ++i)
            servers.push_back(weft::spawn_on(i, [&] {
                auto srv = weft::http::server::bind(at, handler, so);
                ++ready;
                srv.serve();
            }));
        while (ready < static_cast<int>(threads)) weft::this_fiber::sleep_for(1ms);

        // 40 client fibers on thread 0, each on connections of its own (the
        // pool is per thread), a new connection every 25 requests so the
        // kernel spreads them over the listeners.
        const std::string base = "http://" + at.to_string();
        weft::http::options o;
        o.keep_alive = false;  // every request its own connection: spread widely
        std::vector<weft::task<int>> clients;
        for (int c = 0; c < 40; ++c)
            clients.push_back(weft::spawn([&, c] {
                int ok = 0;
                for (int k = 0; k < requests / 40; ++k) {
                    std::string path = "/" + std::to_string(c) + "/" + std::to_string(k);
                    auto r = weft::http::get(base + path, o);
                    ok += r.status == 200 && r.body == path;
                }
                return ok;
            }));
        int ok = 0;
        for (auto& c : clients) ok += c.join();
        CHECK(ok == requests);
        for (auto& s : servers) s.cancel();
    });
    int total = 0;
    for (std::size_t i = 0; i < threads; ++i) {
        INFO("thread " << i << " served " << served[i].load());
        CHECK(served[i].load() > 0);
        total += served[i].load();
    }
    CHECK(total == requests);
}

// Run by the test below in a child process: one weft::channel shared by two
// threads, each in its own run(), as a new user might write it.
TEST_CASE("misuse: a channel shared by two threads' runs", "[.misuse_channel]") {
    weft::channel<int> ch;
    std::thread other([&] {
        weft::run([&] {
            weft::this_fiber::sleep_for(50ms);  // the main thread's fiber is parked in recv by now
            ch.send(1);
        });
    });
    weft::run([&] { ch.recv_for(std::chrono::seconds(5)); });  // a deadline: no deadlock report first
    other.join();
}

TEST_CASE("a single-thread object used from two threads is a clear error, not corruption", "[run_threads][threads]") {
#ifdef NDEBUG
    SUCCEED("checked in debug builds only");
#else
    // Under TSan the child's race on the channel would be reported (and end
    // it) before weft's check aborts: let the check speak.
    const char* tsan = std::getenv("TSAN_OPTIONS");
    std::string saved = tsan ? tsan : "";
    ::setenv("TSAN_OPTIONS", "report_bugs=0", 1);
    auto r = weft::test::run_self({"[.misuse_channel]"}, std::chrono::seconds(60));
    if (tsan)
        ::setenv("TSAN_OPTIONS", saved.c_str(), 1);
    else
        ::unsetenv("TSAN_OPTIONS");
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK(r.output.find("of another thread's run() was woken from this thread") != std::string::npos);
    CHECK(r.output.find("shared_channel") != std::string::npos);
#endif
}

// (Not under ThreadSanitizer: it reports the misuse itself, as the data race it is.)
#if !defined(NDEBUG) && !defined(__SANITIZE_THREAD__)
TEST_CASE("a weft::channel used by fibers of two threads is reported, not corrupted (debug builds)", "[threads]") {
    // Tried as a new user would: one channel, two threads each in run(), a
    // receiver parked on each side. Without the check: lost values, or a
    // false deadlock report.
    auto r = weft::test::run_child(
        [] {
            weft::channel<int> ch;
            std::thread other([&] {
                weft::run([&] {
                    auto t = weft::spawn(weft::spawn_options{.name = "other thread's receiver"},
                                         [&] { return ch.recv().value_or(-1); });
                    weft::this_fiber::sleep_for(5s);  // (a run with a timer is not deadlocked)
                    (void)t.join();
                });
            });
            std::this_thread::sleep_for(200ms);  // its receiver is parked by now
            weft::run([&] {
                auto t = weft::spawn(weft::spawn_options{.name = "main thread's receiver"},
                                     [&] { return ch.recv().value_or(-1); });
                (void)t.join();
            });
            other.join();
            return 0;
        },
        30s);
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK_THAT(r.output, Catch::Contains("'main thread's receiver' waits on a channel") &&
                             Catch::Contains("another thread's run()") && Catch::Contains("weft::shared_channel"));
}
#endif
