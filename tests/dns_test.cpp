// SPDX-License-Identifier: MIT
// weft::dns::resolve against a real DNS server on loopback (support/dns_server).
// Each case makes its own server inside run_bounded, so that the fd check sees
// the server's sockets (and the TCP connections c-ares opened to it) closed.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "support/dns_server.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
using weft::dns::errc;
using weft::net::address;
using behavior = weft::test::dns_server::behavior;

namespace {

weft::dns::options opts_for(const weft::test::dns_server& s, weft::dns::family f = weft::dns::family::any) {
    weft::dns::options o;
    o.servers = {s.address()};
    o.family = f;
    return o;
}

std::set<std::string> ips(const std::vector<address>& addrs) {
    std::set<std::string> out;
    for (const auto& a : addrs) out.insert(a.ip_string());
    return out;
}

// closed_port() is a loopback UDP port with nothing bound to it (an ICMP
// "port unreachable" answers whatever is sent there).
std::uint16_t closed_port() {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    return ntohs(sa.sin_port);
}

long rss_kib() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

double since_ms(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("a name resolves to its A and AAAA addresses, each with the port", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("both.test", {.v4 = {"192.0.2.1", "192.0.2.2"}, .v6 = {"2001:db8::1"}});
        auto any = weft::dns::resolve("both.test", 8080, opts_for(server));
        REQUIRE(ips(any) == std::set<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::1"});
        REQUIRE(std::all_of(any.begin(), any.end(), [](const address& a) { return a.port() == 8080; }));
        REQUIRE(ips(weft::dns::resolve("both.test", 1, opts_for(server, weft::dns::family::v4))) ==
                std::set<std::string>{"192.0.2.1", "192.0.2.2"});
        REQUIRE(ips(weft::dns::resolve("BOTH.test.", 1, opts_for(server, weft::dns::family::v6))) ==
                std::set<std::string>{"2001:db8::1"});
        REQUIRE(server.queries() == 4);  // A + AAAA, A, AAAA: nothing else was asked
        REQUIRE(weft::dns::resolve("both.test", "8443", opts_for(server)).front().port() == 8443);
        REQUIRE(weft::dns::resolve("192.0.2.9", "http").front().port() == 80);
        REQUIRE_THROWS_AS(weft::dns::resolve("both.test", "no-such-service-x", opts_for(server)), std::system_error);
    });
}

TEST_CASE("numeric hosts are answered without a query", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        auto o = opts_for(server);
        REQUIRE(weft::dns::resolve("127.0.0.1", 80, o) == std::vector{address::loopback(80)});
        REQUIRE(weft::dns::resolve("::1", 80, o) == std::vector{address::loopback(80, address::family::v6)});
        std::error_code ec;
        REQUIRE(weft::dns::resolve("::1", 80, opts_for(server, weft::dns::family::v4), ec).empty());
        REQUIRE(ec == errc::no_data);
        REQUIRE(server.queries() == 0);
    });
}

TEST_CASE("localhost comes from /etc/hosts with no server reachable", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::dns::options o;
        o.servers = {"127.0.0.1:" + std::to_string(closed_port())};
        o.family = weft::dns::family::v4;
        auto addrs = weft::dns::resolve("localhost", 80, o);
        REQUIRE(ips(addrs).count("127.0.0.1") == 1);
        REQUIRE(weft::dns::resolve("localhost", 0, o).at(0).port() == 0);  // port 0 is no service for c-ares
        // ...while a name that is not there finds no server to ask.
        std::error_code ec;
        weft::dns::resolve("not-in-hosts.test", 80, o, ec);
        REQUIRE((ec == errc::unreachable || ec == weft::errc::timed_out));
    });
}

