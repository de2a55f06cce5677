// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/wait.hpp>
#include <weft/task.hpp>
#include <weft/this_fiber.hpp>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"
#include "weft/dns/resolve.hpp"

using namespace std::chrono_literals;
using weft::net::address;
using weft::net::tcp_listener;
using weft::net::tcp_stream;

namespace {

// A connected pair over loopback: `client` from connect(), `server` from accept().
struct pair {
    tcp_stream client, server;
};

// connected_to(l) is a pair whose server end l accepted.
pair connected_to(tcp_listener& l) {
    pair p;
    // The kernel completes the handshake; accept() need not run first.
    p.client = tcp_stream::connect(l.local_address(), 5s);
    p.server = l.accept(5s);
    return p;
}

pair connected(address::family f = address::family::v4) {
    auto l = tcp_listener::bind(address::loopback(0, f));
    return connected_to(l);
}

void set_int(int fd, int level, int opt, int v) { REQUIRE(::setsockopt(fd, level, opt, &v, sizeof v) == 0); }

// pattern(n) is n bytes that show where a byte went missing or came twice.
std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

bool is_open_fd(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// parked_reader(s) is a fiber parked in s.read_some() (its task gives the
// read's error_code), once it has had time to park.
weft::task<std::error_code> parked_reader(tcp_stream& s) {
    auto reader = weft::spawn([&s] {
        std::string buf(4, '\0');
        std::error_code ec;
        s.read_some(buf, ec);
        return ec;
    });
    weft::this_fiber::sleep_for(5ms);
    return reader;
}

using weft::test::error_of;

}  // namespace

TEST_CASE("connect, write, read back; both ends know each other's address", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        CHECK(c.is_open());
        CHECK(c.remote_address() == s.local_address());
        CHECK(s.remote_address() == c.local_address());
        CHECK(c.remote_address().is_loopback());
        c.set_nodelay(true);
        c.write_all("ping");
        std::string buf(4, '\0');
        s.read_exact(buf);
        CHECK(buf == "ping");
        std::vector<char> v{'p', 'o', 'n', 'g'};
        s.write_all(v);  // a vector of char goes through the char_bytes form
        CHECK(c.read_some(buf) == 4);
        CHECK(buf == "pong");
    });
}

