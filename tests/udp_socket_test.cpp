// SPDX-License-Identifier: MIT
#include <array>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>
#include <weft/net/udp_socket.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
using weft::net::address;
using weft::net::udp_socket;

namespace {

// code_of(fn) runs fn and returns the code of the std::system_error it throws
// (an empty code when it throws nothing).
template <class Fn>
std::error_code code_of(Fn&& fn) {
    try {
        fn();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

std::string recv_text(udp_socket& s, address& from, std::chrono::nanoseconds timeout = 2s) {
    std::string buf(2048, '\0');
    buf.resize(s.recv_from(buf, from, timeout));
    return buf;
}

std::string recv_text(udp_socket& s, std::chrono::nanoseconds timeout = 2s) {
    std::string buf(2048, '\0');
    buf.resize(s.recv(buf, timeout));
    return buf;
}

// A port on loopback that nobody listens on now (bound, read back, closed).
address closed_port(address::family f) {
    auto s = udp_socket::bind(address::loopback(0, f));
    address a = s.local_address();
    s.close();
    return a;
}

}  // namespace

TEST_CASE("a datagram makes a round trip between two fibers on loopback", "[udp]") {
    auto fam = GENERATE(address::family::v4, address::family::v6);
    weft::test::run_bounded(5s, [fam] {
        auto server = udp_socket::bind(address::loopback(0, fam));
        const address server_addr = server.local_address();
        CHECK(server_addr.fam() == fam);
        CHECK(server_addr.is_loopback());
        CHECK(server_addr.port() != 0);

        auto echo = weft::spawn([&] {
            address from;
            std::string got = recv_text(server, from);
            CHECK(server.send_to(got, from) == got.size());
            return from;
        });
        auto client = udp_socket::bind(address::loopback(0, fam));
        CHECK(client.send_to("ping", server_addr) == 4);  // a literal's '\0' is not sent
        address from;
        CHECK(recv_text(client, from) == "ping");
        CHECK(from == server_addr);
        CHECK(echo.join() == client.local_address());
    });
}

// Text goes through the string_view forms (a literal without its '\0'),
// other contiguous chars through the span forms; none is ambiguous.
template <class Data>
constexpr bool sendable = requires(udp_socket& s, const Data& d, const address& a, std::error_code& ec) {
    s.send_to(d, a);
    s.send_to(d, a, 1s);
    s.send_to(d, a, ec);
    s.send_to(d, a, 1s, ec);
    s.send(d);
    s.send(d, 1s);
    s.send(d, ec);
    s.send(d, 1s, ec);
};
static_assert(sendable<char[5]> && sendable<const char*> && sendable<std::string> && sendable<std::string_view> &&
              sendable<std::vector<char>> && sendable<std::array<char, 4>> && sendable<std::span<char>> &&
              sendable<std::span<const char>>);
static_assert(!sendable<int> && !sendable<std::vector<int>>);

TEST_CASE("an unbound socket gets a port from its first send_to", "[udp]") {
    weft::test::run_bounded(5s, [] {
        auto server = udp_socket::bind(address::loopback());
        auto client = udp_socket::open(address::family::v4);
        CHECK(client.local_address().port() == 0);
        std::vector<char> bytes{'a', '\0', 'b'};  // bytes, not text: the '\0' goes too
        CHECK(client.send_to(bytes, server.local_address()) == 3);
        address from;
        CHECK(recv_text(server, from) == std::string("a\0b", 3));
        CHECK(from.port() == client.local_address().port());
        CHECK(from.port() != 0);
    });
}

TEST_CASE("an empty datagram is received as 0 bytes", "[udp]") {
    weft::test::run_bounded(5s, [] {
        auto a = udp_socket::bind(address::loopback());
        auto b = udp_socket::bind(address::loopback());
        CHECK(a.send_to(std::string_view(), b.local_address()) == 0);
        address from;
        CHECK(recv_text(b, from).empty());
        CHECK(from == a.local_address());
    });
}

TEST_CASE("recv's own timeout throws timeout_error and the socket still works", "[udp][timeout]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback());
        std::string buf(64, '\0');
        address from;
        auto start = weft::clock::now();
        CHECK_THROWS_AS(s.recv_from(buf, from, 20ms), weft::timeout_error);
        auto waited = weft::clock::now() - start;
        CHECK(waited >= 20ms);
        CHECK(waited < 2s);

        std::error_code ec;
        CHECK(s.recv_from(buf, from, 5ms, ec) == 0);
        CHECK(ec == weft::errc::timed_out);
        CHECK(ec == std::errc::timed_out);
        CHECK_THROWS_AS(s.recv(buf, 0ms), weft::timeout_error);  // a zero timeout waits for nothing

        s.send_to("again", s.local_address());
        CHECK(recv_text(s, from) == "again");
        CHECK(from == s.local_address());
    });
}