TEST_CASE("bad names are rejected before any query", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        const std::string long_label(64, 'a');
        std::string too_long;
        while (too_long.size() < 254) too_long += "abcdefg.";
        too_long.resize(254);
        for (std::string name :
             {std::string(), long_label + ".test", too_long, std::string("a b.test"), std::string("ex!ample.test"),
              std::string("a..b"), std::string("."), std::string("x\0y", 3), std::string("caf\xc3\xa9.test")}) {
            INFO("name: " << name);
            std::error_code ec;
            REQUIRE(weft::dns::resolve(name, 80, opts_for(server), ec).empty());
            REQUIRE(ec == errc::bad_name);
        }
        REQUIRE_THROWS_AS(weft::dns::resolve("", 80, opts_for(server)), std::system_error);
        REQUIRE(server.queries() == 0);
        std::string max_ok;
        for (int i = 0; i < 4; ++i) max_ok += std::string(62, 'a') + ".";  // 252 bytes, labels of 62
        server.set(max_ok.substr(0, max_ok.size() - 1), {.v4 = {"192.0.2.7"}});
        REQUIRE(weft::dns::resolve(max_ok, 80, opts_for(server, weft::dns::family::v4)).size() == 1);
    });
}

TEST_CASE("each server error maps to its own code", "[dns]") {
    struct row {
        behavior how;
        std::error_code want;
    };
    const std::error_code timed_out = weft::errc::timed_out;  // as every timeout in weft, not a dns::errc
    auto r = GENERATE_COPY(row{behavior::nxdomain, errc::host_not_found}, row{behavior::servfail, errc::server_failure},
                           row{behavior::refused, errc::refused}, row{behavior::garbage, errc::malformed_answer},
                           row{behavior::silence, timed_out}, row{behavior::wrong_id, timed_out});
    weft::test::run_bounded(10s, [r, timed_out] {
        weft::test::dns_server server;
        server.set("x.test", {.v4 = {"192.0.2.1"}, .how = r.how});
        auto o = opts_for(server);
        o.timeout = 300ms;
        auto start = std::chrono::steady_clock::now();
        std::error_code ec;
        REQUIRE(weft::dns::resolve("x.test", 80, o, ec).empty());
        double ms = since_ms(start);
        INFO(ec.message() << " after " << ms << " ms");
        REQUIRE(ec == r.want);
        REQUIRE(ms < 1000);
        if (r.want == timed_out) {
            REQUIRE(ms >= 250);
            REQUIRE(ec == std::errc::timed_out);
            // The throwing form: weft::timeout_error, saying what timed out.
            try {
                weft::dns::resolve("x.test", 80, o);
                FAIL("no exception");
            } catch (const weft::timeout_error& e) {
                REQUIRE(e.code() == weft::errc::timed_out);
                REQUIRE(std::string(e.what()) == "weft::dns::resolve \"x.test\" (timeout 300 ms): deadline passed");
            }
            return;
        }
        try {
            weft::dns::resolve("x.test", 80, o);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            REQUIRE(e.code() == r.want);
            REQUIRE(std::string(e.what()).find("x.test") != std::string::npos);
        }
    });
}

TEST_CASE("a name without an address of the family is no_data", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("v4only.test", {.v4 = {"192.0.2.1"}});
        std::error_code ec;
        weft::dns::resolve("v4only.test", 80, opts_for(server, weft::dns::family::v6), ec);
        REQUIRE(ec == errc::no_data);
        REQUIRE(weft::dns::resolve("v4only.test", 80, opts_for(server)).size() == 1);  // any: the A answer
    });
}

TEST_CASE("the error codes have distinct messages", "[dns]") {
    std::set<std::string> messages;
    for (int e = 1; e <= static_cast<int>(errc::failed); ++e)
        messages.insert(weft::dns::make_error_code(static_cast<errc>(e)).message());
    REQUIRE(messages.size() == static_cast<std::size_t>(errc::failed));
    REQUIRE(weft::dns::make_error_code(errc::host_not_found).category().name() == std::string("weft.dns"));
}