TEST_CASE("a thousand connections echo 64 KiB each, concurrently", "[tcp_stream][load]") {
    rlimit rl{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < 2200 && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(rl.rlim_max, 4096);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    const int conns = rl.rlim_cur >= 2200 ? 1000 : static_cast<int>(rl.rlim_cur - 200) / 2;
    if (conns < 1000) WARN("RLIMIT_NOFILE hard limit is " << rl.rlim_max << ": " << conns << " connections");
    weft::test::run_bounded(90s, [conns] {
        const std::string payload = pattern(64 * 1024);
        auto listener = tcp_listener::bind(address::loopback());
        auto server = weft::spawn([&] {
            std::vector<weft::task<void>> handlers;
            for (int i = 0; i < conns; ++i)
                handlers.push_back(weft::spawn(
                    [](tcp_stream s) {
                        std::string buf(8192, '\0');
                        while (std::size_t n = s.read_some(buf)) s.write_all(std::string_view(buf.data(), n));
                    },
                    listener.accept()));
            for (auto& h : handlers) h.join();
        });
        std::vector<weft::task<bool>> clients;
        for (int i = 0; i < conns; ++i)
            clients.push_back(weft::spawn([&] {
                auto c = tcp_stream::connect(listener.local_address(), 30s);
                auto writer = weft::spawn([&] {
                    c.write_all(payload);
                    c.shutdown();
                });
                std::string back(payload.size(), '\0');
                c.read_exact(back);
                std::string rest(16, '\0');
                bool eof = c.read_some(rest) == 0;
                writer.join();
                return eof && back == payload;
            }));
        int ok = 0;
        for (auto& t : clients) ok += t.join() ? 1 : 0;
        server.join();
        CHECK(ok == conns);
    });
}

TEST_CASE("tiny socket buffers: every write and read is partial, no byte is lost", "[tcp_stream]") {
    weft::test::run_bounded(30s, [] {
        auto [c, s] = connected();
        set_int(c.native_handle(), SOL_SOCKET, SO_SNDBUF, 4096);
        set_int(s.native_handle(), SOL_SOCKET, SO_RCVBUF, 4096);
        const std::string data = pattern(128 * 1024);
        auto writer = weft::spawn([&] { c.write_all(data); });
        std::string got, buf(1000, '\0');
        int reads = 0;
        while (got.size() < data.size()) {
            std::size_t n = s.read_some(buf);
            REQUIRE(n > 0);
            got.append(buf.data(), n);
            ++reads;
        }
        writer.join();
        CHECK(got == data);
        CHECK(reads > 20);
        // And the other way round, into one big read_exact.
        auto back = weft::spawn([&] { s.write_all(data); });
        std::string all(data.size(), '\0');
        c.read_exact(all);
        back.join();
        CHECK(all == data);
    });
}

TEST_CASE("a connect whose handshake is over when connect() returns does not park", "[tcp_stream]") {
    // On loopback the kernel runs the whole handshake within the first
    // connect(): asking again says it is done, so the fiber goes on without
    // waiting for writability (another fiber that is ready does not run in
    // between), and the stream works at once, both ways, over v4 and v6.
    weft::test::run_bounded(10s, [] {
        for (auto f : {address::family::v4, address::family::v6}) {
            auto l = tcp_listener::bind(address::loopback(0, f));
            bool other_ran = false;
            auto other = weft::spawn([&] { other_ran = true; });
            tcp_stream c = tcp_stream::connect(l.local_address(), 5s);
            CHECK_FALSE(other_ran);
            CHECK(c.remote_address() == l.local_address());
            other.join();
            tcp_stream s = l.accept(5s);
            c.write_all("hello");
            std::string buf(5, '\0');
            s.read_exact(buf, 5s);
            CHECK(buf == "hello");
            s.write_all("back");
            buf.assign(4, '\0');
            c.read_exact(buf, 5s);
            CHECK(buf == "back");
        }
    });
}

TEST_CASE("a fiber whose connects never park still lets the others run", "[tcp_stream]") {
    // Refused at once on loopback, a connect retried in a loop never parks;
    // like every I/O call it takes its turn, so another ready fiber runs
    // after at most an I/O budget's worth of them.
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        address to = l.local_address();
        l.close();
        bool other_ran = false;
        auto other = weft::spawn([&] { other_ran = true; });
        int refused = 0;
        while (!other_ran) {
            std::error_code ec;
            tcp_stream::connect(to, 2s, ec);
            REQUIRE(ec == std::errc::connection_refused);
            REQUIRE(++refused < 20000);
        }
        CHECK(refused < 1000);
        other.join();
    });
}

TEST_CASE("connecting to a closed port is refused", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback());
        address to = l.local_address();
        l.close();
        std::error_code ec;
        tcp_stream c = tcp_stream::connect(to, 2s, ec);
        CHECK(ec == std::errc::connection_refused);
        CHECK_FALSE(c.is_open());
        auto e = error_of([&] { tcp_stream::connect(to); });
        CHECK(e.code() == std::errc::connection_refused);
        CHECK_THAT(e.what(), Catch::Contains(to.to_string()));
    });
}

TEST_CASE("connect takes numeric hosts and names, and tries each address", "[tcp_stream][dns]") {
    weft::test::run_bounded(10s, [] {
        // No query may leave the machine: the resolver asks a closed local port,
        // and "localhost" comes from /etc/hosts.
        std::uint16_t closed_port = tcp_listener::bind(address::loopback()).local_address().port();
        weft::dns::options o;
        o.servers = {"127.0.0.1:" + std::to_string(closed_port)};
        o.timeout = 300ms;
        weft::dns::set_default_options(o);

        auto l = tcp_listener::bind(address::loopback());
        const auto port = l.local_address().port();
        auto numeric = tcp_stream::connect("127.0.0.1", port, 2s);
        CHECK(numeric.remote_address() == l.local_address());
        auto by_name = tcp_stream::connect("localhost", port, 2s);
        CHECK(by_name.remote_address().is_loopback());
        CHECK(by_name.remote_address().port() == port);
        auto s1 = l.accept(1s);
        auto s2 = l.accept(1s);

        std::error_code ec;
        CHECK_FALSE(tcp_stream::connect("no-such-name.invalid", 80, 2s, ec).is_open());
        CHECK(ec.category() == weft::dns::error_category());
        auto e = error_of([&] { tcp_stream::connect("no-such-name.invalid", 80, 2s); });
        CHECK_THAT(e.what(), Catch::Contains("no-such-name.invalid:80"));
    });
}

