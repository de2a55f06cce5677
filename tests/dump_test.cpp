// SPDX-License-Identifier: MIT
// weft::dump: every live fiber, its state and wait, read back from the text.
#include <poll.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <regex>
#include <sstream>
#include <weft/weft.hpp>

#include "support/live_child.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("dump lists every fiber with its state, what it waits on and its stack") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(0);
        weft::mutex m;
        m.lock();
        auto l = weft::net::tcp_listener::bind(weft::net::address::loopback());
        auto receiver = weft::spawn(weft::spawn_options{.name = "receiver"}, [&] { ch.recv(); });
        auto locker = weft::spawn(weft::spawn_options{.name = "locker"}, [&] { std::lock_guard g(m); });
        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
        auto acceptor = weft::spawn(weft::spawn_options{.name = "acceptor"}, [&] { l.accept(); });
        auto fresh = weft::spawn(weft::spawn_options{.name = "fresh"}, [] {});
        weft::this_fiber::sleep_for(5ms);  // all but `fresh` parked now; fresh has ended
        auto late = weft::spawn(weft::spawn_options{.name = "late"}, [] {});
        std::ostringstream out;
        weft::dump(out);
        std::string text = out.str();
        INFO(text);
        CHECK_THAT(text, Catch::Contains("weft: 6 live fibers"));  // main, four parked, late
        CHECK_THAT(text, Catch::Contains("fiber #1 'main' is running"));
        CHECK_THAT(text, Catch::Contains("'receiver' waits on channel"));
        CHECK_THAT(text, Catch::Contains("'locker' waits on mutex"));
        CHECK_THAT(text, Catch::Contains("'sleeper' waits on sleep"));
        CHECK_THAT(text, Catch::Contains("'acceptor' waits on "));
        CHECK_THAT(text, Catch::Contains(" fd " + std::to_string(l.native_handle())));
        CHECK_THAT(text, Catch::Contains("'late' is ready"));
        CHECK_THAT(text, !Catch::Contains("'fresh'"));
        CHECK_THAT(text, Catch::Contains("KiB resident"));
        m.unlock();
        ch.close();
        locker.join();
        sleeper.cancel();
        acceptor.cancel();
        late.join();
    });
    std::ostringstream outside;
    weft::dump(outside);
    CHECK(outside.str() == "weft: no run() on this thread\n");
}

namespace {

// line_of(text, name) is the dump's line for the fiber named `name`, or "".
std::string line_of(const std::string& text, const std::string& name) {
    std::size_t at = text.find("'" + name + "'");
    if (at == std::string::npos) return "";
    std::size_t begin = text.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return text.substr(begin, text.find('\n', at) - begin);
}

// waited_seconds(line) is the "for N.N s" / "for N ms" of a parked fiber's line, or -1.
double waited_seconds(const std::string& line) {
    std::smatch m;
    if (std::regex_search(line, m, std::regex(" for ([0-9]+) ms"))) return std::stod(m[1]) / 1000;
    if (std::regex_search(line, m, std::regex(" for ([0-9]+\\.[0-9]) s"))) return std::stod(m[1]);
    if (std::regex_search(line, m, std::regex(" for ([0-9]+) min ([0-9]+) s")))
        return std::stod(m[1]) * 60 + std::stod(m[2]);
    return -1;
}

}  // namespace

TEST_CASE("dump says how long each parked fiber has waited, and when its deadline comes") {
    weft::test::run_bounded(20s, [] {
        weft::event never_set;
        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
        auto waiter = weft::spawn(weft::spawn_options{.name = "waiter"}, [&] { never_set.wait(); });
        weft::this_fiber::sleep_for(1100ms);
        auto late = weft::spawn(weft::spawn_options{.name = "late"}, [&] { never_set.wait(); });
        weft::this_fiber::sleep_for(1ms);  // late parks now
        std::ostringstream out;
        weft::dump(out);
        std::string text = out.str();
        INFO(text);
        // The wait is counted from the loop's turn in which the fiber parked,
        // on a clock of one tick's (at most 10 ms) resolution, and printed to
        // a tenth of a second, rounded down: 1,100 ms have passed, so 1.0 s
        // at least.
        CHECK(waited_seconds(line_of(text, "sleeper")) >= 1.0);
        CHECK(waited_seconds(line_of(text, "waiter")) >= 1.0);
        CHECK(waited_seconds(line_of(text, "waiter")) < 60);
        CHECK(waited_seconds(line_of(text, "late")) >= 0);
        CHECK(waited_seconds(line_of(text, "late")) < waited_seconds(line_of(text, "waiter")));
        CHECK_THAT(line_of(text, "sleeper"), Catch::Contains("(deadline in 59 min "));
        CHECK_THAT(line_of(text, "waiter"), !Catch::Contains("deadline"));
        sleeper.cancel();
        waiter.cancel();
        late.cancel();
    });
}

