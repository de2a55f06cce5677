// SPDX-License-Identifier: MIT
// tls::stream over real loopback sockets: handshakes against weft's own
// server and against `openssl s_server`, each verification failure, ALPN,
// SNI, resumption, big transfers both ways, a reader and a writer fiber on
// one stream, hostile peers (stall, reset, garbage, no close_notify) and
// cancellation. Certificates are made at test time (support/test_pki).
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <weft/weft.hpp>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"
#include "support/s_server.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using weft::test::error_of;
using weft::test::run_bounded;
namespace tls = weft::tls;
namespace net = weft::net;

namespace {

const weft::test::pki::bundle& pki() { return weft::test::pki::shared_bundle(); }

tls::context trusting_client(std::vector<std::string> alpn = {}, bool resume = true) {
    return tls::context::client({.ca_file = pki().ca_file, .alpn = std::move(alpn), .resume_sessions = resume});
}

tls::context server_ctx(const std::string& name = "server", std::vector<std::string> alpn = {}) {
    return tls::context::server(
        {.cert_file = pki().cert_file(name), .key_file = pki().key_file(name), .alpn = std::move(alpn)});
}

// tls_echo is a weft TLS server on 127.0.0.1:0 whose connections each echo
// what they read until the client's close_notify; it records the SNI and
// ALPN each handshake saw. Runs in fibers of the calling run().
struct tls_echo {
    net::tcp_listener listener = net::tcp_listener::bind(net::address::loopback());
    tls::context ctx;
    std::vector<std::string> names;
    std::vector<std::string> protocols;
    int handshakes_failed = 0;
    weft::task<void> acceptor;

    explicit tls_echo(tls::context c) : ctx(std::move(c)) {
        acceptor = weft::spawn([this] {
            std::vector<weft::task<void>> conns;
            for (;;) {
                std::error_code ec;
                net::tcp_stream tcp = listener.accept(ec);
                if (ec) break;
                conns.push_back(weft::spawn([this](net::tcp_stream t) { serve(std::move(t)); }, std::move(tcp)));
            }
            for (auto& c : conns) c.cancel();
        });
    }
    ~tls_echo() {
        listener.close();
        acceptor.join();
    }
    void serve(net::tcp_stream tcp) {
        std::error_code ec;
        tls::stream s = tls::stream::accept(std::move(tcp), ctx, 5s, ec);
        if (ec) {
            ++handshakes_failed;
            return;
        }
        names.emplace_back(s.server_name());
        protocols.emplace_back(s.alpn());
        std::vector<char> buf(64 * 1024);
        for (;;) {
            std::size_t n = s.read_some(buf, ec);
            if (ec || n == 0) break;
            s.write_all(std::string_view(buf.data(), n), ec);
            if (ec) break;
        }
        s.shutdown(1s, ec);
    }
    std::uint16_t port() const { return listener.local_address().port(); }
};

}  // namespace

TEST_CASE("a TLS echo round trip with weft's own server, verified by name and by IP") {
    run_bounded(20s, [] {
        tls_echo srv(server_ctx());
        for (std::string host : {"localhost", "127.0.0.1"}) {
            tls::stream c = tls::stream::connect(host, srv.port(), trusting_client(), 5s);
            c.write_all("hello\n");
            std::string line;
            c.read_until(line, "\n");
            CHECK(line == "hello\n");
            CHECK(c.protocol() == "TLSv1.3");
            CHECK_FALSE(c.cipher().empty());
            c.shutdown();
            char b[8];
            CHECK(c.read_some(b) == 0);  // the server's close_notify: a clean end
        }
        CHECK(srv.names == std::vector<std::string>{"localhost", ""});  // no SNI for an IP literal
    });
}

