// SPDX-License-Identifier: MIT
// A burst of lookups against one DNS server (issue 12): 20,000 distinct names
// resolved at once, a fiber each, must all succeed against a real dnsmasq and
// against support/dns_server made to drop what overflows its queue. weft paces
// the queries to each server (lib/dns/pacer.hpp) instead of handing c-ares all
// of them at once, which overran the server's UDP socket. Pacing must not slow
// a small burst or a single lookup either.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dns/pacer.hpp"
#include "support/daemon.hpp"
#include "support/dns_server.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
using behavior = weft::test::dns_server::behavior;

namespace {

// The whole burst, under ASan too: 20,000 fibers take about 1.5 s of the
// client's CPU there (about 0.4 s in an optimized build).
constexpr int burst_n = 20'000;

double since_ms(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// udp_drops(port) sums the receive-buffer drops of every UDP socket on
// 127.0.0.1:port or connected to it (/proc/net/udp's last column): the
// server's socket and c-ares' socket to it.
unsigned long udp_drops(std::uint16_t port) {
    std::ifstream in("/proc/net/udp");
    std::string line;
    std::getline(in, line);  // the header
    char want[16];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    unsigned long sum = 0;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, field;
        f >> sl >> local >> remote;
        if (local != want && remote != want) continue;
        unsigned long drops = 0;
        while (f >> field) drops = std::strtoul(field.c_str(), nullptr, 10);
        sum += drops;
    }
    return sum;
}

// dnsmasq runs Debian's dnsmasq in the foreground on 127.0.0.1 at a free
// port, answering every name under burst.test with 127.0.0.2 (A; no AAAA)
// from its own table, as fast as it can: no upstream, no hosts file, no
// system config. It waits at most 10 s for "started"; the destructor
// SIGTERMs, waits 2 s, then SIGKILLs. available() is whether it is installed.
class dnsmasq {
public:
    static constexpr const char* path = "/usr/sbin/dnsmasq";
    static bool available() { return ::access(path, X_OK) == 0; }

    dnsmasq() {
        // The port: one the kernel just gave out and took back (dnsmasq binds
        // UDP and TCP on it). Another process could take it meanwhile; then
        // dnsmasq exits and we try another.
        for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
            const std::uint16_t port = free_port();
            if (port != 0 && start(port)) port_ = port;
        }
        if (port_ == 0) throw std::runtime_error("dnsmasq did not start; its output:\n" + proc_.output());
    }
    dnsmasq(const dnsmasq&) = delete;
    dnsmasq& operator=(const dnsmasq&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    static std::uint16_t free_port() {
        for (int attempt = 0; attempt < 20; ++attempt) {
            int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t len = sizeof a;
            ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
            ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
            int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            const bool both = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            ::close(t);
            ::close(u);
            if (both) return ntohs(a.sin_port);
        }
        return 0;
    }

    // start() runs dnsmasq on `port` and waits for it to serve ("started"
    // once its sockets are bound); false if it exits first.
    bool start(std::uint16_t port) {
        // --no-daemon: the foreground, no pid file, no change of user, no
        // forked TCP helpers; its log goes to stderr (--log-facility=-).
        return proc_.start({path, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                            "--port=" + std::to_string(port), "--listen-address=127.0.0.1", "--bind-interfaces",
                            "--address=/burst.test/127.0.0.2", "--log-facility=-"},
                           "started, version");
    }

    weft::test::daemon proc_;
    std::uint16_t port_ = 0;
};

// burst_result is how a burst of lookups went.
struct burst_result {
    int failed = 0;  // lookups that ended in an error
    int wrong = 0;   // lookups that returned another address
    std::string first_error;
    double ms = 0;          // from the first spawn to the last answer
    double slowest_ms = 0;  // the longest lookup, from its resolve() call (pacing's wait included)
};

// burst() resolves n distinct names ("n0.<suffix>" ...) at once, a fiber each,
// each expecting exactly `ip`. Runs inside a fiber.
burst_result burst(int n, const std::string& suffix, const weft::dns::options& o, const std::string& ip) {
    burst_result r;
    const auto start = std::chrono::steady_clock::now();
    std::vector<weft::task<void>> lookups;
    lookups.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        lookups.push_back(weft::spawn([&r, &o, &suffix, &ip, i] {
            std::error_code ec;
            const auto began = std::chrono::steady_clock::now();
            auto addrs = weft::dns::resolve("n" + std::to_string(i) + "." + suffix, 80, o, ec);
            r.slowest_ms = std::max(r.slowest_ms, since_ms(began));
            if (ec) {
                if (r.failed++ == 0) r.first_error = ec.message();
            } else if (addrs.size() != 1 || addrs[0].ip_string() != ip) {
                ++r.wrong;
            }
        }));
    for (auto& t : lookups) t.join();
    r.ms = since_ms(start);
    return r;
}

weft::dns::options options_for(const std::string& server) {
    weft::dns::options o;
    o.servers = {server};
    o.family = weft::dns::family::v4;  // dnsmasq has A records only: one query per name
    o.timeout = 10s;                   // the budget of issue 12's report
    return o;
}

}  // namespace