TEST_CASE("an enclosing with_timeout ends recv with timeout_error", "[udp][timeout]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback(0, address::family::v6));
        std::string buf(64, '\0');
        address from;
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { s.recv_from(buf, from); }), weft::timeout_error);
        // The shorter of the two deadlines wins, whichever it is.
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { s.recv(buf, 1h); }), weft::timeout_error);
        std::error_code ec;
        weft::with_timeout(10ms, [&] { s.recv_from(buf, from, 1h, ec); });
        CHECK(ec == weft::errc::timed_out);

        s.send_to("after", s.local_address());
        CHECK(weft::with_timeout(1s, [&] { return recv_text(s, from); }) == "after");
    });
}

TEST_CASE("cancelling a fiber parked in recv throws cancelled and keeps the socket", "[udp][cancel]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback());
        auto t = weft::spawn([&] {
            std::string buf(64, '\0');
            return s.recv(buf);
        });
        weft::this_fiber::yield();  // t is parked in recv now
        CHECK(t.state() == weft::task_state::suspended);
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(t.state() == weft::task_state::cancelled);

        CHECK(s.is_open());
        s.send_to("still here", s.local_address());
        CHECK(recv_text(s) == "still here");
    });
}

TEST_CASE("close() wakes a parked receiver with bad_file_descriptor", "[udp][closed]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback());
        auto t = weft::spawn([&] {
            std::string buf(64, '\0');
            std::error_code ec;
            s.recv(buf, ec);
            return ec;
        });
        weft::this_fiber::yield();
        s.close();
        CHECK(t.join() == std::errc::bad_file_descriptor);
        CHECK_FALSE(s.is_open());
        CHECK(s.native_handle() == -1);
        s.close();  // twice is harmless
    });
}

TEST_CASE("calls on a closed or moved-from socket fail with bad_file_descriptor", "[udp][closed]") {
    weft::test::run_bounded(5s, [] {
        auto a = udp_socket::bind(address::loopback());
        const address to = a.local_address();
        udp_socket b = std::move(a);
        CHECK(b.is_open());
        CHECK_FALSE(a.is_open());  // moved from
        udp_socket closed;
        char c = 0;
        address from;
        for (udp_socket* s : {&a, &closed}) {
            CHECK(code_of([&] { s->send_to("x", to); }) == std::errc::bad_file_descriptor);
            CHECK(code_of([&] { s->send("x"); }) == std::errc::bad_file_descriptor);
            CHECK(code_of([&] { s->recv_from({&c, 1}, from, 1s); }) == std::errc::bad_file_descriptor);
            CHECK(code_of([&] { s->recv({&c, 1}); }) == std::errc::bad_file_descriptor);
            CHECK(code_of([&] { s->connect(to); }) == std::errc::bad_file_descriptor);
            CHECK(code_of([&] { s->local_address(); }) == std::errc::bad_file_descriptor);
        }
        b = udp_socket();  // move-assigning closes what b held
        CHECK_FALSE(b.is_open());
    });
}

TEST_CASE("a second fiber receiving on the same socket gets EBUSY", "[udp]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback());
        auto first = weft::spawn([&] { return recv_text(s); });
        weft::this_fiber::yield();
        std::string buf(8, '\0');
        CHECK(code_of([&] { s.recv(buf, 1s); }) == std::errc::device_or_resource_busy);
        s.send_to("first", s.local_address());
        CHECK(first.join() == "first");
    });
}