TEST_CASE("a peer reset mid-read is connection_reset", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        auto reader = weft::spawn([&] {
            std::string buf(100, '\0');
            return c.read_some(buf);
        });
        weft::this_fiber::sleep_for(10ms);  // the reader is parked
        CHECK(reader.state() == weft::task_state::suspended);
        ::linger lg{1, 0};
        REQUIRE(::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
        s.close();  // sends RST
        auto e = error_of([&] { reader.join(); });
        CHECK(e.code() == std::errc::connection_reset);
        CHECK_THAT(e.what(), Catch::Contains("read_some"));
    });
}

TEST_CASE("EOF: read_some returns 0; the closing side can still read", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        c.write_all("last words");
        c.shutdown();
        std::string buf(64, '\0'), got;
        while (std::size_t n = s.read_some(buf)) got.append(buf.data(), n);
        CHECK(got == "last words");
        CHECK(s.read_some(buf) == 0);  // and again: EOF stays
        s.write_all("reply");
        CHECK(c.read_some(buf) == 5);
        s.close();
        CHECK(c.read_some(buf) == 0);
    });
}

TEST_CASE("data and FIN in one readiness edge: a short read and then EOF without a hang", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        std::string buf(64, '\0');
        auto reader = weft::spawn([&] {
            std::size_t first = s.read_some(buf);  // parks: nothing sent yet
            return std::pair(first, s.read_some(buf, 2s));
        });
        weft::this_fiber::yield();
        c.write_all("tail");  // both arrive before the loop polls again
        c.shutdown();
        auto [first, second] = reader.join();
        CHECK(first == 4);
        CHECK(second == 0);
    });
}

TEST_CASE("writing to a closed peer is an error, not SIGPIPE", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        s.close();
        const std::string chunk(64 * 1024, 'x');
        std::error_code ec;
        for (int i = 0; i < 100 && !ec; ++i) c.write_all(chunk, ec);  // the first may fit; a later one fails
        CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
    });
}

TEST_CASE("read_exact: EOF before the end is a clear error", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        c.write_all("abc");
        c.shutdown();
        std::string buf(10, '\0');
        auto e = error_of([&] { s.read_exact(buf); });
        CHECK(e.code() == std::errc::no_message_available);
        CHECK_THAT(e.what(), Catch::Contains("peer closed after 3 of 10 bytes"));
        CHECK(buf.substr(0, 3) == "abc");
        std::error_code ec;
        CHECK(s.read_exact(buf, ec) == 0);
        CHECK(ec == std::errc::no_message_available);
    });
}

TEST_CASE("read_until hands out one message and keeps the surplus", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        c.write_all("a\nbb\r");
        std::string line;
        CHECK(s.read_until(line, "\n") == 2);
        CHECK(line == "a\n");
        auto late = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            c.write_all("\nccc");  // completes the "\r\n" split across two reads
            c.shutdown();
        });
        CHECK(s.read_until(line, "\r\n") == 4);
        CHECK(line == "bb\r\n");
        late.join();
        // "ccc" and then EOF: no delimiter; the bytes are kept, not lost.
        auto e = error_of([&] { s.read_until(line, "\n"); });
        CHECK(e.code() == std::errc::no_message_available);
        CHECK_THAT(e.what(), Catch::Contains("3 bytes"));
        std::string buf(10, '\0');
        CHECK(s.read_some(buf) == 3);
        CHECK(buf.substr(0, 3) == "ccc");
        CHECK(s.read_until(line, "\n") == 0);  // a clean EOF between messages
        CHECK(line.empty());
    });
}

TEST_CASE("read_until: no delimiter within max is message_size and loses nothing", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        c.write_all(std::string(100, 'x') + "\nnext\n");
        std::string line;
        auto e = error_of([&] { s.read_until(line, "\n", 50); });
        CHECK(e.code() == std::errc::message_size);
        CHECK_THAT(e.what(), Catch::Contains("within 50 bytes"));
        std::error_code ec;
        CHECK(s.read_until(line, "\n", 100, ec) == 0);  // the delimiter ends at byte 101
        CHECK(ec == std::errc::message_size);
        CHECK(s.read_until(line, "\n", 101) == 101);
        CHECK(line == std::string(100, 'x') + "\n");
        CHECK(s.read_until(line, "\n") == 5);
        CHECK(line == "next\n");
        CHECK(error_of([&] { s.read_until(line, ""); }).code() == std::errc::invalid_argument);
    });
}