TEST_CASE("dump names the call a fiber is in: the HTTP request and its URL, the DNS lookup and its name") {
    weft::test::run_bounded(20s, [] {
        // A server that accepts and never answers, and a DNS server that never answers.
        auto mute = weft::net::tcp_listener::bind(weft::net::address::loopback());
        std::vector<weft::net::tcp_stream> held;
        auto acceptor = weft::spawn([&] {
            for (;;) held.push_back(mute.accept());
        });
        auto silent = weft::net::udp_socket::bind(weft::net::address::loopback());
        const std::string url = "http://user:secret@" + mute.local_address().to_string() + "/page";
        auto fetch = weft::spawn(weft::spawn_options{.name = "fetch"}, [&] { (void)weft::http::get(url); });
        auto lookup = weft::spawn(weft::spawn_options{.name = "lookup"}, [&] {
            weft::dns::options o;
            o.servers = {silent.local_address().to_string()};
            o.timeout = 10s;
            (void)weft::dns::resolve("somewhere.test", 80, o);
        });
        weft::this_fiber::sleep_for(200ms);  // both are parked by now
        std::ostringstream out;
        weft::dump(out);
        const std::string text = out.str();
        INFO(text);
        CHECK_THAT(line_of(text, "fetch"),
                   Catch::Contains("in weft::http::get http://" + mute.local_address().to_string() + "/page"));
        CHECK_THAT(text, !Catch::Contains("secret"));  // never the password
        CHECK_THAT(line_of(text, "lookup"), Catch::Contains("in weft::dns::resolve \"somewhere.test\""));
        fetch.cancel();
        lookup.cancel();
        acceptor.cancel();
    });
}

// The child of the next test: a run that dumps on SIGUSR1, with fibers parked
// in a channel recv, a sleep and a socket read. It says "parked" once they
// are, and ends when its stdin is closed.
TEST_CASE("dump signal child", "[.dump_signal_child]") {
    weft::run(weft::run_options{.dump_signal = SIGUSR1}, [] {
        weft::channel<int> ch(0);
        auto l = weft::net::tcp_listener::bind(weft::net::address::loopback());
        auto client = weft::net::tcp_stream::connect(l.local_address());
        auto server = l.accept();
        auto receiver = weft::spawn(weft::spawn_options{.name = "receiver"}, [&] { ch.recv(); });
        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
        auto reader = weft::spawn(weft::spawn_options{.name = "reader"}, [&] {
            char buf[16];
            server.read_some(std::span(buf));
        });
        weft::this_fiber::sleep_for(20ms);
        std::printf("parked fd %d\n", server.native_handle());
        std::fflush(stdout);
        for (int i = 0; i < 6000; ++i) {  // until stdin ends, 60 s at most
            pollfd p{STDIN_FILENO, POLLIN, 0};
            if (::poll(&p, 1, 0) > 0) break;
            weft::this_fiber::sleep_for(10ms);
        }
        ch.close();
    });
    std::printf("child done\n");
}

