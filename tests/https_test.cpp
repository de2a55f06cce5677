// SPDX-License-Identifier: MIT
// https:// end to end over real loopback sockets and real handshakes: weft's
// client against weft's own HTTPS server, against `openssl s_server -WWW`,
// and against tls_peer (a TLS server that sends exactly the bytes a test
// scripts and ends each connection with or without close_notify); keep-alive
// per scheme and TLS context, redirects between http and https, certificate
// checks, a thousand fetches at once, the fault proxy tampering with TLS
// records, and the server's handshake timeout. Certificates are made at test
// time (support/test_pki).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/error_of.hpp"
#include "support/fault_proxy.hpp"
#include "support/run_bounded.hpp"
#include "support/s_server.hpp"
#include "support/serving.hpp"
#include "support/test_pki.hpp"
#include "support/tls_peer.hpp"

using namespace std::chrono_literals;
using weft::http::request;
using weft::http::response;
using weft::test::error_of;
using weft::test::hello;
using weft::test::run_bounded;
using weft::test::serving;
using weft::test::tls_peer;
using then = tls_peer::then;
namespace http = weft::http;
namespace tls = weft::tls;
namespace net = weft::net;

namespace {

const weft::test::pki::bundle& pki() { return weft::test::pki::shared_bundle(); }

tls::context server_ctx(const std::string& name = "server") {
    return tls::context::server({.cert_file = pki().cert_file(name), .key_file = pki().key_file(name)});
}

// tls_server(name) are server options that speak HTTPS with the bundle's `name` certificate.
http::server_options tls_server(const std::string& name = "server") {
    http::server_options o;
    o.tls = server_ctx(name);
    return o;
}

// trusting() are client options that trust the test CA (and only it).
http::options trusting() {
    http::options o;
    o.tls = tls::context::client({.ca_file = pki().ca_file});
    return o;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + (i >> 12));
    return s;
}

// body_for(path) is what a server answers for `path`: unique to it, so a
// reply that went to the wrong request cannot pass for the right one.
std::string body_for(std::string_view path) {
    std::string body = "body of " + std::string(path) + ":";
    // Up to 40 KB: some fit one TLS record, some take three.
    std::size_t n = 200 + std::hash<std::string_view>{}(path) % 40000;
    while (body.size() < n) body += static_cast<char>('a' + body.size() % 26);
    return body;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// temp_dir is a fresh directory under $TMPDIR (or /tmp), removed with everything in it.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string t = (std::filesystem::temp_directory_path() / "weft-https-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const char chunked_reply[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";

}  // namespace

// --- weft's client against weft's server ---

TEST_CASE("https GET and POST with weft's own server: Content-Length and chunked bodies on one connection", "[https]") {
    run_bounded(20s, [] {
        serving s(
            [](const request& req) {
                response r(200, req.method + " " + req.target + " [" + req.body + "]");
                r.headers.add("X-Seen-CL", std::string(req.headers.get("Content-Length").value_or("-")));
                r.headers.add("X-Seen-TE", std::string(req.headers.get("Transfer-Encoding").value_or("-")));
                return r;
            },
            tls_server());
        REQUIRE(s.url().starts_with("https://127.0.0.1:"));
        const auto o = trusting();

        response r = http::get(s.url("/a?x=1"), o);
        CHECK(r.status == 200);
        CHECK(r.body == "GET /a?x=1 []");
        CHECK(r.headers.get("Content-Length") == std::to_string(r.body.size()));

        request post{.method = "POST", .target = s.url("/items"), .body = "{\"n\":1}"};
        r = http::send(post, o);
        CHECK(r.body == "POST /items [{\"n\":1}]");
        CHECK(r.headers.get("X-Seen-CL") == "7");
        CHECK(r.headers.get("X-Seen-TE") == "-");

        // A request that says Transfer-Encoding: chunked goes out in chunks;
        // the server reassembles them.
        request chunked = post;
        chunked.headers.add("Transfer-Encoding", "chunked");
        chunked.body = "a body sent in chunks";
        r = http::send(chunked, o);
        CHECK(r.body == "POST /items [a body sent in chunks]");
        CHECK(r.headers.get("X-Seen-TE") == "chunked");
        CHECK(r.headers.get("X-Seen-CL") == "-");

        CHECK(s.srv.served() == 1);  // all of it over one TLS connection
    });
}