TEST_CASE("each verification failure has its own error, with OpenSSL's reason") {
    run_bounded(30s, [] {
        auto fails_with = [](const std::string& cert, std::string_view host) {
            tls_echo srv(server_ctx(cert));
            auto e = error_of([&] { tls::stream::connect(host, srv.port(), trusting_client(), 5s); });
            INFO(e.what());
            return e;
        };
        auto e = fails_with("expired", "localhost");
        CHECK(e.code() == tls::errc::certificate_expired);
        CHECK(std::string(e.what()).find("expired") != std::string::npos);
        CHECK(fails_with("not_yet_valid", "localhost").code() == tls::errc::certificate_not_yet_valid);
        e = fails_with("wrong_host", "localhost");
        CHECK(e.code() == tls::errc::host_mismatch);
        CHECK(std::string(e.what()).find("localhost") != std::string::npos);
        CHECK(fails_with("wrong_host", "127.0.0.1").code() == tls::errc::host_mismatch);  // IP SANs checked
        e = fails_with("self_signed", "localhost");
        CHECK(e.code() == tls::errc::untrusted_certificate);
        CHECK(std::string(e.what()).find("self-signed") != std::string::npos);
        // chain.crt carries the intermediate, so the chain verifies.
        tls_echo chained(server_ctx("chain"));
        CHECK_NOTHROW(tls::stream::connect("localhost", chained.port(), trusting_client(), 5s));
        // The system store does not know the test CA.
        tls_echo srv(server_ctx());
        CHECK(error_of([&] { tls::stream::connect("localhost", srv.port(), tls::context::client(), 5s); }).code() ==
              tls::errc::untrusted_certificate);
    });
}

TEST_CASE("verification off, visibly, accepts a self-signed certificate for any name") {
    run_bounded(20s, [] {
        tls_echo srv(server_ctx("self_signed"));
        auto insecure = tls::context::client({.verify = false});
        CHECK_FALSE(insecure.verifies());
        tls::stream c = tls::stream::connect("127.0.0.1", srv.port(), insecure, 5s);
        c.write_all("x");
        char b[1];
        c.read_exact(b);
        CHECK(b[0] == 'x');
    });
}

TEST_CASE("SNI reaches the server and ALPN is agreed") {
    run_bounded(20s, [] {
        tls_echo srv(server_ctx("server", {"h2", "http/1.1"}));
        tls::stream c = tls::stream::connect("localhost", srv.port(), trusting_client({"http/1.1"}), 5s);
        CHECK(c.alpn() == "http/1.1");
        CHECK(c.server_name() == "localhost");
        tls::stream d = tls::stream::connect("localhost", srv.port(), trusting_client({"spdy/1"}), 5s);
        CHECK(d.alpn().empty());  // nothing in common: on without ALPN
        c.write_all("a");
        d.write_all("b");
        char b[1];
        c.read_exact(b);
        d.read_exact(b);
        CHECK(srv.names == std::vector<std::string>{"localhost", "localhost"});
        CHECK(srv.protocols == std::vector<std::string>{"http/1.1", ""});
    });
}

TEST_CASE("the second connection to a server resumes its session") {
    run_bounded(20s, [] {
        tls_echo srv(server_ctx());
        auto ctx = trusting_client();
        for (int i = 0; i < 3; ++i) {
            tls::stream c = tls::stream::connect("localhost", srv.port(), ctx, 5s);
            c.write_all("ping");
            char b[4];
            c.read_exact(b);  // the TLS 1.3 tickets come with the first read
            CHECK(c.session_reused() == (i > 0));
        }
        // Another context, even with the same settings, never gets those sessions.
        tls::stream other = tls::stream::connect("localhost", srv.port(), trusting_client(), 5s);
        CHECK_FALSE(other.session_reused());
        auto no_cache = trusting_client({}, false);
        for (int i = 0; i < 2; ++i)
            CHECK_FALSE(tls::stream::connect("localhost", srv.port(), no_cache, 5s).session_reused());
    });
}

TEST_CASE("sessions resume with openssl s_server over TLS 1.2 and 1.3") {
    // The peer answers each connection with an HTTP page (-www), so the
    // client reads, and with TLS 1.3 the server's tickets come before the page.
    for (std::string version : {"-tls1_2", "-tls1_3"}) {
        weft::test::s_server peer(
            {"-cert", pki().cert_file("server"), "-key", pki().key_file("server"), version, "-www"});
        run_bounded(20s, [&] {
            auto ctx = trusting_client();
            for (int i = 0; i < 3; ++i) {
                tls::stream c = tls::stream::connect("localhost", peer.port(), ctx, 5s);
                CHECK(c.protocol() == (version == "-tls1_2" ? "TLSv1.2" : "TLSv1.3"));
                c.write_all("GET / HTTP/1.0\r\n\r\n");
                std::string line;
                c.read_until(line, "\r\n");
                CHECK(line == "HTTP/1.0 200 ok\r\n");
                CHECK(c.session_reused() == (i > 0));
            }
        });
    }
}

