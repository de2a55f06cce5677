// SPDX-License-Identifier: MIT
// weft::http::client as a session against weft's own server on 127.0.0.1:
// connection limits, compressed bodies, streamed bodies both ways,
// credentials across redirects, retries, cookies and the default timeouts.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#ifdef WEFT_TEST_BROTLI
#include <brotli/encode.h>
#endif

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"
#include "support/serving.hpp"

using namespace std::chrono_literals;
using weft::http::errc;
using weft::http::request;
using weft::http::response;
using weft::test::error_of;
using weft::test::hello;
using weft::test::serving;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

std::string text(std::size_t n) {
    std::string s;
    while (s.size() < n) s += "the quick brown fox jumps over the lazy dog " + std::to_string(s.size()) + "\n";
    s.resize(n);
    return s;
}

// compress() is `data` through zlib: window_bits 15 + 16 is gzip, 15 zlib
// (HTTP's deflate), -15 raw deflate.
std::string compress(std::string_view data, int window_bits) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string gzip(std::string_view data) { return compress(data, 15 + 16); }

// zeros_gzip() is `n` zero bytes, gzipped in pieces: a bomb of n bytes in
// about n/1000 bytes.
std::string zeros_gzip(std::uint64_t n) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::vector<char> zeros(1 << 20, 0);
    std::string out;
    std::vector<char> buf(64 * 1024);  // (a fiber's stack is small)
    for (std::uint64_t left = n;;) {
        const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
        left -= piece;
        z.next_in = reinterpret_cast<Bytef*>(zeros.data());
        z.avail_in = static_cast<uInt>(piece);
        const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        int rc = Z_OK;
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf.data());
            z.avail_out = static_cast<uInt>(buf.size());
            rc = deflate(&z, flush);
            out.append(buf.data(), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
        if (left == 0) {
            REQUIRE(rc == Z_STREAM_END);
            break;
        }
    }
    deflateEnd(&z);
    return out;
}

// resident_bytes() is this process's resident memory now.
std::uint64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (f) {
        if (std::fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::uint64_t>(resident) * 4096;
}

// encoded() is a response with `body` under Content-Encoding `coding`.
response encoded(std::string body, std::string coding) {
    response r(200, std::move(body));
    r.headers.add("Content-Encoding", std::move(coding));
    return r;
}

}  // namespace

// ------------------------------------------------------------------ limits

TEST_CASE("a client never has more connections open to a host than max_connections_per_host",
          "[http][session][limits]") {
    weft::test::run_bounded(30s, [] {
        std::size_t now = 0, peak = 0;
        serving s([&](const request&) {
            peak = std::max(peak, ++now);
            weft::this_fiber::sleep_for(5ms);
            --now;
            return response(200, "ok");
        });
        weft::http::client c({.max_connections = 0, .max_connections_per_host = 4});
        std::vector<weft::task<bool>> fetches;
        for (int i = 0; i < 200; ++i) fetches.push_back(weft::spawn([&] { return c.get(s.url()).body == "ok"; }));
        int ok = 0;
        for (auto& f : fetches) ok += f.join();
        CHECK(ok == 200);
        CHECK(peak == 4);            // the cap, and all of it used
        CHECK(s.srv.served() == 4);  // four connections, kept alive, carried everything
        CHECK(c.open_connections() == 4);
        CHECK(c.idle_connections() == 4);
    });
}

TEST_CASE("max_connections bounds every host together; an idle connection makes room for another host",
          "[http][session][limits]") {
    weft::test::run_bounded(30s, [] {
        std::size_t now = 0, peak = 0;
        auto slow = [&](const request&) {
            peak = std::max(peak, ++now);
            weft::this_fiber::sleep_for(5ms);
            --now;
            return response(200, "ok");
        };
        serving a(slow), b(slow), d(slow);
        weft::http::client c({.max_connections = 3, .max_connections_per_host = 0});
        std::vector<weft::task<bool>> fetches;
        for (int i = 0; i < 90; ++i) {
            const std::string url = (i % 3 == 0 ? a : i % 3 == 1 ? b : d).url();
            fetches.push_back(weft::spawn([&c, url] { return c.get(url).body == "ok"; }));
        }
        int ok = 0;
        for (auto& f : fetches) ok += f.join();
        CHECK(ok == 90);
        CHECK(peak <= 3);
        CHECK(c.open_connections() <= 3);
    });
}