TEST_CASE("connected sockets send and recv with their peer only", "[udp][connect]") {
    auto fam = GENERATE(address::family::v4, address::family::v6);
    weft::test::run_bounded(5s, [fam] {
        auto a = udp_socket::bind(address::loopback(0, fam));
        auto b = udp_socket::bind(address::loopback(0, fam));
        auto stranger = udp_socket::bind(address::loopback(0, fam));
        a.connect(b.local_address());
        b.connect(a.local_address());
        CHECK(a.remote_address() == b.local_address());

        stranger.send_to("noise", a.local_address());  // a is connected to b: the kernel drops this
        auto reader = weft::spawn([&] { return recv_text(a); });
        CHECK(b.send("hello") == 5);
        CHECK(reader.join() == "hello");

        std::error_code ec;
        CHECK(a.send(std::string("back"), 1s, ec) == 4);
        CHECK_FALSE(ec);
        CHECK(recv_text(b) == "back");
        address from;
        CHECK(a.recv_from(std::span<char>(), from, 0ms, ec) == 0);  // nothing else came
        CHECK(ec == weft::errc::timed_out);
    });
}

TEST_CASE("send() on a socket that is not connected is a clear error", "[udp][connect]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::bind(address::loopback());
        CHECK(code_of([&] { s.send("x"); }) == std::errc::destination_address_required);
        CHECK(code_of([&] { s.remote_address(); }) == std::errc::not_connected);
    });
}

TEST_CASE("a connected socket whose peer port is closed reports connection_refused", "[udp][connect]") {
    auto fam = GENERATE(address::family::v4, address::family::v6);
    weft::test::run_bounded(5s, [fam] {
        auto s = udp_socket::open(fam);
        s.connect(closed_port(fam));
        CHECK(s.send("anyone?") == 7);  // the datagram leaves; the ICMP answer comes back
        std::string buf(64, '\0');
        CHECK(code_of([&] { s.recv(buf, 2s); }) == std::errc::connection_refused);

        // The refusal is reported once; the error_code form sees the next one,
        // this time after the loop has polled (and seen EPOLLERR) meanwhile.
        s.send("still?");
        weft::this_fiber::sleep_for(5ms);
        std::error_code ec;
        CHECK(s.recv(buf, 2s, ec) == 0);
        CHECK(ec == std::errc::connection_refused);
    });
}

// An ICMP error is transient on UDP (the recv that reports it clears it): the
// reactor must not keep the socket "ready" after it, or the next recv would
// spin on EAGAIN instead of parking.
TEST_CASE("a socket waits again after a refusal was reported", "[udp][connect]") {
    weft::test::run_bounded(5s, [] {
        auto s = udp_socket::open(address::family::v4);
        s.connect(closed_port(address::family::v4));
        s.send("anyone?");
        weft::this_fiber::sleep_for(5ms);  // the loop polls and sees EPOLLERR
        std::string buf(64, '\0');
        CHECK(code_of([&] { s.recv(buf, 2s); }) == std::errc::connection_refused);
        // Nothing is pending now: recv must park and time out.
        CHECK_THROWS_AS(s.recv(buf, 20ms), weft::timeout_error);
        auto peer = udp_socket::bind(address::loopback());
        s.connect(peer.local_address());
        peer.send_to("back", s.local_address());
        CHECK(recv_text(s) == "back");
    });
}

TEST_CASE("a datagram larger than the buffer is a message_size error", "[udp][truncated]") {
    weft::test::run_bounded(5s, [] {
        auto a = udp_socket::bind(address::loopback());
        auto b = udp_socket::bind(address::loopback());
        const std::string big(100, 'x');
        std::string buf(10, '\0');
        address from;

        a.send_to(big, b.local_address());
        CHECK(code_of([&] { b.recv_from(buf, from, 1s); }) == std::errc::message_size);
        CHECK(from == a.local_address());  // set even so
        CHECK(buf == std::string(10, 'x'));

        a.send_to("0123456789abc", b.local_address());
        std::error_code ec;
        CHECK(b.recv_from(buf, from, 1s, ec) == 10);  // the error_code form returns the prefix's size
        CHECK(ec == std::errc::message_size);
        CHECK(buf == "0123456789");

        a.send_to("0123456789", b.local_address());  // exactly fits: no error
        CHECK(b.recv_from(buf, from, 1s, ec) == 10);
        CHECK_FALSE(ec);

        b.connect(a.local_address());
        a.send_to(big, b.local_address());
        CHECK(code_of([&] { b.recv(buf, 1s); }) == std::errc::message_size);
        a.send_to("next",
                  b.local_address());  // the rest of the big one is gone, not read as a datagram
        CHECK(recv_text(b) == "next");
    });
}