TEST_CASE("10 MiB each way through one TLS stream, a reader and a writer fiber at once") {
    run_bounded(60s, [] {
        tls_echo srv(server_ctx());
        tls::stream c = tls::stream::connect("localhost", srv.port(), trusting_client(), 5s);
        constexpr std::size_t total = 10 * 1024 * 1024;
        std::string out(total, '\0');
        for (std::size_t i = 0; i < total; ++i) out[i] = static_cast<char>(i * 7 + (i >> 12));
        // The writer fills the socket while the reader drains the echo: each
        // needs the other to make progress, so they must run at once.
        auto writer = weft::spawn([&] {
            for (std::size_t at = 0; at < total; at += 100'000) c.write_all(std::string_view(out).substr(at, 100'000));
        });
        std::string in(total, '\0');
        c.read_exact(in);
        writer.join();
        CHECK(in == out);
    });
}

namespace {

// raw_peer is a TCP server on 127.0.0.1:0 whose one connection is handed to
// `script`, for peers that misbehave at the TCP level.
template <class Script>
weft::task<void> raw_peer(net::tcp_listener& l, Script script) {
    return weft::spawn([&l, script]() mutable {
        net::tcp_stream s = l.accept(5s);
        script(s);
    });
}

void reset(net::tcp_stream& s) {
    linger lg{1, 0};  // close() then sends a RST
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    s.close();
}

}  // namespace

TEST_CASE("hostile peers during the handshake: stall, close, garbage, reset") {
    run_bounded(30s, [] {
        auto l = net::tcp_listener::bind(net::address::loopback());
        const std::uint16_t port = l.local_address().port();
        auto ctx = trusting_client();

        // A peer that never answers the ClientHello: the handshake's own timeout.
        auto stall = raw_peer(l, [](net::tcp_stream& s) {
            weft::this_fiber::sleep_for(2s);
            s.close();
        });
        auto t0 = weft::clock::now();
        CHECK_THROWS_AS(tls::stream::connect("localhost", port, ctx, 300ms), weft::timeout_error);
        CHECK(weft::clock::now() - t0 < 1500ms);
        stall.cancel();

        std::error_code ec;
        auto closer = raw_peer(l, [](net::tcp_stream& s) {
            char hello[4096];
            s.read_some(hello);  // all of the ClientHello: the close is then a FIN, not a reset
            s.close();
        });
        tls::stream::connect("localhost", port, ctx, 5s, ec);
        CHECK(ec == tls::errc::closed_during_handshake);
        closer.join();

        auto http = raw_peer(l, [](net::tcp_stream& s) {
            s.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            weft::this_fiber::sleep_for(200ms);
        });
        auto e = error_of([&] { tls::stream::connect("localhost", port, ctx, 5s); });
        CHECK(e.code() == tls::errc::protocol_error);
        CHECK(std::string(e.what()).find("wrong version number") != std::string::npos);
        http.join();

        auto resetter = raw_peer(l, [](net::tcp_stream& s) {
            char hello[100];
            s.read_some(hello);
            reset(s);
        });
        tls::stream::connect("localhost", port, ctx, 5s, ec);
        CHECK(ec == std::errc::connection_reset);
        resetter.join();
    });
}

TEST_CASE("a server's handshake timeout cuts off a client that stalls") {
    run_bounded(20s, [] {
        auto l = net::tcp_listener::bind(net::address::loopback());
        net::tcp_stream silent = net::tcp_stream::connect(l.local_address(), 5s);
        auto t0 = weft::clock::now();
        CHECK_THROWS_AS(tls::stream::accept(l.accept(5s), server_ctx(), 200ms), weft::timeout_error);
        CHECK(weft::clock::now() - t0 < 1s);
    });
}