TEST_CASE("20,000 names at once against dnsmasq all resolve, none dropped", "[dns][burst]") {
    if (!dnsmasq::available()) {
        WARN("SKIPPED: dnsmasq is not installed (apt-get install dnsmasq-base; scripts/test.sh does)");
        return;
    }
    weft::test::raise_fd_limit(4096);
    dnsmasq server;
    const unsigned long drops_before = udp_drops(server.port());
    burst_result r;
    unsigned long drops = 0;
    weft::test::run_bounded(60s, [&] {
        r = burst(burst_n, "burst.test", options_for(server.address()), "127.0.0.2");
        drops = udp_drops(server.port()) - drops_before;  // c-ares' socket is still open here
    });
    INFO(burst_n << " lookups in " << r.ms << " ms; " << r.failed << " failed (first: " << r.first_error << "), "
                 << r.wrong << " wrong; " << drops << " datagrams dropped");
    std::printf("dns_burst: dnsmasq: %d names in %.0f ms (slowest lookup %.0f ms), %d failed, %lu datagrams dropped\n",
                burst_n, r.ms, r.slowest_ms, r.failed, drops);
    REQUIRE(r.failed == 0);
    REQUIRE(r.wrong == 0);
    // Nothing was lost on the way: neither dnsmasq's socket nor c-ares' dropped
    // a datagram (before pacing, the first burst alone overran dnsmasq's).
    REQUIRE(drops == 0);
}