TEST_CASE("run_options::dump_signal: on the signal the run writes its dump to stderr and goes on") {
    weft::test::live_child child({"[.dump_signal_child]"});
    std::size_t at = child.wait_for("parked fd ", 30s);
    REQUIRE(at != std::string::npos);
    REQUIRE(child.wait_for("\n", 5s, at) != std::string::npos);
    const std::string fd = child.output().substr(at + 10, child.output().find('\n', at) - at - 10);

    const std::string header = "weft: SIGUSR1 (run_options::dump_signal): pid " + std::to_string(child.pid());
    std::size_t dumps_from = child.output().size();
    child.signal(SIGUSR1);
    at = child.wait_for(header, 30s, dumps_from);
    REQUIRE(at != std::string::npos);
    // The live list is newest first: main's line ends the dump.
    std::size_t main_at = child.wait_for("fiber #1 'main'", 10s, at);
    REQUIRE(main_at != std::string::npos);
    REQUIRE(child.wait_for("\n", 10s, main_at) != std::string::npos);
    std::string first = child.output().substr(at);
    INFO(first);
    CHECK_THAT(first, Catch::Contains("weft: 4 live fibers"));
    CHECK_THAT(line_of(first, "receiver"), Catch::Contains("waits on channel recv"));
    CHECK_THAT(line_of(first, "sleeper"), Catch::Contains("waits on sleep for "));
    CHECK_THAT(line_of(first, "sleeper"), Catch::Contains("(deadline in 59 min "));
    CHECK_THAT(line_of(first, "reader"), Catch::Contains("waits on read fd " + fd + " for "));
    CHECK_THAT(line_of(first, "main"), Catch::Contains("waits on sleep"));  // the loop prints: nobody is running
    for (const char* name : {"receiver", "sleeper", "reader"}) CHECK(waited_seconds(line_of(first, name)) >= 0);

    // It went on: a second signal, a second dump, the same fibers still waiting.
    std::size_t second_from = child.output().size();
    child.signal(SIGUSR1);
    at = child.wait_for(header, 30s, second_from);
    REQUIRE(at != std::string::npos);
    main_at = child.wait_for("fiber #1 'main'", 10s, at);
    REQUIRE(main_at != std::string::npos);
    REQUIRE(child.wait_for("\n", 10s, main_at) != std::string::npos);
    std::string second = child.output().substr(at);
    CHECK_THAT(line_of(second, "reader"), Catch::Contains("waits on read fd " + fd));

    weft::test::child_result r = child.finish(30s);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("child done"));
}