TEST_CASE("after the handshake: an end without close_notify is truncated, a reset is a reset") {
    run_bounded(20s, [] {
        auto l = net::tcp_listener::bind(net::address::loopback());
        const std::uint16_t port = l.local_address().port();
        auto sctx = server_ctx();
        auto peer = [&](bool rst) {
            return weft::spawn([&l, &sctx, rst] {
                tls::stream s = tls::stream::accept(l.accept(5s), sctx, 5s);
                s.write_all("partial answer");
                if (rst) {
                    // Half a record: a header announcing 80 bytes and 10 of them.
                    s.next_layer().write_all(
                        std::string_view("\x17\x03\x03\x00\x50"
                                         "0123456789",
                                         15));
                    weft::this_fiber::sleep_for(50ms);
                    reset(s.next_layer());
                } else {
                    s.next_layer().close();  // FIN, no close_notify
                }
            });
        };
        auto p = peer(false);
        tls::stream c = tls::stream::connect("localhost", port, trusting_client(), 5s);
        std::string got(14, '\0');
        c.read_exact(got);
        CHECK(got == "partial answer");
        char b[16];
        auto e = error_of([&] { c.read_some(b); });
        CHECK(e.code() == tls::errc::truncated);
        CHECK(std::string(e.what()).find("close_notify") != std::string::npos);
        p.join();

        auto q = peer(true);
        tls::stream d = tls::stream::connect("localhost", port, trusting_client(), 5s);
        d.read_exact(got);
        std::error_code ec;
        while (!ec) d.read_some(b, ec);
        CHECK(ec == std::errc::connection_reset);
        q.join();
    });
}

TEST_CASE("cancelling a fiber in a TLS handshake or read unwinds it") {
    run_bounded(20s, [] {
        auto l = net::tcp_listener::bind(net::address::loopback());
        const std::uint16_t port = l.local_address().port();
        auto stall = raw_peer(l, [](net::tcp_stream& s) {
            weft::this_fiber::sleep_for(5s);
            s.close();
        });
        auto connecting = weft::spawn([&] { tls::stream::connect("localhost", port, trusting_client(), 10s); });
        weft::this_fiber::sleep_for(50ms);
        connecting.cancel();
        CHECK_THROWS_AS(connecting.join(), weft::cancelled);
        stall.cancel();

        tls_echo srv(server_ctx());
        tls::stream c = tls::stream::connect("localhost", srv.port(), trusting_client(), 5s);
        auto reading = weft::spawn([&] {
            char b[8];
            c.read_some(b);
        });
        weft::this_fiber::sleep_for(50ms);
        reading.cancel();
        CHECK_THROWS_AS(reading.join(), weft::cancelled);
        // The stream still works after the interrupted read.
        c.write_all("after");
        std::string got(5, '\0');
        c.read_exact(got, 5s);
        CHECK(got == "after");
        // And a read with its own timeout says so.
        char b[1];
        CHECK_THROWS_AS(c.read_some(b, 50ms), weft::timeout_error);
    });
}

TEST_CASE("1,000 TLS connections at once to weft's server") {
#if defined(__SANITIZE_ADDRESS__)
    static constexpr int n = 300;  // every handshake costs ~4x under ASan
#else
    static constexpr int n = 1000;
#endif
    weft::test::raise_fd_limit(4 * n + 256);
    run_bounded(120s, [] {
        tls_echo srv(server_ctx());
        auto ctx = trusting_client({}, false);  // full handshakes, every one
        std::vector<weft::task<bool>> clients;
        int open_at_once = 0, peak = 0;
        for (int i = 0; i < n; ++i) {
            clients.push_back(weft::spawn([&, i] {
                tls::stream c = tls::stream::connect("localhost", srv.port(), ctx, 60s);
                peak = std::max(peak, ++open_at_once);
                std::string msg = "client " + std::to_string(i) + "\n", line;
                weft::this_fiber::sleep_for(100ms);  // hold it open while the others connect
                c.write_all(msg);
                c.read_until(line, "\n");
                --open_at_once;
                return line == msg;
            }));
        }
        int ok = 0;
        for (auto& t : clients) ok += t.join() ? 1 : 0;
        CHECK(ok == n);
        // Side by side, not one after another (one at a time would be 1). On
        // a loaded 2-core box the handshakes (each a few ms of CPU) spread over
        // more than the 100 ms each client holds its connection: a quarter.
        CHECK(peak > n / 4);
        CHECK(srv.handshakes_failed == 0);
    });
}