TEST_CASE("a read's own timeout throws timeout_error and the stream still works", "[tcp_stream][timeout]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        std::string buf(16, '\0');
        auto start = weft::clock::now();
        CHECK_THROWS_AS(s.read_some(buf, 20ms), weft::timeout_error);
        CHECK(weft::clock::now() - start >= 20ms);
        std::error_code ec;
        CHECK(s.read_some(buf, 5ms, ec) == 0);
        CHECK(ec == weft::errc::timed_out);
        c.write_all("still here");
        CHECK(s.read_some(buf, 1s) == 10);
        std::string line;
        CHECK_THROWS_AS(s.read_until(line, "\n", 100, 5ms), weft::timeout_error);
    });
}

TEST_CASE("with_timeout ends a read with timeout_error", "[tcp_stream][timeout]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        std::string buf(16, '\0');
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { s.read_exact(buf); }), weft::timeout_error);
        std::error_code ec;
        weft::with_timeout(10ms, [&] { s.read_some(buf, 1h, ec); });
        CHECK(ec == weft::errc::timed_out);
        c.write_all("x");
        CHECK(s.read_some(buf) == 1);
    });
}

TEST_CASE("cancelling a parked read throws cancelled and closes nothing", "[tcp_stream][cancel]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        auto reader = weft::spawn([&] {
            std::string buf(16, '\0');
            s.read_some(buf);
        });
        weft::this_fiber::sleep_for(5ms);
        reader.cancel();
        CHECK_THROWS_AS(reader.join(), weft::cancelled);
        CHECK(s.is_open());
        CHECK(is_open_fd(s.native_handle()));
        c.write_all("ok");
        std::string buf(2, '\0');
        s.read_exact(buf);
        CHECK(buf == "ok");
    });
}

TEST_CASE("cancelling a write parked on a full buffer throws cancelled", "[tcp_stream][cancel]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        set_int(c.native_handle(), SOL_SOCKET, SO_SNDBUF, 4096);
        set_int(s.native_handle(), SOL_SOCKET, SO_RCVBUF, 4096);
        const std::string big(4 << 20, 'w');  // far more than both buffers hold
        auto writer = weft::spawn([&] { c.write_all(big); });
        weft::this_fiber::sleep_for(20ms);
        CHECK(writer.state() == weft::task_state::suspended);
        writer.cancel();
        CHECK_THROWS_AS(writer.join(), weft::cancelled);
        CHECK(c.is_open());
        CHECK(is_open_fd(c.native_handle()));
        std::string buf(1024, '\0');
        CHECK(s.read_some(buf) > 0);  // what was sent arrives
    });
}

TEST_CASE("a write's own timeout: timeout_error, or the count sent in the error_code form", "[tcp_stream][timeout]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        set_int(c.native_handle(), SOL_SOCKET, SO_SNDBUF, 4096);
        set_int(s.native_handle(), SOL_SOCKET, SO_RCVBUF, 4096);
        const std::string big(4 << 20, 'w');
        std::error_code ec;
        std::size_t sent = c.write_all(big, 20ms, ec);
        CHECK(ec == weft::errc::timed_out);
        CHECK(sent > 0);
        CHECK(sent < big.size());
        CHECK_THROWS_AS(c.write_all(big, 10ms), weft::timeout_error);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { c.write_all(big); }), weft::timeout_error);
        CHECK(c.is_open());
    });
}

TEST_CASE("a connect that cannot finish times out or is cancelled", "[tcp_stream][cancel][timeout]") {
    // A listener with backlog 0 holds one finished connection; the kernel then
    // drops further SYNs, so a second connect stays in SYN_SENT.
    weft::test::run_bounded(20s, [] {
        auto l = tcp_listener::bind(address::loopback(), 0);
        auto first = tcp_stream::connect(l.local_address(), 2s);
        std::error_code ec;
        tcp_stream third = tcp_stream::connect(l.local_address(), 100ms, ec);
        REQUIRE(ec == weft::errc::timed_out);
        CHECK_FALSE(third.is_open());
        CHECK_THROWS_AS(tcp_stream::connect(l.local_address(), 50ms), weft::timeout_error);
        int fds = weft::test::open_fds();
        auto connector = weft::spawn([&] { return tcp_stream::connect(l.local_address()); });
        weft::this_fiber::sleep_for(20ms);
        CHECK(connector.state() == weft::task_state::suspended);
        connector.cancel();
        CHECK_THROWS_AS(connector.join(), weft::cancelled);
        CHECK(weft::test::open_fds() == fds);  // its half-made socket is closed, nothing else
        CHECK(l.is_open());
        CHECK(first.is_open());
    });
}

