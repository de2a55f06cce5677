// SPDX-License-Identifier: MIT
// Fairness under a fast peer: a fiber whose socket always has data must still
// let the other fibers run and the loop poll (scheduler::io_budget), and a
// yield must let due timers in. The peers are plain blocking threads, so the
// one weft thread is the only thing under test.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>
#include <weft/weft.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

// blocking_connect() is a plain blocking TCP socket connected to 127.0.0.1:port.
int blocking_connect(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// echo_server serves each connection in a fiber: read_some, write_all, again.
void echo_server(net::tcp_listener& l, int connections) {
    std::vector<weft::task<void>> conns;
    for (int i = 0; i < connections; ++i)
        conns.push_back(weft::spawn(
            [](net::tcp_stream s) {
                std::vector<char> buf(16 * 1024);
                std::error_code ec;
                while (std::size_t n = s.read_some(buf, ec)) {
                    s.write_all(std::string_view(buf.data(), n), ec);
                    if (ec) break;
                }
            },
            l.accept(10s)));
    for (auto& c : conns) c.join();
}

}  // namespace

TEST_CASE("a streaming connection does not starve a ping on the same echo server") {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> streamed{0};
    std::vector<double> ping_ms;
    std::uint16_t port = 0;
    std::atomic<bool> listening{false};
    const int fds_before = weft::test::open_fds();  // checked at the end, once the peers' sockets are closed too
    weft::test::watchdog dog(60s, "fairness: stream and ping");
    std::thread server([&] {
        weft::run([&] {
            auto l = net::tcp_listener::bind(net::address::loopback());
            port = l.local_address().port();
            listening = true;
            echo_server(l, 2);
        });
    });
    while (!listening) std::this_thread::sleep_for(1ms);

    // The stream: one thread writes as fast as it can, another reads the echo.
    int s = blocking_connect(port);
    std::thread writer([&] {
        std::vector<char> chunk(64 * 1024, 'x');
        while (!stop) {
            if (::send(s, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
        }
        ::shutdown(s, SHUT_WR);
    });
    std::thread reader([&] {
        std::vector<char> buf(256 * 1024);
        while (ssize_t n = ::recv(s, buf.data(), buf.size(), 0)) {
            if (n < 0) break;
            streamed += static_cast<std::uint64_t>(n);
        }
    });
    std::this_thread::sleep_for(200ms);  // the stream is in full flow

    int p = blocking_connect(port);
    timeval tv{5, 0};  // a starved ping fails the test instead of hanging it
    ::setsockopt(p, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < 100; ++i) {
        char b[4] = {'p', 'i', 'n', 'g'};
        auto t0 = std::chrono::steady_clock::now();
        REQUIRE(::send(p, b, 4, MSG_NOSIGNAL) == 4);
        std::size_t got = 0;
        while (got < 4) {
            ssize_t n = ::recv(p, b + got, 4 - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        REQUIRE(got == 4);
        ping_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        std::this_thread::sleep_for(2ms);
    }
    std::uint64_t during = streamed;
    ::close(p);
    stop = true;
    writer.join();
    reader.join();
    ::close(s);
    server.join();
    CHECK(weft::test::open_fds() == fds_before);

    std::sort(ping_ms.begin(), ping_ms.end());
    double p50 = ping_ms[ping_ms.size() / 2], p99 = ping_ms[ping_ms.size() * 99 / 100];
    INFO("ping p50 " << p50 << " ms, p99 " << p99 << " ms; streamed " << during / (1024 * 1024) << " MiB meanwhile");
    CHECK(p99 < 60.0);                // without the budget: 115 ms here, seconds elsewhere (the loop never polls)
    CHECK(during > 8 * 1024 * 1024);  // and the stream kept flowing
}

TEST_CASE("a yield lets due timers in: a lone busy yielder does not make a sleeper late") {
    weft::test::run_bounded(20s, [] {
        std::atomic<bool> done{false};
        auto busy = weft::spawn([&] {
            while (!done) {
                auto until = std::chrono::steady_clock::now() + 1ms;  // 1 ms of work between yields
                while (std::chrono::steady_clock::now() < until) {
                }
                weft::this_fiber::yield();
            }
        });
        std::vector<double> late_ms;
        for (int i = 0; i < 20; ++i) {
            auto t0 = weft::clock::now();
            weft::this_fiber::sleep_for(5ms);
            late_ms.push_back(std::chrono::duration<double, std::milli>(weft::clock::now() - t0 - 5ms).count());
        }
        done = true;
        busy.join();
        std::sort(late_ms.begin(), late_ms.end());
        INFO("median lateness " << late_ms[10] << " ms, worst " << late_ms.back() << " ms");
        CHECK(late_ms[10] < 3.0);  // about one yield interval (1 ms), not 61 of them
    });
}