TEST_CASE("datagrams queued before one wake-up are all received", "[udp][readiness]") {
    weft::test::run_bounded(5s, [] {
        auto r = udp_socket::bind(address::loopback());
        auto w = udp_socket::bind(address::loopback());
        auto reader = weft::spawn([&] {
            std::vector<std::string> got;
            // Each datagram is a "short read" of the buffer; none drains the
            // socket, so the second and third recv must not park.
            for (int i = 0; i < 3; ++i) got.push_back(recv_text(r, 1s));
            return got;
        });
        weft::this_fiber::yield();  // parked on EAGAIN: the next edge wakes it once
        for (const char* m : {"one", "two", "three"}) w.send_to(m, r.local_address());
        CHECK(reader.join() == std::vector<std::string>{"one", "two", "three"});
    });
}

TEST_CASE("a thousand datagrams from several sender fibers all arrive", "[udp][load]") {
    weft::test::run_bounded(20s, [] {
        constexpr int senders = 4;
        constexpr int each = 250;
        auto sink = udp_socket::bind(address::loopback());
        const address to = sink.local_address();

        auto receiver = weft::spawn([&] {
            std::set<std::string> got;
            std::string buf(64, '\0');
            address from;
            while (got.size() < senders * each) {
                std::size_t n = sink.recv_from(buf, from, 5s);
                got.insert(buf.substr(0, n));
            }
            return got;
        });
        std::vector<weft::task<void>> tasks;
        for (int id = 0; id < senders; ++id)
            tasks.push_back(weft::spawn([id, to] {
                auto s = udp_socket::open(address::family::v4);
                for (int i = 0; i < each; ++i) {
                    s.send_to(std::to_string(id) + ":" + std::to_string(i), to);
                    // UDP drops what overflows the receive buffer: let the receiver keep up.
                    weft::this_fiber::yield();
                }
            }));
        for (auto& t : tasks) t.join();
        std::set<std::string> got = receiver.join();
        CHECK(got.size() == senders * each);
        CHECK(got.count("0:0") == 1);
        CHECK(got.count("3:249") == 1);
    });
}

TEST_CASE("bind and open report clear errors", "[udp]") {
    CHECK(code_of([] { udp_socket::bind(address::loopback()); }) == weft::errc::no_scheduler);
    std::error_code ec;
    CHECK_FALSE(udp_socket::open(address::family::v4, ec).is_open());
    CHECK(ec == weft::errc::no_scheduler);
    weft::test::run_bounded(5s, [] {
        // 192.0.2.1 (TEST-NET-1) is no address of this machine.
        CHECK(code_of([] { udp_socket::bind(address::parse("192.0.2.1:0")); }) == std::errc::address_not_available);
        std::error_code ec2;
        auto s = udp_socket::bind(address::parse("192.0.2.1:0"), ec2);
        CHECK(ec2 == std::errc::address_not_available);
        CHECK_FALSE(s.is_open());
    });
}

TEST_CASE("the error_code forms never throw: outside a fiber they say no_scheduler", "[udp][rule]") {
    udp_socket kept;  // outlives its run(): plain run(), not run_bounded's fd check
    weft::run([&] { kept = udp_socket::bind(address::loopback()); });
    std::error_code ec;
    char buf[8];
    for (udp_socket* s : {&kept, static_cast<udp_socket*>(nullptr)}) {
        udp_socket none;
        udp_socket& u = s ? *s : none;
        address from;
        CHECK_NOTHROW(u.recv_from(buf, from, ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(u.recv(buf, 1s, ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(u.send_to("x", address::loopback(9), ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(u.connect(address::loopback(9), ec));
        CHECK(ec == weft::errc::no_scheduler);
    }
    CHECK_NOTHROW(udp_socket::bind(address::loopback(), ec));
    CHECK(ec == weft::errc::no_scheduler);
}

TEST_CASE("udp timeouts: zero answers what is there, and the error names the call", "[udp][timeout][rule]") {
    weft::test::run_bounded(5s, [] {
        auto a = udp_socket::bind(address::loopback());
        auto b = udp_socket::bind(address::loopback());
        char buf[16];
        CHECK_THROWS_WITH(a.recv(buf, 0s), "weft::net::udp_socket::recv (timeout 0 s): deadline passed");
        b.send_to("hi", a.local_address());
        weft::this_fiber::sleep_for(5ms);
        CHECK(a.recv(buf, 0s) == 2);
        address from;
        CHECK_THROWS_WITH(a.recv_from(buf, from, 3ms),
                          "weft::net::udp_socket::recv_from (timeout 3 ms): deadline passed");
    });
}