// The same with two threads: each loop prints its own fibers.
TEST_CASE("dump signal threads child", "[.dump_signal_threads_child]") {
    weft::run(weft::run_options{.threads = 2, .dump_signal = SIGUSR1}, [] {
        auto far =
            weft::spawn_on(1, weft::spawn_options{.name = "far sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
        weft::this_fiber::sleep_for(20ms);
        std::printf("parked\n");
        std::fflush(stdout);
        for (int i = 0; i < 6000; ++i) {  // until stdin ends, 60 s at most
            pollfd p{STDIN_FILENO, POLLIN, 0};
            if (::poll(&p, 1, 0) > 0) break;
            weft::this_fiber::sleep_for(10ms);
        }
        far.cancel();
    });
    std::printf("child done\n");
}

TEST_CASE("run_options::dump_signal with several threads: each loop writes its own fibers") {
    weft::test::live_child child({"[.dump_signal_threads_child]"});
    REQUIRE(child.wait_for("parked\n", 30s) != std::string::npos);
    const std::size_t from = child.output().size();
    child.signal(SIGUSR1);
    const std::string pid = std::to_string(child.pid());
    std::size_t t0 = child.wait_for("pid " + pid + ", thread 0 of 2\n", 30s, from);
    std::size_t t1 = child.wait_for("pid " + pid + ", thread 1 of 2\n", 30s, from);
    REQUIRE(t0 != std::string::npos);
    REQUIRE(t1 != std::string::npos);
    // Each dump is one write: thread 1's lines follow its header.
    std::size_t far = child.wait_for("'far sleeper' waits on sleep for ", 30s, t1);
    REQUIRE(far != std::string::npos);
    CHECK(child.output().substr(t1, far - t1).find("weft: SIG") == std::string::npos);
    std::string text = child.output().substr(from);
    INFO(text);
    CHECK_THAT(text, Catch::Contains("fiber #1 'main' waits on sleep"));
    CHECK_THAT(text, Catch::Contains("fiber #1 'thread 1' waits on stop of its run()"));

    weft::test::child_result r = child.finish(30s);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("child done"));
}

TEST_CASE("run_options::dump_signal refuses a signal that cannot be caught") {
    CHECK_THROWS_WITH(weft::run(weft::run_options{.dump_signal = SIGKILL}, [] {}),
                      Catch::Contains("run_options::dump_signal 9"));
    // The previous action comes back once the run ends: SIGUSR2 is ignored
    // here before and after a run that listened for it.
    struct sigaction ignore {
    }, before{}, after{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR2, &ignore, &before);
    weft::run(weft::run_options{.dump_signal = SIGUSR2}, [] {
        struct sigaction now {};
        ::sigaction(SIGUSR2, nullptr, &now);
        CHECK(now.sa_handler != SIG_IGN);
    });
    ::sigaction(SIGUSR2, &before, &after);
    CHECK(after.sa_handler == SIG_IGN);
}

// Each case below forks: the run that must abort runs in a child process.
// The grace is 5 s (lib/detail/scheduler.cpp, refused_in_teardown).
TEST_CASE(
    "a fiber that swallows the teardown's cancellation in a tight loop is named, with the dump, and the "
    "run aborts") {
    auto tight = weft::test::run_child([] {
        return weft::run([] {
            weft::spawn(weft::spawn_options{.name = "retry loop"}, [] {
                for (;;) try {
                        weft::this_fiber::sleep_for(100ms);
                    } catch (...) {
                    }
            }).detach();
            weft::this_fiber::sleep_for(10ms);
            return 0;  // run() ends: the teardown cancels 'retry loop'
        });
    });
    INFO(tight.output);
    CHECK(tight.signal == SIGABRT);
    std::smatch m;
    REQUIRE(std::regex_search(
        tight.output, m,
        std::regex("weft: fiber #2 'retry loop' keeps blocking after run\\(\\) asked it to end: it "
                   "was cancelled, and its last ([0-9]+) blocking calls \\(over ([0-9]+)\\.[0-9] s\\)")));
    CHECK(std::stol(m[1]) > 10'000);  // it spun, refused without a switch, all that time
    CHECK(std::stoi(m[2]) >= 5);
    CHECK_THAT(tight.output, Catch::Contains("catch (...)"));
    CHECK_THAT(tight.output, Catch::Contains("weft: 1 live fibers"));
    CHECK_THAT(tight.output, Catch::Contains("fiber #2 'retry loop' is running"));
}

TEST_CASE("a fiber that swallows the teardown's cancellation in a slow loop is named after the grace") {
    // A refused yield() every 150 ms: 5 s take some 34 of them.
    auto slow = weft::test::run_child([] {
        return weft::run([] {
            weft::spawn(weft::spawn_options{.name = "slow retry"}, [] {
                for (;;) {
                    try {
                        weft::this_fiber::yield();
                    } catch (...) {
                    }
                    auto until = std::chrono::steady_clock::now() + 150ms;
                    while (std::chrono::steady_clock::now() < until) {
                    }
                }
            }).detach();
            weft::this_fiber::sleep_for(10ms);
            return 0;
        });
    });
    INFO(slow.output);
    CHECK(slow.signal == SIGABRT);
    std::smatch m;
    REQUIRE(
        std::regex_search(slow.output, m,
                          std::regex("fiber #2 'slow retry' keeps blocking after run\\(\\) asked it to end: it was "
                                     "cancelled, and its last ([0-9]+) blocking calls \\(over ([0-9]+)\\.[0-9] s\\)")));
    CHECK(std::stoi(m[1]) >= 10);
    CHECK(std::stoi(m[1]) < 100);
    CHECK(std::stoi(m[2]) >= 5);
}

TEST_CASE("a fiber that swallows a few cancellations in the teardown and then ends lets run() return") {
    auto finite = weft::test::run_child([] {
        return weft::run([] {
            weft::spawn(weft::spawn_options{.name = "cleanup"}, [] {
                try {
                    weft::this_fiber::sleep_for(1h);
                } catch (...) {
                }
                for (int i = 0; i < 5; ++i) try {
                        weft::this_fiber::sleep_for(1ms);
                    } catch (...) {
                    }
            }).detach();
            weft::this_fiber::sleep_for(10ms);
            return 7;
        });
    });
    INFO(finite.output);
    CHECK(finite.exit_code == 7);
    CHECK_THAT(finite.output, !Catch::Contains("keeps blocking"));
}