TEST_CASE("10 MiB each way with openssl s_server") {
    constexpr std::size_t total = 10 * 1024 * 1024;
    SECTION("to s_server, which prints what it receives") {
        weft::test::s_server peer({"-cert", pki().cert_file("server"), "-key", pki().key_file("server")});
        std::string line(1023, 'x');
        line += '\n';
        run_bounded(60s, [&] {
            // s_server writes what it reads to its stdout: keep that pipe drained.
            auto drainer = weft::spawn([&] {
                for (int i = 0; i < 10'000 && peer.output_size() < total; ++i) weft::this_fiber::sleep_for(2ms);
            });
            tls::stream c = tls::stream::connect("localhost", peer.port(), trusting_client(), 5s);
            for (std::size_t sent = 0; sent < total; sent += line.size()) c.write_all(line);
            c.shutdown();
            drainer.join();
        });
        std::string out = peer.output();
        CHECK(out.size() >= total);
        CHECK(out.find(line + line) != std::string::npos);
    }
    SECTION("from s_server, which sends its stdin") {
        weft::test::s_server peer({"-cert", pki().cert_file("server"), "-key", pki().key_file("server")});
        std::string line(1023, 'y');
        line += '\n';
        run_bounded(60s, [&] {
            tls::stream c = tls::stream::connect("localhost", peer.port(), trusting_client(), 5s);
            c.write_all("hi\n");  // s_server reads stdin only while a client is connected
            auto feeder = weft::spawn([&] {
                weft::this_fiber::sleep_for(50ms);
                // write_stdin blocks the thread; feed it in pieces so the loop keeps reading.
                for (std::size_t sent = 0; sent < total; sent += 64 * line.size()) {
                    std::string chunk;
                    for (int k = 0; k < 64; ++k) chunk += line;
                    peer.write_stdin(chunk);
                    weft::this_fiber::sleep_for(1ms);  // lets the loop poll, so the reader drains
                }
            });
            std::string got(total, '\0');
            c.read_exact(got, 30s);
            feeder.join();
            CHECK(got.find_first_not_of(line) == std::string::npos);
        });
    }
}

TEST_CASE("a self-signed server context, trusted by its certificate") {
    run_bounded(20s, [] {
        auto ctx = tls::context::self_signed({"localhost", "127.0.0.1", "::1"});
        CHECK(ctx.is_server());
        CHECK(ctx.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        tls_echo srv(ctx);
        auto trusting = tls::context::client({.ca_pem = ctx.certificate_pem()});
        for (std::string host : {"localhost", "127.0.0.1"}) {
            tls::stream c = tls::stream::connect(host, srv.port(), trusting, 5s);
            c.write_all("ok");
            std::string got(2, '\0');
            c.read_exact(got);
            CHECK(got == "ok");
        }
        // Another self-signed context's certificate is not trusted by this client.
        tls_echo other(tls::context::self_signed({"localhost"}));
        CHECK(error_of([&] { tls::stream::connect("localhost", other.port(), trusting, 5s); }).code() ==
              tls::errc::untrusted_certificate);
        CHECK(tls::context::client().certificate_pem().empty());
    });
}

TEST_CASE("contexts refuse what cannot work, saying which file and why") {
    auto e = error_of([] { tls::context::server({.cert_file = "/nonexistent.crt", .key_file = "/nonexistent.key"}); });
    CHECK(e.code() == tls::errc::bad_certificate_file);
    CHECK(std::string(e.what()).find("/nonexistent.crt") != std::string::npos);
    e = error_of([] {
        tls::context::server({.cert_file = pki().cert_file("server"), .key_file = pki().key_file("wrong_host")});
    });
    CHECK(e.code() == tls::errc::bad_certificate_file);
    INFO(e.what());
    CHECK(std::string(e.what()).find("mismatch") != std::string::npos);
    CHECK(error_of([] { tls::context::server({}); }).code() == tls::errc::bad_certificate_file);
    CHECK(error_of([] { tls::context::client({.ca_file = "/nonexistent-ca.pem"}); }).code() ==
          tls::errc::bad_certificate_file);
    CHECK(error_of([] { tls::context::client({.ca_pem = "not PEM"}); }).code() == tls::errc::bad_certificate_file);
    run_bounded(10s, [] {
        // A client context cannot accept, a server context cannot connect.
        auto l = net::tcp_listener::bind(net::address::loopback());
        net::tcp_stream a = net::tcp_stream::connect(l.local_address(), 5s);
        std::error_code ec;
        tls::stream::accept(l.accept(5s), trusting_client(), 1s, ec);
        CHECK(ec == std::errc::invalid_argument);
        tls::stream::connect(std::move(a), "localhost", server_ctx(), 1s, ec);
        CHECK(ec == std::errc::invalid_argument);
    });
}

TEST_CASE("connections made at once each resume, with a ticket of their own") {
    run_bounded(30s, [] {
        tls_echo srv(server_ctx());
        auto ctx = trusting_client();
        auto round = [&] {
            std::vector<weft::task<bool>> conns;
            for (int i = 0; i < 4; ++i)
                conns.push_back(weft::spawn([&] {
                    tls::stream c = tls::stream::connect("localhost", srv.port(), ctx, 5s);
                    c.write_all("x");
                    char b[1];
                    c.read_exact(b);  // the server's ticket comes before the echo
                    return c.session_reused();
                }));
            int reused = 0;
            for (auto& c : conns) reused += c.join() ? 1 : 0;
            return reused;
        };
        CHECK(round() == 0);  // nothing cached yet: four full handshakes, four tickets
        CHECK(round() == 4);
        CHECK(round() == 4);  // resumed connections leave fresh tickets behind
    });
}

TEST_CASE("the error_code forms never throw: outside a fiber they say no_scheduler", "[tls][rule]") {
    std::error_code ec;
    tls::stream none;
    char buf[8];
    CHECK_NOTHROW(none.read_some(buf, ec));
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(none.write_all("x", 1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
    std::string line;
    CHECK_NOTHROW(none.read_until(line, "\n", 100, ec));
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(none.shutdown(1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
    auto ctx = trusting_client();
    CHECK_NOTHROW(tls::stream::connect("localhost", 1, ctx, 1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(tls::stream::connect(net::tcp_stream(), "localhost", ctx, 1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
    CHECK_NOTHROW(tls::stream::accept(net::tcp_stream(), server_ctx(), 1s, ec));
    CHECK(ec == weft::errc::no_scheduler);
}

TEST_CASE("a handshake's timeout_error names the call and its timeout", "[tls][timeout][rule]") {
    run_bounded(20s, [] {
        auto l = net::tcp_listener::bind(net::address::loopback());
        net::tcp_stream silent = net::tcp_stream::connect(l.local_address(), 5s);
        auto e = error_of([&] { tls::stream::accept(l.accept(5s), server_ctx(), 20ms); });
        CHECK(e.code() == weft::errc::timed_out);
        CHECK_THAT(e.what(), Catch::StartsWith("weft::tls::stream::accept from 127.0.0.1:") &&
                                 Catch::EndsWith(" (timeout 20 ms): deadline passed"));
    });
}

TEST_CASE("a TLS stream used outside its run says so instead of crashing") {
    std::optional<tls::stream> kept;
    std::optional<weft::net::tcp_listener> listener;
    const int fds_before = weft::test::open_fds();
    weft::test::watchdog dog(10s, "tls stream outside its run");
    weft::run([&] {  // not run_bounded: the stream and the listener outlive the run on purpose
        listener = net::tcp_listener::bind(net::address::loopback());
        auto srv = weft::spawn([&] {
            tls::stream s = tls::stream::accept(listener->accept(5s), server_ctx(), 5s);
            char b[1];
            std::error_code ec;
            s.read_some(b, 1s, ec);
        });
        kept = tls::stream::connect("localhost", listener->local_address().port(), trusting_client(), 5s);
        kept->write_all("x");
        srv.join();
    });
    char b[8];
    std::error_code ec;
    CHECK(kept->read_some(b, ec) == 0);
    CHECK((ec == weft::errc::no_scheduler || ec == std::errc::bad_file_descriptor));
    CHECK(kept->write_all("y", ec) == 0);
    CHECK(ec);
    kept.reset();
    listener.reset();
    CHECK(weft::test::open_fds() == fds_before);
}