TEST_CASE("a connect still going on after connect() returns parks until the handshake ends", "[tcp_stream]") {
    // Backlog 0 holds one finished connection and drops the next SYN, so the
    // second connect is still in SYN_SENT when connect() returns (asked
    // again, it says EALREADY): its fiber parks. Accepting the first makes
    // room, the SYN's retransmission (about 1 s later) gets through, and the
    // parked connect ends connected.
    weft::test::run_bounded(20s, [] {
        auto l = tcp_listener::bind(address::loopback(), 0);
        auto first = tcp_stream::connect(l.local_address(), 2s);
        auto second = weft::spawn([&] { return tcp_stream::connect(l.local_address(), 10s); });
        weft::this_fiber::sleep_for(50ms);
        REQUIRE(second.state() == weft::task_state::suspended);
        tcp_stream first_peer = l.accept(2s);
        tcp_stream c = std::move(second).join();
        tcp_stream s = l.accept(5s);
        c.write_all("late");
        std::string buf(4, '\0');
        s.read_exact(buf, 5s);
        CHECK(buf == "late");
        CHECK(first.is_open());
    });
}

TEST_CASE("a second reader of one stream gets EBUSY", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        auto first = weft::spawn([&] {
            std::string buf(4, '\0');
            return s.read_some(buf, 2s);
        });
        weft::this_fiber::sleep_for(5ms);
        std::string buf(4, '\0');
        auto e = error_of([&] { s.read_some(buf); });
        CHECK(e.code() == std::errc::device_or_resource_busy);
        c.write_all("go");
        CHECK(first.join() == 2);
    });
}

TEST_CASE("close() from another fiber wakes a parked reader with EBADF", "[tcp_stream]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        auto reader = parked_reader(s);
        s.close();
        CHECK(reader.join() == std::errc::bad_file_descriptor);
        CHECK_FALSE(s.is_open());
        CHECK(s.native_handle() == -1);
        tcp_stream moved = std::move(c);
        std::string buf(4, '\0');
        CHECK(error_of([&] { c.read_some(buf); }).code() == std::errc::bad_file_descriptor);
        CHECK(error_of([&] { c.write_all("x"); }).code() == std::errc::bad_file_descriptor);
        CHECK(moved.is_open());
    });
}

TEST_CASE("a socket closed under a parked reader: the next socket at its number can be waited on at once",
          "[tcp_stream]") {
    // The closed socket's reader is woken but has not run yet when the
    // closing fiber opens the next socket, which gets the same number, and
    // reads from it: that read parks as the only reader (not EBUSY).
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback(0));
        auto [c, s] = connected_to(l);
        auto reader = parked_reader(s);
        const int number = s.native_handle();
        s.close();
        auto [next, next_peer] = connected_to(l);
        REQUIRE(next.native_handle() == number);
        auto writer = weft::spawn([&] { next_peer.write_all("y"); });
        std::string buf(4, '\0');
        std::error_code ec;
        CHECK(next.read_some(buf, 5s, ec) == 1);
        CHECK_FALSE(ec);
        CHECK(buf[0] == 'y');
        writer.join();
        CHECK(reader.join() == std::errc::bad_file_descriptor);
    });
}

TEST_CASE("a socket closed while a copy of its descriptor lives: its events never wake the next socket at its number",
          "[tcp_stream]") {
    // Closing a socket leaves its removal from the epoll set to close(),
    // which does it only when no other descriptor (a dup, a forked child's
    // copy) holds the socket: until then its registration stays, and its
    // events name the fd number the next socket gets. They carry the old
    // registration's generation, and the reactor drops them.
    weft::test::run_bounded(10s, [] {
        auto l = tcp_listener::bind(address::loopback(0));
        auto [a, a_peer] = connected_to(l);
        const int number = a.native_handle();
        const int copy = ::dup(number);
        REQUIRE(copy > number);
        a.close();
        auto [b, b_peer] = connected_to(l);
        REQUIRE(b.native_handle() == number);                  // the lowest free number: the closed one
        a_peer.write_all("x");                                 // an edge on the old socket, still in the epoll set
        CHECK_FALSE(weft::net::wait_readable(number, 100ms));  // b has nothing to read
        char got = 0;
        CHECK(::recv(copy, &got, 1, 0) == 1);
        CHECK(got == 'x');
        b_peer.write_all("y");
        CHECK(weft::net::wait_readable(number, 5s));
        std::string buf(4, '\0');
        CHECK(b.read_some(buf, 5s) == 1);
        CHECK(buf[0] == 'y');
        ::close(copy);
    });
}