TEST_CASE("a chunked response over TLS, with extensions and a trailer", "[https]") {
    run_bounded(20s, [] {
        tls_peer p(server_ctx(), chunked_reply, then::close_notify);
        response r = http::get(p.url("/c"), trusting());
        CHECK(r.status == 200);
        CHECK(r.body == "Hello, world");
        REQUIRE(p.heads().size() == 1);
        CHECK(p.heads()[0].starts_with("GET /c HTTP/1.1\r\n"));
    });
}

TEST_CASE("10 MiB each way over https: a response body and a request body arrive whole", "[https]") {
    run_bounded(60s, [] {
        const std::string big = pattern(10 * 1024 * 1024);
        auto so = tls_server();
        so.max_body_bytes = 16 * 1024 * 1024;
        serving s(
            [&](const request& req) {
                if (req.method == "POST")
                    return response(200, std::to_string(req.body.size()) + (req.body == big ? " same" : " different"));
                return response(200, big);
            },
            so);
        const auto o = trusting();
        response r = http::get(s.url("/big"), o);
        CHECK(r.status == 200);
        CHECK(r.body.size() == big.size());
        const bool same = r.body == big;
        CHECK(same);

        request post{.method = "POST", .target = s.url("/upload"), .body = big};
        r = http::send(post, o);
        CHECK(r.status == 200);
        CHECK(r.body == std::to_string(big.size()) + " same");
        CHECK(s.srv.served() == 1);
    });
}

TEST_CASE("HEAD over https gets the header only, and the connection stays in step", "[https]") {
    run_bounded(20s, [] {
        serving s(hello, tls_server());
        const auto o = trusting();
        request head{.method = "HEAD", .target = s.url()};
        response r = http::send(head, o);
        CHECK(r.status == 200);
        CHECK(r.headers.get("Content-Length") == "6");
        CHECK(r.body.empty());
        CHECK(http::get(s.url(), o).body == "Hello!");
        CHECK(http::send(head, o).body.empty());
        CHECK(http::get(s.url(), o).body == "Hello!");
        CHECK(s.srv.served() == 1);
    });
}