TEST_CASE("requests waiting for a slot go first come, first served, each within its own timeout",
          "[http][session][limits]") {
    weft::test::run_bounded(30s, [] {
        std::vector<std::string> order;
        serving s([&](const request& req) {
            order.emplace_back(req.path());
            weft::this_fiber::sleep_for(20ms);
            return response(200, "ok");
        });
        weft::http::client c({.max_connections = 1, .max_connections_per_host = 1});
        std::vector<weft::task<void>> fetches;
        for (int i = 0; i < 10; ++i) {
            fetches.push_back(weft::spawn([&, i] { (void)c.get(s.url("/" + std::to_string(i))); }));
            weft::this_fiber::yield();  // each one queued before the next starts
        }
        for (auto& f : fetches) f.join();
        REQUIRE(order.size() == 10);
        for (int i = 0; i < 10; ++i) CHECK(order[static_cast<std::size_t>(i)] == "/" + std::to_string(i));

        // One request holds the only slot; another waits 100 ms for it, then gives up.
        auto holder = weft::spawn([&] { (void)c.get(s.url("/hold")); });
        weft::this_fiber::yield();
        weft::http::options o;
        o.timeout = 10ms;
        auto e = error_of([&] { (void)c.get(s.url("/late"), o); });
        CHECK(e.code() == weft::errc::timed_out);
        CHECK_THAT(e.what(), Catch::Contains("waiting for a connection"));
        holder.join();
        CHECK(c.get(s.url("/after")).body == "ok");  // the waiter left nothing behind
        CHECK(c.open_connections() == 1);
    });
}

TEST_CASE("the default client keeps 10,000 fibers on one host to 64 sockets", "[http][session][limits]") {
    CHECK(weft::http::client_options{}.max_connections_per_host == 64);
    CHECK(weft::http::client_options{}.max_connections == 256);
    weft::test::run_bounded(60s, [] {
        std::size_t now = 0, peak = 0;
        serving s([&](const request&) {
            peak = std::max(peak, ++now);
            weft::this_fiber::yield();
            --now;
            return response(200, "ok");
        });
        const int n = sanitized ? 2000 : 10000;
        std::vector<weft::task<bool>> fetches;
        fetches.reserve(n);
        for (int i = 0; i < n; ++i)
            fetches.push_back(weft::spawn([&] { return weft::http::get(s.url()).body == "ok"; }));
        int ok = 0;
        for (auto& f : fetches) ok += f.join();
        CHECK(ok == n);
        CHECK(peak <= 64);
        CHECK(s.srv.served() <= 64);
    });
}

// ------------------------------------------------------------------ decoding