TEST_CASE("IPv6 loopback streams work", "[tcp_stream][ipv6]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected(address::family::v6);
        CHECK(c.remote_address().is_v6());
        c.write_all("six");
        std::string buf(3, '\0');
        s.read_exact(buf);
        CHECK(buf == "six");
    });
}

// --- one error rule and one timeout vocabulary (README, "What you can rely on") ---

TEST_CASE("the error_code forms never throw: outside a fiber they say no_scheduler", "[tcp_stream][rule]") {
    std::error_code ec;
    // Not even on a stream that was made inside a run() that has ended.
    tcp_stream kept;  // outlives its run(): plain run(), not run_bounded's fd check
    weft::run([&] {
        auto l = tcp_listener::bind(address::loopback());
        kept = tcp_stream::connect(l.local_address(), 2s);
    });
    for (tcp_stream* s : {&kept, static_cast<tcp_stream*>(nullptr)}) {
        tcp_stream none;
        tcp_stream& t = s ? *s : none;
        std::string buf(8, '\0');
        CHECK_NOTHROW(t.read_some(buf, ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(t.read_some(buf, 1s, ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(t.read_exact(buf, ec));
        CHECK(ec == weft::errc::no_scheduler);
        std::string line;
        CHECK_NOTHROW(t.read_until(line, "\n", 100, ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(t.write_all("x", ec));
        CHECK(ec == weft::errc::no_scheduler);
        CHECK_NOTHROW(t.write_all("x", 1s, ec));
        CHECK(ec == weft::errc::no_scheduler);
    }
    CHECK_NOTHROW(tcp_stream::connect(address::loopback(1), ec));
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(tcp_stream::connect("localhost", 1, 1s, ec));  // before any DNS option is read
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(tcp_listener::bind(address::loopback(), 16, {}, ec));
    CHECK(ec == weft::errc::no_scheduler);
    tcp_listener l;
    CHECK_NOTHROW(l.accept(ec));
    CHECK(ec == weft::errc::no_scheduler);
    // ... and the throwing forms name what was called.
    auto e = error_of([] { tcp_stream::connect("localhost", 1, 1s); });
    CHECK(e.code() == weft::errc::no_scheduler);
    CHECK_THAT(e.what(),
               Catch::StartsWith("weft::net::tcp_stream::connect to localhost:1 must be called inside a fiber"));
}

TEST_CASE("a timeout_error says which call, and whose deadline", "[tcp_stream][timeout][rule]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        std::string buf(16, '\0');
        CHECK_THROWS_WITH(s.read_some(buf, 20ms), "weft::net::tcp_stream::read_some (timeout 20 ms): deadline passed");
        CHECK_THROWS_WITH(weft::with_timeout(10ms, [&] { s.read_some(buf, 1h); }),
                          "weft::net::tcp_stream::read_some (an enclosing with_timeout): deadline passed");
        CHECK_THROWS_WITH(weft::with_timeout(10ms, [&] { s.read_exact(buf); }),
                          "weft::net::tcp_stream::read_exact (an enclosing with_timeout): deadline passed");
        std::string line;
        CHECK_THROWS_WITH(s.read_until(line, "\n", 100, 1500us),
                          "weft::net::tcp_stream::read_until (timeout 1500 us): deadline passed");
        auto l = tcp_listener::bind(address::loopback());
        CHECK_THROWS_WITH(l.accept(5ms), "weft::net::tcp_listener::accept (timeout 5 ms): deadline passed");
    });
}

TEST_CASE("a zero timeout does what needs no wait, and times out the rest at once", "[tcp_stream][timeout][rule]") {
    weft::test::run_bounded(10s, [] {
        auto [c, s] = connected();
        std::string buf(16, '\0');
        auto start = weft::clock::now();
        CHECK_THROWS_AS(s.read_some(buf, 0s), weft::timeout_error);
        CHECK(weft::clock::now() - start < 1s);
        c.write_all("ready");
        weft::this_fiber::sleep_for(5ms);  // the bytes are there now
        CHECK(s.read_some(buf, 0s) == 5);
        std::error_code ec;
        CHECK(c.write_all("x", 0s, ec) == 1);  // room in the buffer: no wait
        CHECK_FALSE(ec);
        CHECK(s.read_some(buf, weft::no_timeout) == 1);  // no_timeout: no limit
    });
}