TEST_CASE("a truncated answer is fetched again over TCP", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("big.test",
                   {.v4 = {"192.0.2.1", "192.0.2.2", "192.0.2.3"}, .v6 = {"2001:db8::3"}, .how = behavior::truncate});
        auto addrs = weft::dns::resolve("big.test", 53, opts_for(server));
        REQUIRE(ips(addrs) == std::set<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::3"});
        REQUIRE(server.tcp_queries() >= 2);
        // The connection stays open: a second lookup goes over it too.
        REQUIRE(weft::dns::resolve("big.test", 53, opts_for(server, weft::dns::family::v4)).size() == 3);
    });
}

TEST_CASE("1,000 concurrent lookups with a 200 ms server delay take about one delay", "[dns]") {
    weft::test::run_bounded(20s, [] {
        weft::test::dns_server server;
        constexpr int n = 1000;
        for (int i = 0; i < n; ++i)
            server.set("host" + std::to_string(i) + ".test",
                       {.v4 = {"10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)}, .delay = 200ms});
        auto o = opts_for(server, weft::dns::family::v4);
        auto start = std::chrono::steady_clock::now();
        std::vector<weft::task<std::string>> lookups;
        for (int i = 0; i < n; ++i)
            lookups.push_back(weft::spawn(
                [&o, i] { return weft::dns::resolve("host" + std::to_string(i) + ".test", 80, o).at(0).ip_string(); }));
        for (int i = 0; i < n; ++i)
            REQUIRE(lookups[i].join() == "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
        double ms = since_ms(start);
        INFO(ms << " ms");
        REQUIRE(ms >= 200);
        REQUIRE(ms < 2000);
        REQUIRE(server.queries() == n);
    });
}

TEST_CASE("a lookup cancelled midway leaves the resolver working", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("slow.test", {.v4 = {"192.0.2.1"}, .delay = 300ms});
        server.set("fast.test", {.v4 = {"192.0.2.2"}});
        auto o = opts_for(server);
        auto t = weft::spawn([&] { return weft::dns::resolve("slow.test", 80, o).size(); });
        weft::this_fiber::sleep_for(50ms);  // t is parked in the lookup
        t.cancel();
        REQUIRE_THROWS_AS(t.join(), weft::cancelled);
        REQUIRE(ips(weft::dns::resolve("fast.test", 80, o)) == std::set<std::string>{"192.0.2.2"});
        weft::this_fiber::sleep_for(400ms);  // the abandoned query's answer comes and is dropped
        REQUIRE(ips(weft::dns::resolve("slow.test", 80, o)) == std::set<std::string>{"192.0.2.1"});
    });
}

TEST_CASE("a lookup timed out by with_timeout leaves the resolver working", "[dns]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("slow.test", {.v4 = {"192.0.2.1"}, .delay = 300ms});
        server.set("mute.test", {.how = behavior::silence});
        auto o = opts_for(server);
        auto start = std::chrono::steady_clock::now();
        REQUIRE_THROWS_AS(weft::with_timeout(50ms, [&] { return weft::dns::resolve("slow.test", 80, o); }),
                          weft::timeout_error);
        REQUIRE(since_ms(start) < 250);
        std::error_code ec;
        weft::with_timeout(30ms, [&] { return weft::dns::resolve("mute.test", 80, o, ec); });
        REQUIRE(ec == weft::errc::timed_out);  // the enclosing scope, not the lookup's own timeout
        REQUIRE(ips(weft::dns::resolve("slow.test", 80, o)) == std::set<std::string>{"192.0.2.1"});
    });
}