TEST_CASE("gzip and deflate bodies are decoded, Content-Encoding stays visible", "[http][session][decode]") {
    weft::test::run_bounded(30s, [] {
        const std::string plain = text(300'000);
        std::string seen_accept;
        serving s([&](const request& req) {
            seen_accept = std::string(req.headers.get("Accept-Encoding").value_or(""));
            if (req.path() == "/gzip") return encoded(gzip(plain), "gzip");
            if (req.path() == "/deflate") return encoded(compress(plain, 15), "deflate");
            if (req.path() == "/raw-deflate") return encoded(compress(plain, -15), "deflate");
            if (req.path() == "/two-members") {  // gzip members one after the other: one body (RFC 1952 2.2)
                const std::size_t half = plain.size() / 2;
                return encoded(
                    gzip(std::string_view(plain).substr(0, half)) + gzip(std::string_view(plain).substr(half)), "gzip");
            }
            if (req.path() == "/chunked-gzip") {
                auto body = std::make_shared<std::string>(gzip(plain));
                response r = encoded("", "gzip");
                r.body_source = [body, at = std::size_t(0)](std::span<char> buf) mutable {
                    std::size_t n = std::min<std::size_t>({buf.size(), body->size() - at, 1000});
                    std::copy_n(body->data() + at, n, buf.data());
                    at += n;
                    return n;
                };
                return r;
            }
            return response(200, plain);
        });
        for (const char* path : {"/gzip", "/deflate", "/raw-deflate", "/two-members", "/chunked-gzip"}) {
            INFO(path);
            response r = weft::http::get(s.url(path));
            CHECK(r.body == plain);
            CHECK(r.headers.get("Content-Encoding").has_value());
            if (std::string_view(path) == "/chunked-gzip") CHECK(r.headers.get("Transfer-Encoding") == "chunked");
        }
        CHECK_THAT(seen_accept, Catch::StartsWith("gzip, deflate"));

        // decompress = false: the bytes as sent, and no Accept-Encoding asked for.
        weft::http::options raw;
        raw.decompress = false;
        response r = weft::http::get(s.url("/gzip"), raw);
        CHECK(r.body == gzip(plain));
        CHECK(seen_accept.empty());

        // A request that sets its own Accept-Encoding decodes for itself.
        request own;
        own.target = s.url("/gzip");
        own.headers.add("Accept-Encoding", "gzip");
        CHECK(weft::http::send(own).body == gzip(plain));
    });
}

#ifdef WEFT_TEST_BROTLI
TEST_CASE("br bodies are decoded when weft has Brotli", "[http][session][decode]") {
    weft::test::run_bounded(30s, [] {
        const std::string plain = text(200'000);
        std::string br(BrotliEncoderMaxCompressedSize(plain.size()), '\0');
        std::size_t size = br.size();
        REQUIRE(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, plain.size(),
                                      reinterpret_cast<const uint8_t*>(plain.data()), &size,
                                      reinterpret_cast<uint8_t*>(br.data())) == BROTLI_TRUE);
        br.resize(size);
        std::string accept;
        serving s([&](const request& req) {
            accept = std::string(req.headers.get("Accept-Encoding").value_or(""));
            return encoded(br, "br");
        });
        CHECK(weft::http::get(s.url()).body == plain);
        CHECK(accept == "gzip, deflate, br");
    });
}
#endif

TEST_CASE("a gzip bomb stops at max_body_bytes in bounded memory; a corrupt stream is its own error",
          "[http][session][decode]") {
    weft::test::run_bounded(60s, [] {
        const std::string bomb = zeros_gzip(1ull << 30);  // 1 GiB of zeros in about 1 MiB
        std::string corrupt = gzip(text(100'000));
        corrupt[corrupt.size() / 2] ^= 0x55;
        serving s([&](const request& req) {
            if (req.path() == "/bomb") return encoded(bomb, "gzip");
            if (req.path() == "/corrupt") return encoded(corrupt, "gzip");
            if (req.path() == "/zstd") return encoded("whatever", "zstd");
            return encoded("not gzip at all", "gzip");
        });
        weft::http::options o;
        o.max_body_bytes = 10 * 1024 * 1024;
        const std::uint64_t before = resident_bytes();
        auto e = error_of([&] { (void)weft::http::get(s.url("/bomb"), o); });
        CHECK(e.code() == errc::body_too_large);
        CHECK_THAT(e.what(), Catch::Contains("max_body_bytes = 10485760 bytes decoded"));
        CHECK(resident_bytes() < before + 64 * 1024 * 1024);  // the 10 MiB string, not gigabytes

        CHECK(error_of([&] { (void)weft::http::get(s.url("/corrupt")); }).code() == errc::bad_content_encoding);
        CHECK(error_of([&] { (void)weft::http::get(s.url("/garbage")); }).code() == errc::bad_content_encoding);
        CHECK(error_of([&] { (void)weft::http::get(s.url("/zstd")); }).code() == errc::unsupported_content_encoding);
        CHECK(weft::http::get(s.url("/zstd"),
                              [] {
                                  weft::http::options raw;
                                  raw.decompress = false;
                                  return raw;
                              }())
                  .body == "whatever");
    });
}

// ------------------------------------------------------------------ streaming

TEST_CASE("a large body streams through a fixed buffer in flat memory", "[http][session][stream]") {
    weft::test::run_bounded(120s, [] {
        const std::uint64_t total = sanitized ? (256ull << 20) : (1ull << 30);  // 1 GiB (256 MiB under ASan)
        serving s([&](const request& req) {
            if (req.path() != "/big") return response(200, "small");
            response r;
            r.body_length = total;
            r.body_source = [left = total](std::span<char> buf) mutable {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
                std::fill_n(buf.data(), n, 'x');
                left -= n;
                return n;
            };
            return r;
        });
        request req;
        req.target = s.url("/big");
        weft::http::options o;
        o.max_body_bytes = total;
        const std::uint64_t before = resident_bytes();
        weft::http::response_stream body = weft::http::default_client().open(req, o);
        CHECK(body.status() == 200);
        CHECK(body.content_length() == total);
        std::vector<char> buf(64 * 1024);
        std::uint64_t got = 0;
        bool all_x = true;
        std::uint64_t peak = 0;
        for (std::size_t n; (n = body.read_some(buf)) > 0;) {
            got += n;
            all_x = all_x && buf[0] == 'x' && buf[n - 1] == 'x';
            if ((got & ((64u << 20) - 1)) < n) peak = std::max(peak, resident_bytes());
        }
        CHECK(got == total);
        CHECK(all_x);
        CHECK(body.done());
        CHECK(peak < before + 64 * 1024 * 1024);
        // Read to its end, the connection went back to the pool.
        CHECK(weft::http::get(s.url()).status == 200);
        CHECK(s.srv.served() == 1);
    });
}

TEST_CASE("a stream closed before its end drops its connection; the limit holds for streams",
          "[http][session][stream]") {
    weft::test::run_bounded(30s, [] {
        const std::string big = text(1 << 20);
        serving s([&](const request&) { return response(200, big); });
        request req;
        req.target = s.url();
        {
            auto body = weft::http::default_client().open(req);
            char buf[100];
            CHECK(body.read_some(buf) > 0);
            CHECK_FALSE(body.done());
        }
        CHECK(weft::http::get(s.url()).body == big);
        CHECK(s.srv.served() == 2);  // the half-read connection was closed, not reused

        weft::http::options o;
        o.max_body_bytes = 1000;
        o.timeout = 10s;
        // Content-Length over the limit: refused before reading.
        CHECK(error_of([&] { (void)weft::http::default_client().open(req, o); }).code() == errc::body_too_large);
        auto body = weft::http::default_client().open(
            [&] {
                request r = req;
                r.target = s.url("/again");
                return r;
            }(),
            [] {
                weft::http::options big_enough;
                big_enough.max_body_bytes = 1 << 20;
                return big_enough;
            }());
        CHECK(body.read_all() == big);
    });
}

TEST_CASE("a request body streams from a source, with Content-Length or chunked; the server reads it as it comes",
          "[http][session][stream]") {
    weft::test::run_bounded(60s, [] {
        weft::http::server_options so;
        so.stream_request_bodies = true;
        so.max_body_bytes = 1ull << 30;
        serving s(
            [](const request& req) {
                std::uint64_t n = 0, sum = 0;
                std::vector<char> buf(16 * 1024);
                for (std::size_t got; (got = req.body_source(buf)) > 0;) {
                    n += got;
                    for (std::size_t i = 0; i < got; ++i) sum += static_cast<unsigned char>(buf[i]);
                }
                response r(200, std::to_string(n) + " " + std::to_string(sum));
                r.headers.add("X-Framing", req.headers.get("Transfer-Encoding") ? "chunked" : "length");
                return r;
            },
            so);
        const std::uint64_t size = 20 * 1024 * 1024 + 7;
        auto source = [](std::uint64_t total) {
            return [left = total, k = std::uint64_t(0)](std::span<char> buf) mutable {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
                for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<char>((k++) % 251);
                left -= n;
                return n;
            };
        };
        std::uint64_t expect_sum = 0;
        for (std::uint64_t k = 0; k < size; ++k) expect_sum += k % 251;
        const std::string expect = std::to_string(size) + " " + std::to_string(expect_sum);

        request chunked;
        chunked.method = "POST";
        chunked.target = s.url("/up");
        chunked.body_source = source(size);
        response r = weft::http::send(chunked);
        CHECK(r.body == expect);
        CHECK(r.headers.get("X-Framing") == "chunked");

        request sized = chunked;
        sized.body_source = source(size);
        sized.body_length = size;
        r = weft::http::send(sized);
        CHECK(r.body == expect);
        CHECK(r.headers.get("X-Framing") == "length");

        // A source that gives less than body_length: a clear error, not a hang.
        request short_one = chunked;
        short_one.body_source = source(10);
        short_one.body_length = 11;
        auto e = error_of([&] { (void)weft::http::send(short_one); });
        CHECK(e.code() == errc::bad_content_length);
        CHECK_THAT(e.what(), Catch::Contains("gave 10 bytes, body_length says 11"));

        // A file as the source.
        char path[] = "/tmp/weft-upload-XXXXXX";
        int fd = ::mkstemp(path);
        REQUIRE(fd >= 0);
        std::string content = text(3 * 1024 * 1024 + 1);
        REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        ::close(fd);
        request file;
        file.method = "PUT";
        file.target = s.url("/file");
        std::uint64_t file_size = 0;
        file.body_source = weft::http::file_source(path, &file_size);
        file.body_length = file_size;
        std::uint64_t file_sum = 0;
        for (unsigned char c : content) file_sum += c;
        CHECK(weft::http::send(file).body == std::to_string(content.size()) + " " + std::to_string(file_sum));
        ::unlink(path);
    });
}

// ------------------------------------------------------------------ credentials, redirects, retries, cookies

TEST_CASE("user:password in a URL is Basic auth to that origin only, across redirects", "[http][session][auth]") {
    weft::test::run_bounded(30s, [] {
        std::vector<std::string> seen_other;
        serving other([&](const request& req) {
            seen_other.emplace_back(req.headers.get("Authorization").value_or("none"));
            return response(200, "other");
        });
        std::vector<std::string> seen;
        serving s([&](const request& req) {
            seen.emplace_back(req.headers.get("Authorization").value_or("none"));
            if (req.path() == "/here") {
                response r(302, "");
                r.headers.add("Location", "/there");
                return r;
            }
            if (req.path() == "/away") {
                response r(302, "");
                r.headers.add("Location", other.url("/x"));
                return r;
            }
            return response(200, "ok");
        });
        const std::string base = "http://Aladdin:open%20sesame@" + s.srv.local_address().to_string();
        CHECK(weft::http::get(base + "/here").body == "ok");
        REQUIRE(seen.size() == 2);
        CHECK(seen[0] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617's example
        CHECK(seen[1] == seen[0]);                               // same origin: kept
        CHECK(weft::http::get(base + "/away").body == "other");
        CHECK(seen_other == std::vector<std::string>{"none"});  // another origin: never
        // An error message never shows the password.
        auto e = error_of([&] { (void)weft::http::get("http://u:secret@127.0.0.1:1/"); });
        CHECK_THAT(e.what(), !Catch::Contains("secret"));
    });
}

TEST_CASE("retries: 503 with Retry-After, connection errors, never a POST, always within the timeout",
          "[http][session][retry]") {
    weft::test::run_bounded(60s, [] {
        int calls = 0;
        serving s([&](const request& req) {
            ++calls;
            if (req.path() == "/flaky" && calls < 3) {
                response r(503, "busy");
                r.headers.add("Retry-After", "1");
                return r;
            }
            if (req.path() == "/down") return response(502, "down");
            return response(200, "ok");
        });
        weft::http::options o;
        o.retries = 3;
        o.retry_backoff = 10ms;
        auto start = weft::clock::now();
        response r = weft::http::get(s.url("/flaky"), o);
        CHECK(r.body == "ok");
        CHECK(calls == 3);
        CHECK(weft::clock::now() - start >= 2s);  // Retry-After: 1, twice

        calls = 0;
        CHECK(weft::http::get(s.url("/down"), o).status == 502);  // the last answer, after the retries
        CHECK(calls == 4);

        calls = 0;
        request post;
        post.method = "POST";
        post.target = s.url("/down");
        CHECK(weft::http::send(post, o).status == 502);
        CHECK(calls == 1);

        // A Retry-After past the timeout ends the retries at once.
        calls = 0;
        o.timeout = 500ms;
        start = weft::clock::now();
        CHECK(weft::http::get(s.url("/flaky"), o).status == 503);
        CHECK(calls == 1);
        CHECK(weft::clock::now() - start < 500ms);

        // Connection refused, retried with backoff, then the error.
        auto closed = weft::net::tcp_listener::bind(weft::net::address::loopback());
        const std::string gone = "http://" + closed.local_address().to_string() + "/";
        closed.close();
        o.timeout = 10s;
        o.retries = 2;
        auto e = error_of([&] { (void)weft::http::get(gone, o); });
        CHECK(e.code() == std::errc::connection_refused);
    });
}

TEST_CASE("a client with cookies keeps them: Set-Cookie in, Cookie out, per path", "[http][session][cookies]") {
    weft::test::run_bounded(30s, [] {
        serving s([](const request& req) {
            if (req.path() == "/login") {
                response r(200, "in");
                r.headers.add("Set-Cookie", "session=abc123; Path=/; HttpOnly");
                r.headers.add("Set-Cookie", "admin=1; Path=/admin");
                return r;
            }
            return response(200, std::string(req.headers.get("Cookie").value_or("")));
        });
        weft::http::client c({.cookies = true});
        REQUIRE(c.cookies() != nullptr);
        CHECK(c.get(s.url("/me")).body.empty());
        CHECK(c.get(s.url("/login")).body == "in");
        CHECK(c.get(s.url("/me")).body == "session=abc123");
        CHECK(c.get(s.url("/admin/x")).body == "admin=1; session=abc123");
        CHECK(c.cookies()->size() == 2);
        // Off by default.
        weft::http::client plain;
        CHECK(plain.cookies() == nullptr);
        (void)plain.get(s.url("/login"));
        CHECK(plain.get(s.url("/me")).body.empty());
    });
}

// ------------------------------------------------------------------ timeouts

namespace {

// check_read_timeout() expects a GET of url with a read_timeout of 200 ms to
// fail with timed_out within 2 s, its message naming `phase`.
void check_read_timeout(const std::string& url, const std::string& phase) {
    weft::http::options o;
    o.read_timeout = 200ms;
    auto start = weft::clock::now();
    auto e = error_of([&] { (void)weft::http::get(url, o); });
    CHECK(e.code() == weft::errc::timed_out);
    CHECK(std::string(e.what()) == "weft::http::get " + url + " (" + phase + "; read_timeout 200 ms): deadline passed");
    CHECK(weft::clock::now() - start < 2s);
}

}  // namespace

TEST_CASE("a server that accepts and never answers fails after read_timeout, naming the phase",
          "[http][session][timeout]") {
    weft::test::run_bounded(30s, [] {
        auto mute = weft::net::tcp_listener::bind(weft::net::address::loopback());
        std::vector<weft::net::tcp_stream> held;
        auto acceptor = weft::spawn([&] {
            for (;;) held.push_back(mute.accept());
        });
        check_read_timeout("http://" + mute.local_address().to_string() + "/", "waiting for the response headers");
        acceptor.cancel();
    });
}

TEST_CASE("a body that stops halfway fails after read_timeout; what came with the head is read without one",
          "[http][session][timeout]") {
    weft::test::run_bounded(30s, [] {
        auto peer = weft::net::tcp_listener::bind(weft::net::address::loopback());
        std::vector<weft::net::tcp_stream> held;
        auto server = weft::spawn([&] {
            for (;;) {
                held.push_back(peer.accept());
                std::string buf(4096, '\0');
                held.back().read_some(buf);
                held.back().write_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");  // and no more
            }
        });
        const std::string url = "http://" + peer.local_address().to_string() + "/";
        check_read_timeout(url, "reading the response body");
        // A stream hands out the five bytes that came, then waits for the rest.
        weft::http::options o;
        o.read_timeout = 200ms;
        weft::http::request req;
        req.target = url;
        weft::http::client client;
        auto stream = client.open(req, o);
        std::string got(10, '\0');
        CHECK(stream.read_some(got) == 5);
        CHECK(got.substr(0, 5) == "hello");
        CHECK(error_of([&] { stream.read_some(got); }).code() == weft::errc::timed_out);
        server.cancel();
    });
}