TEST_CASE("20,000 names at once against a server that drops what overflows its queue all resolve", "[dns][burst]") {
    weft::test::raise_fd_limit(4096);
    weft::test::run_bounded(60s, [] {
        weft::test::dns_server server;
        server.set_suffix("burst.test", {.v4 = {"127.0.0.2"}});
        SECTION("a queue of 256, as a default socket buffer holds: pacing alone keeps within it") {
            // 20,000 answers a second: the burst needs 1 s of the server. All
            // at once, 19,744 queries would be dropped, and dropped again
            // when c-ares retried them all together.
            server.overload(256, 20'000);
            const auto r = burst(burst_n, "burst.test", options_for(server.address()), "127.0.0.2");
            INFO(r.ms << " ms; " << r.failed << " failed (first: " << r.first_error << "); server dropped "
                      << server.dropped() << ", got " << server.queries());
            std::printf("dns_burst: queue 256, 20,000/s: %d names in %.0f ms, %d failed, %zu dropped\n", burst_n, r.ms,
                        r.failed, server.dropped());
            REQUIRE(r.failed == 0);
            REQUIRE(r.wrong == 0);
            REQUIRE(server.dropped() == 0);
            REQUIRE(server.queries() == static_cast<std::size_t>(burst_n));
        }
        SECTION("a queue of 64, below weft's first window: what is dropped comes back through retries") {
            // The first 200 queries overrun it at once. Their tries time out
            // (3.3 s: a 10 s budget, 2 tries), which halves the window and
            // what it lets wait at the server, and weft asks again for each,
            // through the window, with twice the time.
            constexpr int n = 2'000;
            server.overload(64, 20'000);
            const auto r = burst(n, "burst.test", options_for(server.address()), "127.0.0.2");
            INFO(r.ms << " ms; " << r.failed << " failed (first: " << r.first_error << "); server dropped "
                      << server.dropped() << ", got " << server.queries());
            std::printf("dns_burst: queue 64, 20,000/s: %d names in %.0f ms, %d failed, %zu dropped\n", n, r.ms,
                        r.failed, server.dropped());
            REQUIRE(r.failed == 0);
            REQUIRE(r.wrong == 0);
            REQUIRE(server.dropped() > 0);  // the retries were needed
            REQUIRE(server.queries() == n + server.dropped());
        }
    });
}

TEST_CASE("pacing holds up neither a burst of 100 names nor a lookup to another server", "[dns][burst]") {
    weft::test::run_bounded(30s, [] {
        SECTION("100 names of family::any (200 queries) go out at once") {
            // A server 400 ms away: every query arrives before any answer is
            // due, so no lookup waited for room (one round trip, not two).
            weft::test::dns_server far;
            far.set_suffix("far.test", {.v4 = {"192.0.2.1"}, .v6 = {"2001:db8::1"}, .delay = 400ms});
            auto o = options_for(far.address());
            o.family = weft::dns::family::any;
            auto lookups = weft::spawn([&] { return burst(100, "far.test", o, "2001:db8::1"); });
            weft::this_fiber::sleep_for(200ms);
            const std::size_t asked = far.queries();
            const auto r = lookups.join();
            INFO(r.ms << " ms; " << r.failed << " failed (first: " << r.first_error << ")");
            REQUIRE(asked == 200);
            REQUIRE(r.failed == 0);
            REQUIRE(r.ms >= 400);
        }
        SECTION("a lookup to another server does not wait behind a burst") {
            // 2,000 names to a server that answers 2,000 a second (a second's
            // work, its queue full all along); meanwhile one name to another
            // server is answered at once: each server list has its own window.
            weft::test::dns_server busy, idle;
            busy.set_suffix("burst.test", {.v4 = {"127.0.0.2"}});
            busy.overload(256, 2'000);
            idle.set("one.test", {.v4 = {"192.0.2.7"}});
            auto lookups =
                weft::spawn([&] { return burst(2'000, "burst.test", options_for(busy.address()), "127.0.0.2"); });
            weft::this_fiber::sleep_for(100ms);
            const auto began = std::chrono::steady_clock::now();
            const auto addrs = weft::dns::resolve("one.test", 80, options_for(idle.address()));
            const double ms = since_ms(began);
            const auto r = lookups.join();
            INFO("the single lookup took " << ms << " ms, the burst " << r.ms << " ms");
            REQUIRE(addrs.at(0).ip_string() == "192.0.2.7");
            REQUIRE(r.ms > 100 + ms);  // answered while the burst was still under way
            REQUIRE(r.failed == 0);
        }
    });
}

// The pacer's rules, on a simulated server: each round sends a full window
// at once (some lookups always waiting) and gets the i-th query's answer back
// after rtt(i), in order.
namespace {

using pacer = weft::detail::dns_pacer;

// round() runs one round trip of a window-limited burst through p.
template <class Rtt>
void round(pacer& p, weft::clock::time_point& now, Rtt rtt) {
    std::vector<std::uint64_t> seqs;
    while (p.may_send(1)) seqs.push_back(p.sent(1));
    p.waited();
    const auto sent = now;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        now = sent + rtt(i);
        p.done(seqs[i], 1, pacer::outcome::answered, rtt(i), now);
    }
}

}  // namespace

TEST_CASE("the pacer: grows toward a far server, settles a near one's queue, halves on loss", "[dns][burst][pacer]") {
    auto now = weft::clock::now();
    SECTION("a server 200 ms away with room for all: after a loss the window grows by half each round to 200") {
        pacer p;
        REQUIRE(p.window() == 200);
        round(p, now, [](std::size_t) { return 200ms; });
        p.done(p.sent(1), 1, pacer::outcome::lost, 3s, now);
        REQUIRE(p.window() == 100);
        std::vector<unsigned> seen;
        for (int i = 0; i < 5; ++i) {
            round(p, now, [](std::size_t) { return 200ms; });
            seen.push_back(p.window());
        }
        REQUIRE(seen == std::vector<unsigned>{100, 150, 200, 200, 200});  // a round trip measures, the next grows
    }
    SECTION("a server that answers 20,000 a second: the window settles where about 32 wait") {
        pacer p;
        // One answer per 50 us: each query waits for those before it.
        for (int i = 0; i < 40; ++i)
            round(p, now, [](std::size_t i) { return std::chrono::microseconds(100 + 50 * (i + 1)); });
        INFO("window " << p.window());
        REQUIRE(p.window() >= 32);
        REQUIRE(p.window() <= 40);
    }
    SECTION("a loss halves the window once, and each query lost with it takes one more") {
        pacer p;
        std::vector<std::uint64_t> seqs;
        for (int i = 0; i < 100; ++i) seqs.push_back(p.sent(1));
        p.done(seqs[0], 1, pacer::outcome::lost, 3s, now);
        REQUIRE(p.window() == 100);
        p.done(seqs[1], 1, pacer::outcome::lost, 3s, now);
        p.done(seqs[2], 1, pacer::outcome::lost, 3s, now);
        REQUIRE(p.window() == 98);
        // A later query lost is a new episode: halved again, not below 8.
        const auto later = p.sent(1);
        p.done(later, 1, pacer::outcome::lost, 3s, now);
        REQUIRE(p.window() == 49);
        for (int i = 0; i < 10; ++i) p.done(p.sent(1), 1, pacer::outcome::lost, 3s, now);
        REQUIRE(p.window() == 8);
    }
}