TEST_CASE("a burst of garbage replies does not break later lookups", "[dns]") {
    weft::test::run_bounded(20s, [] {
        weft::test::dns_server server;
        server.set("noisy.test", {.v4 = {"192.0.2.5"}, .how = behavior::noise});
        server.set("junk.test", {.v4 = {"192.0.2.6"}, .how = behavior::garbage});
        server.set("good.test", {.v4 = {"192.0.2.7"}});
        auto o = opts_for(server, weft::dns::family::v4);
        std::vector<weft::task<std::error_code>> lookups;
        for (int i = 0; i < 200; ++i)
            lookups.push_back(weft::spawn([&o, i] {
                std::error_code ec;
                auto addrs = weft::dns::resolve(i % 2 ? "noisy.test" : "junk.test", 80, o, ec);
                if (!ec && ips(addrs) != std::set<std::string>{"192.0.2.5"}) ec = errc::failed;
                return ec;
            }));
        for (int i = 0; i < 200; ++i) {
            std::error_code ec = lookups[i].join();
            INFO(i << ": " << ec.message());
            if (i % 2)
                REQUIRE(!ec);
            else
                REQUIRE(ec == errc::malformed_answer);
        }
        REQUIRE(ips(weft::dns::resolve("good.test", 80, o)) == std::set<std::string>{"192.0.2.7"});
    });
}

TEST_CASE("default options and WEFT_DNS_SERVERS", "[dns]") {
    SECTION("set_default_options") {
        weft::test::run_bounded(10s, [] {
            weft::test::dns_server server;
            server.set("d.test", {.v4 = {"192.0.2.8"}});
            weft::dns::set_default_options(opts_for(server, weft::dns::family::v4));
            REQUIRE(weft::dns::default_options().servers == std::vector{server.address()});
            REQUIRE(ips(weft::dns::resolve("d.test", 80)) == std::set<std::string>{"192.0.2.8"});
        });
    }
    SECTION("WEFT_DNS_SERVERS") {
        weft::test::dns_server server;  // outside the run: the variable is read when the resolver is made
        server.set("e.test", {.v4 = {"192.0.2.9"}});
        ::setenv("WEFT_DNS_SERVERS", server.address().c_str(), 1);
        weft::test::run_bounded(
            10s, [] { REQUIRE(ips(weft::dns::resolve("e.test", 80)) == std::set<std::string>{"192.0.2.9"}); });
        ::unsetenv("WEFT_DNS_SERVERS");
    }
    SECTION("a bad server list") {
        weft::test::run_bounded(10s, [] {
            weft::dns::options o;
            o.servers = {"not an address"};
            std::error_code ec;
            weft::dns::resolve("x.test", 80, o, ec);
            REQUIRE(ec == errc::bad_servers);
        });
    }
    SECTION("outside a fiber") {
        // Every time, numeric hosts included; the message names resolve(), not
        // the default_options() it would have read; the error_code forms throw nothing.
        for (const char* host : {"x.test", "127.0.0.1"}) {
            try {
                weft::dns::resolve(host, 80);
                FAIL("no exception");
            } catch (const std::system_error& e) {
                REQUIRE(e.code() == weft::errc::no_scheduler);
                REQUIRE_THAT(e.what(), Catch::StartsWith("weft::dns::resolve \"") &&
                                           Catch::Contains("must be called inside a fiber"));
            }
            std::error_code ec;
            REQUIRE(weft::dns::resolve(host, 80, ec).empty());
            REQUIRE(ec == weft::errc::no_scheduler);
            REQUIRE(weft::dns::resolve(host, 80, weft::dns::options{}, ec).empty());
            REQUIRE(ec == weft::errc::no_scheduler);
        }
    }
}

TEST_CASE("a lookup's zero timeout answers what needs no wait and times out the rest", "[dns][timeout]") {
    weft::test::run_bounded(10s, [] {
        weft::test::dns_server server;
        server.set("slow.test", {.v4 = {"192.0.2.1"}});
        auto o = opts_for(server, weft::dns::family::v4);
        o.timeout = 0s;  // the one rule: zero has already passed
        REQUIRE(weft::dns::resolve("127.0.0.1", 80, o).size() == 1);
        REQUIRE(ips(weft::dns::resolve("localhost", 80, o)) == std::set<std::string>{"127.0.0.1"});  // /etc/hosts
        REQUIRE_THROWS_AS(weft::dns::resolve("slow.test", 80, o), weft::timeout_error);
        o.timeout = weft::no_timeout;  // and no_timeout is no limit
        REQUIRE(ips(weft::dns::resolve("slow.test", 80, o)) == std::set<std::string>{"192.0.2.1"});
    });
}

