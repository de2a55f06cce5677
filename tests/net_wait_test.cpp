// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <weft/net/wait.hpp>

#include "detail/io_wait.hpp"
#include "detail/runtime.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

namespace {

// A non-blocking socketpair, closed on scope exit.
struct pair_fds {
    int a = -1, b = -1;
    pair_fds() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        a = fds[0];
        b = fds[1];
    }
    ~pair_fds() {
        ::close(a);
        ::close(b);
    }
};

ssize_t put(int fd, const std::string& s) { return ::write(fd, s.data(), s.size()); }

}  // namespace

TEST_CASE("a parked reader wakes when its peer writes", "[reactor]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto reader = weft::spawn([&] {
            weft::net::wait_readable(p.a);
            char c = 0;
            REQUIRE(::read(p.a, &c, 1) == 1);
            return c;
        });
        weft::this_fiber::yield();  // the reader is parked on p.a now
        CHECK(reader.state() == weft::task_state::suspended);
        REQUIRE(put(p.b, "x") == 1);
        CHECK(reader.join() == 'x');
    });
}

TEST_CASE("wait_readable returns false on timeout and the fd still works", "[reactor]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto start = weft::clock::now();
        CHECK_FALSE(weft::net::wait_readable(p.a, 20ms));
        CHECK(weft::clock::now() - start >= 20ms);
        REQUIRE(put(p.b, "y") == 1);
        CHECK(weft::net::wait_readable(p.a, 1s));
        std::error_code ec;
        CHECK(weft::net::wait_readable(p.a, 1s, ec));
        CHECK_FALSE(ec);
    });
}

TEST_CASE("an enclosing with_timeout ends an fd wait with timeout_error", "[reactor][timeout]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { weft::net::wait_readable(p.a); }), weft::timeout_error);
        std::error_code ec;
        weft::with_timeout(10ms, [&] { weft::net::wait_readable(p.a, 1h, ec); });
        CHECK(ec == weft::errc::timed_out);
        CHECK(ec == std::errc::timed_out);
    });
}

TEST_CASE("cancelling a fiber parked on an fd throws cancelled and closes nothing", "[reactor][cancel]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto t = weft::spawn([&] { weft::net::wait_readable(p.a); });
        weft::this_fiber::yield();
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(::fcntl(p.a, F_GETFD) >= 0);  // still open
        REQUIRE(put(p.b, "z") == 1);
        CHECK(weft::net::wait_readable(p.a, 1s));
    });
}

TEST_CASE("a second reader of the same fd gets EBUSY", "[reactor]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto first = weft::spawn([&] { return weft::net::wait_readable(p.a, 1s); });
        weft::this_fiber::yield();
        try {
            weft::net::wait_readable(p.a, 1s);
            FAIL("a second reader was let in");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::device_or_resource_busy);
        }
        REQUIRE(put(p.b, "!") == 1);
        CHECK(first.join());
    });
}

TEST_CASE("a writer parked on a full buffer wakes when the peer drains it", "[reactor]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        std::string chunk(4096, 'w');
        std::size_t queued = 0;
        while (true) {
            ssize_t n = put(p.a, chunk);
            if (n < 0) break;
            queued += static_cast<std::size_t>(n);
        }
        REQUIRE(errno == EAGAIN);
        auto writer = weft::spawn([&] { return weft::net::wait_writable(p.a, 2s); });
        weft::this_fiber::yield();
        std::string buf(65536, '\0');  // not on the 64 KiB fiber stack
        std::size_t drained = 0;
        while (drained < queued) {
            ssize_t n = ::read(p.b, buf.data(), buf.size());
            if (n <= 0) break;
            drained += static_cast<std::size_t>(n);
        }
        CHECK(drained == queued);
        CHECK(writer.join());
    });
}

TEST_CASE("io_wait reads more than one read takes: edges are never lost", "[reactor][io_wait]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto& r = weft::detail::current_reactor("test");
        REQUIRE(r.add(p.a) == 0);
        const std::string message(10'000, 'm');
        auto reader = weft::spawn([&] {
            std::string got;
            char buf[1000];
            while (got.size() < message.size()) {
                std::error_code ec;
                ssize_t n = weft::detail::io_wait(r, p.a, weft::detail::io_dir::read, weft::never, ec,
                                                  [&] { return ::read(p.a, buf, sizeof buf); });
                REQUIRE_FALSE(ec);
                got.append(buf, static_cast<std::size_t>(n));
            }
            return got;
        });
        weft::this_fiber::yield();  // parked: nothing to read yet
        REQUIRE(put(p.b, message.substr(0, 2500)) == 2500);
        weft::this_fiber::sleep_for(2ms);
        REQUIRE(put(p.b, message.substr(2500)) == 7500);
        CHECK(reader.join() == message);
        r.remove(p.a);
    });
}

TEST_CASE("a fiber waiting on an fd with no deadline is not a deadlock", "[reactor][deadlock]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto reader = weft::spawn([&] { weft::net::wait_readable(p.a); });
        auto writer = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            REQUIRE(put(p.b, "late") == 4);
        });
        reader.join();
        writer.join();
    });
}

TEST_CASE("waiting outside a fiber is a clear error", "[reactor]") {
    CHECK_THROWS_MATCHES(weft::net::wait_readable(0), std::system_error,
                         Catch::Matchers::Predicate<std::system_error>(
                             [](const auto& e) { return e.code() == weft::errc::no_scheduler; }));
    CHECK_THROWS_WITH(weft::net::wait_writable(0, 1s),
                      Catch::StartsWith("weft::net::wait_writable fd 0 must be called inside a fiber"));
    std::error_code ec;  // the error_code forms throw nothing, there either
    CHECK_FALSE(weft::net::wait_readable(0, 1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
}

TEST_CASE("waiting on a bad fd is a clear error", "[reactor]") {
    weft::test::run_bounded(5s, [] {
        try {
            weft::net::wait_readable(987654, 10ms);
            FAIL("no error");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::bad_file_descriptor);
        }
    });
}

TEST_CASE("a short read clears readiness but never hides the peer's hang-up", "[reactor][io_wait]") {
    weft::test::run_bounded(5s, [] {
        pair_fds p;
        auto& r = weft::detail::current_reactor("test");
        REQUIRE(r.add(p.a) == 0);
        auto reader = weft::spawn([&] {
            std::string got;
            char buf[1000];
            for (;;) {
                std::error_code ec;
                ssize_t n = weft::detail::io_wait(r, p.a, weft::detail::io_dir::read, weft::deadline_after(2s), ec,
                                                  [&] { return ::read(p.a, buf, sizeof buf); });
                REQUIRE_FALSE(ec);  // a timeout here would mean the EOF was lost
                if (n == 0) return got;
                got.append(buf, static_cast<std::size_t>(n));
                // A short read drained the socket: park next time instead of reading.
                if (static_cast<std::size_t>(n) < sizeof buf) r.clear_ready(p.a, weft::detail::io_dir::read);
            }
        });
        weft::this_fiber::yield();      // parked
        REQUIRE(put(p.b, "abc") == 3);  // data and the hang-up arrive in one edge
        REQUIRE(::shutdown(p.b, SHUT_WR) == 0);
        CHECK(reader.join() == "abc");
        r.remove(p.a);
    });
}
