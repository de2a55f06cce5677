// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using weft::net::address;
using weft::net::tcp_listener;
using weft::net::tcp_stream;

namespace {

using weft::test::error_of;

std::chrono::microseconds cpu_time() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](timeval t) { return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec); };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

}  // namespace

TEST_CASE("bind to port 0 picks a port; accept returns the client's connection", "[tcp_listener]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        CHECK(l.is_open());
        address at = l.local_address();
        CHECK(at.port() != 0);
        CHECK(at.is_loopback());
        auto acceptor = weft::spawn([&] { return l.accept(); });
        weft::this_fiber::yield();  // parked in accept
        auto c = tcp_stream::connect(at, 2s);
        tcp_stream s = std::move(acceptor).join();
        CHECK(s.remote_address() == c.local_address());
        CHECK(::fcntl(s.native_handle(), F_GETFL) & O_NONBLOCK);
        CHECK(::fcntl(s.native_handle(), F_GETFD) & FD_CLOEXEC);
        s.write_all("hi");
        std::string buf(2, '\0');
        c.read_exact(buf);
        CHECK(buf == "hi");
    });
}

TEST_CASE("IPv6 loopback: [::1]:0", "[tcp_listener][ipv6]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::parse("[::1]:0"));
        address at = l.local_address();
        CHECK(at.is_v6());
        CHECK(at.port() != 0);
        auto c = tcp_stream::connect("::1", at.port(), 2s);
        auto s = l.accept(2s);
        CHECK(s.remote_address().is_v6());
        auto c2 = tcp_stream::connect("[::1]", at.port(), 2s);
        CHECK(c2.remote_address() == at);
    });
}

TEST_CASE("accept times out with timeout_error and works afterwards", "[tcp_listener][timeout]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        auto start = weft::clock::now();
        CHECK_THROWS_AS(l.accept(30ms), weft::timeout_error);
        CHECK(weft::clock::now() - start >= 30ms);
        std::error_code ec;
        tcp_stream none = l.accept(1ms, ec);
        CHECK(ec == weft::errc::timed_out);
        CHECK_FALSE(none.is_open());
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { l.accept(); }), weft::timeout_error);
        auto c = tcp_stream::connect(l.local_address(), 2s);
        auto s = l.accept(1s, ec);
        CHECK_FALSE(ec);
        CHECK(s.is_open());
    });
}

TEST_CASE("cancelling a parked accept throws cancelled and keeps the listener", "[tcp_listener][cancel]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        auto acceptor = weft::spawn([&] { return l.accept(); });
        weft::this_fiber::sleep_for(5ms);
        CHECK(acceptor.state() == weft::task_state::suspended);
        acceptor.cancel();
        CHECK_THROWS_AS(acceptor.join(), weft::cancelled);
        CHECK(l.is_open());
        auto c = tcp_stream::connect(l.local_address(), 2s);
        CHECK(l.accept(1s).is_open());
    });
}

TEST_CASE("close() wakes a parked accept with EBADF", "[tcp_listener]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        auto acceptor = weft::spawn([&] {
            std::error_code ec;
            l.accept(ec);
            return ec;
        });
        weft::this_fiber::sleep_for(5ms);
        l.close();
        CHECK(acceptor.join() == std::errc::bad_file_descriptor);
        CHECK_FALSE(l.is_open());
        CHECK(error_of([&] { l.accept(); }).code() == std::errc::bad_file_descriptor);
        tcp_listener empty;
        CHECK(error_of([&] { empty.accept(1ms); }).code() == std::errc::bad_file_descriptor);
    });
}

TEST_CASE("a used port is address_in_use unless both ask for reuse_port", "[tcp_listener]") {
    weft::test::run_bounded(10s, [] {
        auto a = tcp_listener::bind(address::loopback());
        auto e = error_of([&] { tcp_listener::bind(a.local_address()); });
        CHECK(e.code() == std::errc::address_in_use);
        CHECK_THAT(e.what(), Catch::Contains(a.local_address().to_string()));
        std::error_code ec;
        tcp_listener::bind(a.local_address(), 16, {}, ec);
        CHECK(ec == std::errc::address_in_use);

        auto r1 = tcp_listener::bind(address::loopback(), 16, {.reuse_port = true});
        auto r2 = tcp_listener::bind(r1.local_address(), 16, {.reuse_port = true});
        CHECK(r2.local_address() == r1.local_address());
    });
}

TEST_CASE("an aborted connection in the backlog is skipped", "[tcp_listener]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        {
            auto gone = tcp_stream::connect(l.local_address(), 2s);
            ::linger lg{1, 0};
            REQUIRE(::setsockopt(gone.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
        }  // reset while still queued: Linux may hand it out anyway; reading it then says so
        auto c = tcp_stream::connect(l.local_address(), 2s);
        c.write_all("x");
        std::string buf(1, '\0');
        for (int i = 0; i < 2; ++i) {
            auto s = l.accept(1s);
            std::error_code ec;
            if (s.read_some(buf, 1s, ec) == 1 && !ec) break;
            CHECK(ec == std::errc::connection_reset);
        }
        CHECK(buf == "x");
    });
}

// Runs in a child process (see the next case): it lowers RLIMIT_NOFILE.
TEST_CASE("accept under EMFILE backs off and then accepts", "[.][emfile-child]") {
    weft::test::run_bounded(20s, [] {
        auto l = tcp_listener::bind(address::loopback());
        auto client = tcp_stream::connect(l.local_address(), 2s);  // now queued in the backlog
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
        rlimit low = saved;
        low.rlim_cur = static_cast<rlim_t>(weft::test::open_fds() + 16);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
        std::vector<int> fillers;
        for (;;) {
            int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0) break;
            fillers.push_back(fd);
        }
        REQUIRE(errno == EMFILE);

        auto acceptor = weft::spawn([&] { return l.accept(10s); });
        auto cpu_before = cpu_time();
        weft::this_fiber::sleep_for(300ms);
        auto cpu = cpu_time() - cpu_before;
        // Backing off: neither accepted nor failed.
        CHECK(acceptor.state() == weft::task_state::suspended);
        INFO("CPU time over 300 ms of EMFILE: " << cpu.count() << " us");
        CHECK(cpu < 100ms);

        for (int fd : fillers) ::close(fd);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
        tcp_stream s = std::move(acceptor).join();  // within the 200 ms back-off cap
        client.write_all("late but whole");
        std::string buf(14, '\0');
        s.read_exact(buf, 2s);
        CHECK(buf == "late but whole");
    });
}

TEST_CASE("out of fds, accept neither spins nor drops the pending connection", "[tcp_listener][emfile]") {
    weft::test::run_bounded(60s, [] {
        auto r = weft::test::run_self({"accept under EMFILE backs off and then accepts"}, 50s);
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.output, Catch::Contains("All tests passed"));
    });
}