TEST_CASE("no fd or memory leak after 10,000 lookups", "[dns]") {
    weft::test::run_bounded(60s, [] {
        weft::test::dns_server server;
        for (int i = 0; i < 100; ++i) server.set("n" + std::to_string(i) + ".test", {.v4 = {"192.0.2.1"}});
        server.set("gone.test", {.how = behavior::nxdomain});
        auto o = opts_for(server, weft::dns::family::v4);
        auto batch = [&](int rounds) {
            for (int r = 0; r < rounds; ++r) {
                std::vector<weft::task<bool>> lookups;
                for (int i = 0; i < 100; ++i)
                    lookups.push_back(weft::spawn([&o, i] {
                        std::error_code ec;
                        auto addrs =
                            weft::dns::resolve(i == 99 ? "gone.test" : "n" + std::to_string(i) + ".test", 80, o, ec);
                        return i == 99 ? ec == errc::host_not_found : addrs.size() == 1;
                    }));
                for (auto& t : lookups) REQUIRE(t.join());
            }
        };
        batch(10);  // warm up: pools, the channel, the allocator
        long before = rss_kib();
        batch(100);
        long grown = rss_kib() - before;
        INFO("RSS grew by " << grown << " KiB");
#if !defined(__SANITIZE_ADDRESS__)
        REQUIRE(grown < 4096);  // leaking even 100 bytes per lookup would show as 1 MiB
#endif
        REQUIRE(server.queries() == 11000);
    });
}

// Found by fuzz/dns_reply.cpp: c-ares takes A and AAAA records from any answer,
// so an AAAA slipped into the answer to an A question came back from a v4 lookup.
TEST_CASE("a lookup of one family returns no address of the other, whatever the server sends", "[dns]") {
    weft::test::run_bounded(20s, [] {
        weft::test::dns_server server;
        // The answer to either question: an A and an AAAA record.
        auto both = [](std::span<const unsigned char> q, bool) {
            std::size_t end = 12;
            while (q[end] != 0) end += 1 + q[end];
            std::vector<unsigned char> r(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(end + 5));
            r[2] = 0x81;  // QR, RD
            r[3] = 0x80;  // RA, NOERROR
            r[7] = 2;     // ANCOUNT; NSCOUNT and ARCOUNT stay 0
            r[8] = r[9] = r[10] = r[11] = 0;
            const unsigned char a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7};
            const unsigned char aaaa[] = {0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01,
                                          0x0d, 0xb8, 0, 0,  0, 0, 0, 0, 0, 0,  0, 0,  0,    7};
            r.insert(r.end(), std::begin(a), std::end(a));
            r.insert(r.end(), std::begin(aaaa), std::end(aaaa));
            return std::vector<std::vector<unsigned char>>{r};
        };
        server.set("mixed.test", {.how = behavior::respond, .respond = both});
        REQUIRE(ips(weft::dns::resolve("mixed.test", 80, opts_for(server, weft::dns::family::v4))) ==
                std::set<std::string>{"192.0.2.7"});
        REQUIRE(ips(weft::dns::resolve("mixed.test", 80, opts_for(server, weft::dns::family::v6))) ==
                std::set<std::string>{"2001:db8::7"});
        REQUIRE(ips(weft::dns::resolve("mixed.test", 80, opts_for(server))) ==
                std::set<std::string>{"192.0.2.7", "2001:db8::7"});
    });
}