TEST_CASE("weft's HTTPS server: pipelined requests in one TLS record, and a request a byte per record",
          "[https][server]") {
    run_bounded(20s, [] {
        serving s([](const request& req) { return response(200, req.method + " " + req.target); }, tls_server());
        const auto port = s.srv.local_address().port();
        tls::stream c = tls::stream::connect("127.0.0.1", port, *trusting().tls, 5s);
        c.write_all(
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
            "HEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n"
            "POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
        auto next_reply = [&](std::size_t body_bytes) {
            std::string head;
            c.read_until(head, "\r\n\r\n", 64 * 1024, 5s);
            std::string body(body_bytes, '\0');
            c.read_exact(body, 5s);
            return head.substr(0, head.find("\r\n")) + " | " + body;
        };
        CHECK(next_reply(6) == "HTTP/1.1 200 OK | GET /1");
        CHECK(next_reply(0) == "HTTP/1.1 200 OK | ");  // HEAD: Content-Length 7, no body
        CHECK(next_reply(7) == "HTTP/1.1 200 OK | POST /3");
        // Each byte its own TLS record.
        for (char ch : std::string_view("GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
            c.write_all(std::string_view(&ch, 1));
        CHECK(next_reply(6) == "HTTP/1.1 200 OK | GET /4");
        char b[16];
        std::error_code ec;
        CHECK(c.read_some(b, 5s, ec) == 0);  // Connection: close, then the end of the stream
        CHECK(s.srv.served() == 1);
    });
}

// RFC 8446 6.1: "Each party MUST send a close_notify alert before closing its
// write side of the connection". A client that reads to the end (HTTP/1.0
// style) cannot tell a bare FIN from an attacker's.
TEST_CASE("weft's HTTPS server ends a Connection: close exchange with close_notify", "[https][server]") {
    run_bounded(20s, [] {
        serving s(hello, tls_server());
        for (std::string req : {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"}) {
            INFO(req);
            tls::stream c = tls::stream::connect("127.0.0.1", s.srv.local_address().port(), *trusting().tls, 5s);
            c.write_all(req);
            std::string all;
            char b[4096];
            std::error_code ec;
            while (std::size_t n = c.read_some(b, 5s, ec)) all.append(b, n);
            CHECK(all.ends_with("\r\n\r\nHello!"));
            INFO(ec.message());
            CHECK_FALSE(ec);  // 0 from read_some at close_notify, not errc::truncated
        }
    });
}

// --- a server nobody here wrote ---

TEST_CASE("10 MiB from openssl s_server -WWW, close-delimited, ended by close_notify", "[https][s_server]") {
    temp_dir www;
    const std::string content = pattern(10 * 1024 * 1024);
    {
        std::ofstream f(www.path / "file.bin", std::ios::binary);
        f.write(content.data(), static_cast<std::streamsize>(content.size()));
        REQUIRE(f.good());
    }
    for (std::string version : {"-tls1_3", "-tls1_2"}) {
        INFO(version);
        weft::test::s_server peer(
            {"-cert", pki().cert_file("server"), "-key", pki().key_file("server"), version, "-WWW"}, www.path.string());
        run_bounded(60s, [&] {
            const auto o = trusting();
            // What s_server does at the end of a reply, seen from the TLS
            // layer: an HTTP/1.0 page without Content-Length, then
            // close_notify (read_some() gives 0), not a bare FIN (which
            // would be errc::truncated).
            {
                tls::stream c = tls::stream::connect("localhost", peer.port(), *o.tls, 5s);
                c.write_all("GET /file.bin HTTP/1.0\r\n\r\n");
                std::string all;
                std::vector<char> buf(64 * 1024);
                std::error_code ec;
                for (;;) {
                    std::size_t n = c.read_some(buf, 10s, ec);
                    if (ec || n == 0) break;
                    all.append(buf.data(), n);
                }
                INFO(ec.message());
                CHECK_FALSE(ec);  // close_notify, not errc::truncated
                CHECK(all.starts_with("HTTP/1.0 200 ok\r\n"));
                CHECK_FALSE(contains(all.substr(0, all.find("\r\n\r\n")), "Content-Length"));
                CHECK(all.size() == all.find("\r\n\r\n") + 4 + content.size());
            }
            // So the client takes the close-delimited body as complete.
            response r = http::get("https://localhost:" + std::to_string(peer.port()) + "/file.bin", o);
            CHECK(r.status == 200);
            CHECK_FALSE(r.headers.contains("Content-Length"));
            CHECK(r.body.size() == content.size());
            const bool same = r.body == content;
            CHECK(same);
        });
    }
}

// --- the truncation rule ---

TEST_CASE("a TLS end without close_notify after a body framed by Content-Length or chunks loses nothing",
          "[https][truncation]") {
    run_bounded(20s, [] {
        const auto o = trusting();
        tls_peer length(server_ctx(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", then::fin);
        response r = http::get(length.url(), o);
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
        tls_peer chunks(server_ctx(), chunked_reply, then::fin);
        CHECK(http::get(chunks.url(), o).body == "Hello, world");
        // Bodies that are empty by their framing.
        tls_peer empty(server_ctx(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", then::fin);
        r = http::get(empty.url(), o);
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        tls_peer no_content(server_ctx(), "HTTP/1.1 204 No Content\r\n\r\n", then::fin);
        CHECK(http::get(no_content.url(), o).status == 204);
    });
}

TEST_CASE("a close-delimited body ended without close_notify is tls::errc::truncated", "[https][truncation]") {
    run_bounded(20s, [] {
        const auto o = trusting();
        for (std::string reply : {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this, then EOF",
                                  "HTTP/1.0 200 OK\r\n\r\nold style, then EOF",
                                  "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"}) {  // empty, or cut at once?
            INFO(reply);
            tls_peer p(server_ctx(), reply, then::fin);
            auto e = error_of([&] { http::get(p.url("/cut"), o); });
            INFO(e.what());
            CHECK(e.code() == tls::errc::truncated);
            CHECK(contains(e.what(), p.url("/cut")));
        }
    });
}

TEST_CASE("a close-delimited body ended by close_notify is complete", "[https][truncation]") {
    run_bounded(20s, [] {
        tls_peer p(server_ctx(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this, then close_notify",
                   then::close_notify);
        response r = http::get(p.url(), trusting());
        CHECK(r.status == 200);
        CHECK(r.body == "all of this, then close_notify");
    });
}

TEST_CASE("a Content-Length body cut short is http::errc::truncated_body, close_notify or not", "[https][truncation]") {
    run_bounded(20s, [] {
        const auto o = trusting();
        for (then t : {then::fin, then::close_notify}) {
            tls_peer p(server_ctx(), "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", t);
            auto e = error_of([&] { http::get(p.url(), o); });
            INFO(e.what());
            CHECK(e.code() == http::errc::truncated_body);
        }
        // Chunks cut short, too.
        tls_peer p(server_ctx(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n", then::fin);
        CHECK(error_of([&] { http::get(p.url(), o); }).code() == http::errc::truncated_body);
    });
}

// --- deadlines and cancellation ---

TEST_CASE("connect_timeout bounds the TLS handshake with a server that accepts and says nothing", "[https][timeout]") {
    run_bounded(20s, [] {
        auto listener = net::tcp_listener::bind(net::address::loopback());
        std::vector<net::tcp_stream> held;
        auto holder = weft::spawn([&] {
            for (;;) held.push_back(listener.accept());
        });
        auto o = trusting();
        o.connect_timeout = 300ms;
        const auto start = weft::clock::now();
        const std::string u = "https://" + listener.local_address().to_string() + "/";
        CHECK_THROWS_AS(http::get(u, o), weft::timeout_error);
        const auto took = weft::clock::now() - start;
        CHECK(took >= 300ms);
        CHECK(took < 3s);
        CHECK(held.size() == 1);
        holder.cancel();
        listener.close();
    });
}

TEST_CASE("an https fetch from a server that hangs after the handshake: the timeout ends it, so does cancel()",
          "[https][timeout]") {
    run_bounded(20s, [] {
        tls_peer p(server_ctx(), "", then::hang);  // the handshake, then nothing
        auto o = trusting();
        o.timeout = 300ms;
        auto start = weft::clock::now();
        CHECK_THROWS_AS(http::get(p.url(), o), weft::timeout_error);
        CHECK(weft::clock::now() - start >= 300ms);
        CHECK(weft::clock::now() - start < 3s);

        o.timeout = weft::no_timeout;
        auto fetch = weft::spawn([&] { return http::get(p.url(), o); });
        weft::this_fiber::sleep_for(100ms);
        CHECK_FALSE(fetch.done());
        start = weft::clock::now();
        fetch.cancel();
        CHECK_THROWS_AS(fetch.join(), weft::cancelled);
        CHECK(weft::clock::now() - start < 1s);
        CHECK(p.connections() == 2);
    });
}

// --- keep-alive ---

TEST_CASE("keep-alive over TLS: one connection for sequential requests, a separate one per TLS context",
          "[https][keep-alive]") {
    run_bounded(20s, [] {
        serving s(hello, tls_server());
        auto o = trusting();
        o.timeout = 5s;
        for (int i = 0; i < 10; ++i) REQUIRE(http::get(s.url(), o).body == "Hello!");
        CHECK(s.srv.served() == 1);

        // A context that does not verify never gets (nor gives) the verifying one's connection.
        http::options insecure;
        insecure.timeout = 5s;
        insecure.tls = tls::context::client({.verify = false});
        CHECK(http::get(s.url(), insecure).body == "Hello!");
        CHECK(s.srv.served() == 2);
        CHECK(http::get(s.url(), insecure).body == "Hello!");
        CHECK(http::get(s.url(), o).body == "Hello!");
        CHECK(s.srv.served() == 2);

        // Another context with the same settings is another key too.
        http::options again = trusting();
        CHECK(http::get(s.url(), again).body == "Hello!");
        CHECK(s.srv.served() == 3);

        // Copies of one context share its key.
        http::options copy;
        copy.tls = *o.tls;
        CHECK(http::get(s.url(), copy).body == "Hello!");
        CHECK(s.srv.served() == 3);
    });
}

TEST_CASE("http:// and https:// to the same port are separate pool keys", "[https][keep-alive]") {
    run_bounded(20s, [] {
        auto o = trusting();
        o.timeout = 5s;

        // A pooled TLS connection is not used for an http:// request: that
        // goes out in plaintext on a new connection, which the TLS server refuses.
        serving secure(hello, tls_server());
        CHECK(http::get(secure.url(), o).body == "Hello!");
        const std::string plain_url = "http://" + secure.srv.local_address().to_string() + "/";
        auto e = error_of([&] { http::get(plain_url, o); });
        INFO(e.what());
        CHECK((e.code() == http::errc::closed_before_response || e.code() == std::errc::connection_reset));
        CHECK(secure.srv.served() == 2);
        CHECK(http::get(secure.url(), o).body == "Hello!");  // the TLS one is still pooled
        CHECK(secure.srv.served() == 2);

        // And a pooled plaintext connection is not used for an https:// request.
        serving plain(hello);
        CHECK(http::get(plain.url(), o).body == "Hello!");
        const std::string tls_url = "https://" + plain.srv.local_address().to_string() + "/";
        e = error_of([&] { http::get(tls_url, o); });
        INFO(e.what());
        CHECK(e.code().category() == tls::error_category());  // the handshake met plain HTTP
        CHECK(plain.srv.served() == 2);
        CHECK(http::get(plain.url(), o).body == "Hello!");
        CHECK(plain.srv.served() == 2);
    });
}

TEST_CASE("a pooled TLS connection the server closed is noticed, and a GET still goes through", "[https][keep-alive]") {
    run_bounded(30s, [] {
        const auto o = trusting();
        // weft's server closes an idle connection (no close_notify) while it sits in the pool.
        auto so = tls_server();
        so.idle_timeout = 50ms;
        serving s(hello, so);
        CHECK(http::get(s.url(), o).body == "Hello!");
        weft::this_fiber::sleep_for(200ms);
        CHECK(http::get(s.url(), o).body == "Hello!");
        CHECK(s.srv.served() == 2);

        // A peer that closes only when the next request comes: the request
        // has left, and the answer is an end of stream (with close_notify or
        // without) or a reset. A GET is sent again on a new connection; a
        // POST is not (the error is the caller's).
        for (then t : {then::close_notify, then::fin, then::reset}) {
            INFO("then " << static_cast<int>(t));
            tls_peer p(server_ctx(), [t](int, const std::string&) {
                return tls_peer::reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", t, true};
            });
            CHECK(http::get(p.url(), o).body == "ok");
            CHECK(http::get(p.url(), o).body == "ok");
            CHECK(p.connections() == 2);
            request post{.method = "POST", .target = p.url(), .body = "once"};
            auto e = error_of([&] { http::send(post, o); });
            INFO(e.what());
            if (t == then::reset) {
                CHECK(e.code() == std::errc::connection_reset);
            } else {
                CHECK(e.code() == http::errc::closed_before_response);
            }
            CHECK(p.connections() == 2);
        }
    });
}

// A server that sends more than was asked for after a response (here a
// whole second response, in a TLS record of its own, right behind the
// first) has put its connection out of step: the pool must not hand it out
// again, or the next request gets the stale bytes as its answer. Over plain
// TCP those bytes are in the socket or already read, and the pool sees them;
// over TLS they may sit in OpenSSL's read-ahead buffer, undecrypted.
TEST_CASE("a TLS connection with unasked bytes behind its response is not reused for the next request",
          "[https][keep-alive]") {
    run_bounded(20s, [] {
        tls_peer p(server_ctx(), [](int n, const std::string&) {
            if (n == 0)
                return tls_peer::reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
                                       .after = then::hang,
                                       .more = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"};
            return tls_peer::reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh", .after = then::hang};
        });
        auto o = trusting();
        o.timeout = 5s;
        CHECK(http::get(p.url("/1"), o).body == "first");
        response r = http::get(p.url("/2"), o);
        CHECK(r.body != "stale");  // never another request's answer
        CHECK(r.body == "fresh");
        CHECK(p.connections() == 2);
    });
}

// --- redirects ---

TEST_CASE("redirects between http and https; credentials stay behind when the scheme or host changes",
          "[https][redirect]") {
    run_bounded(30s, [] {
        std::map<std::string, std::string> where;  // path -> Location
        auto site = [&where](std::string name) {
            return [&where, name](const request& req) {
                std::string path(req.path());
                if (auto it = where.find(path); it != where.end()) {
                    response r(302, "");
                    r.headers.add("Location", it->second);
                    return r;
                }
                return response(200, name + " " + req.method + " " + path +
                                         " auth=" + std::string(req.headers.get("Authorization").value_or("-")));
            };
        };
        serving plain(site("plain"));
        serving secure(site("secure"), tls_server());
        serving forged(site("forged"), tls_server("wrong_host"));
        const std::string sport = std::to_string(secure.srv.local_address().port());
        where["/up"] = secure.url("/landing");                         // http -> https
        where["/down"] = plain.url("/landing");                        // https -> http
        where["/same"] = "/landing";                                   // https -> the same origin
        where["/rename"] = "https://localhost:" + sport + "/landing";  // another host name, same server
        where["/forged"] = forged.url("/landing");                     // https -> a certificate for another name

        auto o = trusting();
        o.timeout = 10s;
        request req{.target = plain.url("/up")};
        req.headers.add("Authorization", "Bearer t");
        auto from = [&](const serving& s, const std::string& path) {
            request r = req;
            r.target = s.url(path);
            return http::send(r, o);
        };
        CHECK(from(plain, "/up").body == "secure GET /landing auth=-");
        CHECK(from(secure, "/down").body == "plain GET /landing auth=-");
        CHECK(from(secure, "/same").body == "secure GET /landing auth=Bearer t");
        CHECK(from(secure, "/rename").body == "secure GET /landing auth=-");
        CHECK(from(plain, "/landing").body == "plain GET /landing auth=Bearer t");

        auto e = error_of([&] { from(secure, "/forged"); });
        INFO(e.what());
        CHECK(e.code() == tls::errc::host_mismatch);
        CHECK(forged.srv.served() == 1);  // it got the TCP connection, never the request
    });
}

// --- certificate checks ---

TEST_CASE("certificate checks through the HTTP client: each failure its own tls::errc, naming the host",
          "[https][verify]") {
    run_bounded(30s, [] {
        struct expect {
            const char* cert;
            const char* host;
            tls::errc code;
        };
        for (auto [cert, host, code] : {expect{"expired", "localhost", tls::errc::certificate_expired},
                                        expect{"not_yet_valid", "localhost", tls::errc::certificate_not_yet_valid},
                                        expect{"wrong_host", "127.0.0.1", tls::errc::host_mismatch},
                                        expect{"self_signed", "localhost", tls::errc::untrusted_certificate}}) {
            INFO(cert);
            int handled = 0;
            serving s(
                [&](const request&) {
                    ++handled;
                    return response(200, "must not be seen");
                },
                tls_server(cert));
            const std::string where = std::string(host) + ":" + std::to_string(s.srv.local_address().port());
            auto e = error_of([&] { http::get("https://" + where + "/x", trusting()); });
            INFO(e.what());
            CHECK(e.code() == code);
            CHECK(contains(e.what(), where));
            CHECK(handled == 0);
        }
    });
}

TEST_CASE("without a context the system trust store is used, which does not know the test CA", "[https][verify]") {
    run_bounded(20s, [] {
        serving s(hello, tls_server());
        auto e = error_of([&] { http::get(s.url()); });
        INFO(e.what());
        CHECK(e.code() == tls::errc::untrusted_certificate);
        // The test CA, given, is trusted.
        CHECK(http::get(s.url(), trusting()).body == "Hello!");
    });
}

TEST_CASE("a context with .verify = false accepts a self-signed certificate", "[https][verify]") {
    run_bounded(20s, [] {
        serving s(hello, tls_server("self_signed"));
        http::options insecure;
        insecure.tls = tls::context::client({.verify = false});
        CHECK(http::get(s.url(), insecure).body == "Hello!");
        CHECK(error_of([&] { http::get(s.url(), trusting()); }).code() == tls::errc::untrusted_certificate);
    });
}

TEST_CASE("https to an IPv6 literal is checked against the certificate's IP addresses", "[https][verify]") {
    run_bounded(20s, [] {
        const auto v6 = net::address::loopback(0, net::address::family::v6);
        serving good(hello, tls_server(), v6);
        REQUIRE(good.url().starts_with("https://[::1]:"));
        CHECK(http::get(good.url(), trusting()).body == "Hello!");
        serving forged(hello, tls_server("wrong_host"), v6);
        auto e = error_of([&] { http::get(forged.url(), trusting()); });
        INFO(e.what());
        CHECK(e.code() == tls::errc::host_mismatch);
    });
}

// --- load ---

TEST_CASE("a thousand concurrent https GETs, each from its own fiber, each with its own body", "[https][load]") {
    // Under ASan too: the handshakes' work is OpenSSL's, which is not instrumented.
    static constexpr int n = 1000;
    weft::test::raise_fd_limit(4 * n + 256);
    run_bounded(60s, [] {
        serving s([](const request& req) { return response(200, body_for(req.target)); }, tls_server());
        auto o = trusting();
        o.timeout = 40s;
        o.connect_timeout = 40s;
        const auto start = weft::clock::now();
        std::vector<weft::task<std::string>> clients;
        for (int i = 0; i < n; ++i)
            clients.push_back(weft::spawn([&, i]() -> std::string {
                const std::string path = "/n/" + std::to_string(i);
                try {
                    response r = http::get(s.url(path), o);
                    if (r.status != 200) return "status " + std::to_string(r.status);
                    return r.body == body_for(path) ? "" : "wrong body for " + path;
                } catch (const std::system_error& e) {
                    return e.what();
                }
            }));
        int ok = 0;
        std::map<std::string, int> failures;
        for (auto& c : clients) {
            std::string f = c.join();
            if (f.empty()) {
                ++ok;
            } else {
                ++failures[f];
            }
        }
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(weft::clock::now() - start);
        std::string report = std::to_string(ok) + " of " + std::to_string(n) + " in " + std::to_string(took.count()) +
                             " ms; " + std::to_string(s.srv.served()) + " connections";
        for (const auto& [f, k] : failures) report += "\n" + std::to_string(k) + " x " + f;
        INFO(report);
        CHECK(ok == n);
        CHECK(took < 30s);
    });
}

// --- the fault proxy over TLS ---

namespace {

// kind() names an error for the tally; "" for one the test does not expect.
std::string kind(const std::system_error& e) {
    const std::error_code ec = e.code();
    if (ec == weft::errc::timed_out) return "timed out";
    if (ec.category() == tls::error_category()) return "tls: " + ec.message();
    if (ec.category() == http::error_category()) return "http: " + ec.message();
    if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe) return "socket: " + ec.message();
    return "";
}

}  // namespace

TEST_CASE("2,000 https fetches through a proxy that tampers with TLS records: intact bodies or specific errors",
          "[https][fault]") {
    weft::test::raise_fd_limit(4096);
    run_bounded(150s, [] {
        using weft::test::fault_proxy;
        using fault = fault_proxy::fault;
        auto server = http::server::bind(
            net::address::loopback(), [](const request& req) { return response(200, body_for(req.target)); },
            tls_server());
        auto serving_fiber = weft::spawn([&] { server.serve(); });
        fault_proxy proxy(server.local_address(), [](int n) {
            // Every kind in turn, each cut at a different point: in the
            // handshake's records or in the records of the reply.
            return fault_proxy::plan{static_cast<fault>(n % fault_proxy::fault_kinds),
                                     static_cast<std::size_t>(n * 7919 % 48000)};
        });
        auto https = [&](const std::string& path) {
            std::string u = proxy.url(path);  // "http://127.0.0.1:PORT/..."
            return "https" + u.substr(u.find(':'));
        };

        static constexpr int fibers = 100, each = 20;
        static constexpr auto timeout = 1500ms;
        const auto ctx = *trusting().tls;
        std::map<std::string, int> outcomes;
        int intact = 0, wrong_body = 0;
        weft::clock::duration longest{};
        std::vector<std::string> unexpected;
        std::map<std::string, std::string> examples;  // kind -> the first such error's message
        std::vector<weft::task<void>> clients;
        const auto start = weft::clock::now();
        for (int f = 0; f < fibers; ++f)
            clients.push_back(weft::spawn([&, f] {
                http::options o;
                o.tls = ctx;
                o.timeout = timeout;
                o.keep_alive = f % 2 == 0;  // half through the pool, half on fresh connections
                for (int i = 0; i < each; ++i) {
                    const std::string path = "/f" + std::to_string(f) + "/r" + std::to_string(i);
                    const auto begun = weft::clock::now();
                    try {
                        response r = http::get(https(path), o);
                        if (r.status == 200 && r.body == body_for(path)) {
                            ++intact;
                        } else {
                            ++wrong_body;
                        }
                    } catch (const std::system_error& e) {
                        std::string k = kind(e);
                        ++outcomes[k.empty() ? "unexpected" : k];
                        if (!k.empty()) examples.emplace(k, e.what());
                        if (k.empty()) unexpected.push_back(e.what());
                    }
                    longest = std::max(longest, weft::clock::now() - begun);
                }
            }));
        for (auto& c : clients) c.join();
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(weft::clock::now() - start);

        const auto longest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(longest).count();
        std::string tally = std::to_string(fibers * each) + " fetches in " + std::to_string(took.count()) +
                            " ms; longest fetch: " + std::to_string(longest_ms) +
                            " ms; intact: " + std::to_string(intact) + "; wrong body: " + std::to_string(wrong_body);
        int errors = 0;
        for (const auto& [k, n] : outcomes) {
            tally += "; " + k + ": " + std::to_string(n);
            errors += n;
        }
        for (const auto& [k, what] : examples) tally += "\n  e.g. " + what;
        for (const auto& u : unexpected) tally += "\nunexpected: " + u;
        INFO(tally);
        WARN(tally);
        CHECK(intact + wrong_body + errors == fibers * each);
        CHECK(wrong_body == 0);
        CHECK(unexpected.empty());
        CHECK(longest < timeout + 3s);
        CHECK(intact > fibers * each / 4);
        CHECK(outcomes["timed out"] > 0);  // the stalls
        int tls_errors = 0;
        for (const auto& [k, n] : outcomes) tls_errors += k.starts_with("tls: ") ? n : 0;
        CHECK(tls_errors > 0);  // records cut, doubled or reset reach the TLS layer
        for (int k = 0; k < fault_proxy::fault_kinds; ++k) CHECK(proxy.count(static_cast<fault>(k)) > 0);

        server.stop();
        serving_fiber.join();
        CHECK(server.connections() == 0);
    });
}

// --- the server's handshake timeout ---

TEST_CASE("a client that stalls in the handshake is dropped after handshake_timeout; others are served meanwhile",
          "[https][server]") {
    run_bounded(30s, [] {
        auto so = tls_server();
        so.handshake_timeout = 300ms;
        serving s(hello, so);
        const auto start = weft::clock::now();
        // One sends nothing; one sends half a ClientHello: a handshake
        // record header that announces 512 bytes, and 40 of them.
        net::tcp_stream silent = s.raw();
        net::tcp_stream half = s.raw();
        std::string partial("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
        partial += std::string(29, '\x2a');
        half.write_all(partial);

        // Meanwhile, others come and go (new connections, full handshakes).
        http::options o = trusting();
        o.keep_alive = false;
        int served_meanwhile = 0;
        for (int i = 0; i < 5; ++i) served_meanwhile += http::get(s.url(), o).body == "Hello!";
        const auto others_done = weft::clock::now() - start;
        CHECK(served_meanwhile == 5);

        auto dropped_after = [&](net::tcp_stream& c) {
            char buf[256];
            std::error_code ec;
            std::size_t got = 0;
            weft::with_timeout(5s, [&] {
                while (std::size_t n = c.read_some(buf, ec)) got += n;
            });
            INFO(ec.message());
            CHECK((!ec || ec == std::errc::connection_reset));
            CHECK(got == 0);  // nothing, not even an alert
            return weft::clock::now() - start;
        };
        const auto silent_gone = dropped_after(silent);
        const auto half_gone = dropped_after(half);
        INFO("others done after " << std::chrono::duration_cast<std::chrono::milliseconds>(others_done).count()
                                  << " ms");
        CHECK(others_done < 300ms);  // served while the two stalled, not after
        CHECK(silent_gone >= 300ms);
        CHECK(silent_gone < 3s);
        CHECK(half_gone >= 300ms);
        CHECK(half_gone < 3s);
        weft::this_fiber::sleep_for(50ms);
        CHECK(s.srv.connections() == 0);
        CHECK(s.srv.served() == 7);
    });
}

// A TLS failure after the handshake (here the server's alert: the proxy
// doubles every record the client sends, so the server sees a second
// ClientHello) reaches http::get's caller as the tls::errc it is, and, as
// weft/tls/errors.hpp promises for every exception carrying a tls::errc, with
// OpenSSL's reason: the same one tls::stream::read_some gives for the same fault.
TEST_CASE("a TLS alert in the middle of an https exchange is a tls::errc that says OpenSSL's reason",
          "[https][fault]") {
    run_bounded(20s, [] {
        using weft::test::fault_proxy;
        serving s(hello, tls_server());
        fault_proxy proxy(s.srv.local_address(), [](int) {
            return fault_proxy::plan{fault_proxy::fault::duplicate, 0};
        });
        std::string u = proxy.url("/x");  // "http://127.0.0.1:PORT/x"
        const auto port = static_cast<std::uint16_t>(std::stoi(u.substr(u.rfind(':') + 1)));
        const auto o = trusting();

        // The reason, as the TLS stream itself words it.
        tls::stream c = tls::stream::connect("127.0.0.1", port, *o.tls, 5s);
        c.write_all("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
        char b[64];
        auto direct = error_of([&] { c.read_some(b, 5s); });
        INFO(direct.what());
        REQUIRE(direct.code() == tls::errc::protocol_error);
        const std::string prefix = "weft::tls::stream::read_some: ";
        const std::string text = direct.what();
        const std::string reason = text.substr(prefix.size(), text.rfind(": ") - prefix.size());
        REQUIRE_FALSE(reason.empty());
        REQUIRE(reason != direct.code().message());

        http::options once = o;
        once.keep_alive = false;
        auto e = error_of([&] { http::get("https" + u.substr(u.find(':')), once); });
        INFO(e.what());
        CHECK(e.code() == tls::errc::protocol_error);
        CHECK(contains(e.what(), reason));
    });
}
