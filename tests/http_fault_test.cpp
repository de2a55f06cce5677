// SPDX-License-Identifier: MIT
// The HTTP client through a proxy that resets, stalls, trickles, truncates
// and duplicates: every fetch ends with its own body intact or a specific
// error, within its deadline, and nothing is left behind. And both client
// and server against a hostile peer that never stops sending (an endless
// line, chunk extension, trailer section, interim answers, a flood): each
// stops it at its limit with a specific error, and memory stays bounded.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "support/error_of.hpp"
#include "support/fault_proxy.hpp"
#include "support/hostile_peer.hpp"
#include "support/run_bounded.hpp"
#include "support/serving.hpp"

using namespace std::chrono_literals;
using weft::http::errc;
using weft::test::endless;
using weft::test::error_of;
using weft::test::fault_proxy;
using weft::test::hostile_server;
using fault = fault_proxy::fault;

namespace {

// body_for(path) is what the server answers for `path`: unique to it, so a
// reply that went to the wrong request cannot pass for the right one.
std::string body_for(std::string_view path) {
    std::string body = "body of " + std::string(path) + ":";
    std::size_t n = 200 + std::hash<std::string_view>{}(path) % 6000;
    while (body.size() < n) body += static_cast<char>('a' + body.size() % 26);
    return body;
}

// kind() names an error for the tally; "" for one the test does not expect.
std::string kind(const std::system_error& e) {
    const std::error_code ec = e.code();
    if (ec == weft::errc::timed_out) return "timed out";
    if (ec == std::errc::connection_reset) return "connection reset";
    if (ec == std::errc::broken_pipe) return "broken pipe";
    if (ec.category() == weft::http::error_category()) return ec.message();
    return "";
}

}  // namespace

TEST_CASE("2,000 fetches through a faulty proxy: intact bodies or specific errors, none late, nothing left",
          "[http][fault]") {
    weft::test::raise_fd_limit(4096);
    weft::test::run_bounded(120s, [] {
        auto server = weft::http::server::bind(weft::net::address::loopback(), [](const weft::http::request& req) {
            return weft::http::response(200, body_for(req.target));
        });
        auto serving = weft::spawn([&] { server.serve(); });
        fault_proxy proxy(server.local_address(), [](int n) {
            // Every kind in turn, each cut at a different point of the reply.
            return fault_proxy::plan{static_cast<fault>(n % fault_proxy::fault_kinds),
                                     static_cast<std::size_t>(n * 7919 % 700)};
        });

        constexpr int fibers = 100, each = 20;
        constexpr auto timeout = 500ms;
        std::map<std::string, int> outcomes;
        int intact = 0, wrong_body = 0;
        weft::clock::duration longest{};
        std::vector<std::string> unexpected;
        std::vector<weft::task<void>> clients;
        for (int f = 0; f < fibers; ++f)
            clients.push_back(weft::spawn([&, f] {
                weft::http::options o;
                o.timeout = timeout;
                o.keep_alive = f % 2 == 0;  // half through the pool, half on fresh connections
                for (int i = 0; i < each; ++i) {
                    const std::string path = "/f" + std::to_string(f) + "/r" + std::to_string(i);
                    const auto start = weft::clock::now();
                    try {
                        weft::http::response r = weft::http::get(proxy.url(path), o);
                        if (r.status == 200 && r.body == body_for(path)) {
                            ++intact;
                        } else {
                            ++wrong_body;
                        }
                    } catch (const std::system_error& e) {
                        std::string k = kind(e);
                        ++outcomes[k.empty() ? "unexpected" : k];
                        if (k.empty()) unexpected.push_back(e.what());
                    }
                    longest = std::max(longest, weft::clock::now() - start);
                }
            }));
        for (auto& c : clients) c.join();

        const auto longest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(longest).count();
        std::string tally = "longest fetch: " + std::to_string(longest_ms) + " ms; intact: " + std::to_string(intact);
        int errors = 0;
        for (const auto& [k, n] : outcomes) {
            tally += "; " + k + ": " + std::to_string(n);
            errors += n;
        }
        for (const auto& u : unexpected) tally += "\nunexpected: " + u;
        INFO(tally);
        CHECK(intact + wrong_body + errors == fibers * each);
        CHECK(wrong_body == 0);
        CHECK(unexpected.empty());
        // Past its deadline a fetch ends as soon as the loop gets to it; on a
        // loaded machine (or under ASan) that can be a while, but not forever.
        CHECK(longest < timeout + 3s);
        CHECK(intact > fibers * each / 4);
        CHECK(outcomes["timed out"] > 0);  // the stalls
        CHECK(outcomes["connection reset"] + outcomes["connection closed in the middle of the body"] > 0);
        for (int k = 0; k < fault_proxy::fault_kinds; ++k) CHECK(proxy.count(static_cast<fault>(k)) > 0);

        server.stop();
        serving.join();
        CHECK(server.connections() == 0);
    });
}

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string status_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

const std::string chunked_post = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string chunked_ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("the server stops a peer that never stops: each at its limit, with its status, and closes",
          "[http][fault][hostile]") {
    weft::test::run_bounded(60s, [] {
        weft::http::server_options o;
        o.max_body_bytes = 1 * MiB;
        int handled = 0;
        weft::test::serving s([&](const weft::http::request&) { return ++handled, weft::http::response(200, "ok"); },
                              o);
        struct attack {
            const char* what;
            endless bytes;
            const char* status;
        };
        const std::vector<attack> attacks = {
            {"an endless request line", weft::test::endless_line("GET /"),
             "HTTP/1.1 431 Request Header Fields Too Large"},
            {"endless header fields", weft::test::endless_fields("GET / HTTP/1.1\r\nHost: x\r\n"),
             "HTTP/1.1 431 Request Header Fields Too Large"},
            {"an endless header value", weft::test::endless_line("GET / HTTP/1.1\r\nHost: x\r\nX-Long: "),
             "HTTP/1.1 431 Request Header Fields Too Large"},
            {"an endless chunk extension", weft::test::endless_chunk_extension(chunked_post),
             "HTTP/1.1 400 Bad Request"},
            {"an endless chunk size", endless{chunked_post, "0"}, "HTTP/1.1 400 Bad Request"},
            {"endless trailers", weft::test::endless_trailers(chunked_post),
             "HTTP/1.1 431 Request Header Fields Too Large"},
            {"a flood of body", weft::test::flood(chunked_post), "HTTP/1.1 413 Content Too Large"},
            {"a flood of empty lines", endless{"", "\r\n"}, ""},  // closed without a word
        };
        for (const auto& a : attacks) {
            INFO(a.what);
            weft::net::tcp_stream c = s.raw();
            weft::test::poured p = weft::test::pour(c, a.bytes);
            CHECK(status_line(p.reply) == a.status);
            CHECK_FALSE(p.capped);
            CHECK(p.sent < 64 * MiB);  // the limit, and what socket buffers and the server's linger took
        }
        CHECK(handled == 0);
        CHECK(weft::http::get(s.url()).body == "ok");
    });
}

TEST_CASE("the client stops a server that never stops: each at its limit, with a specific error",
          "[http][fault][hostile]") {
    weft::test::run_bounded(60s, [] {
        struct attack {
            const char* what;
            endless bytes;
            std::error_code error;
        };
        const std::vector<attack> attacks = {
            {"an endless status line", weft::test::endless_line("HTTP/1.1 200 "), errc::header_too_large},
            {"endless header fields", weft::test::endless_fields("HTTP/1.1 200 OK\r\n"), errc::header_too_large},
            {"an endless chunk extension", weft::test::endless_chunk_extension(chunked_ok), errc::chunk_line_too_long},
            {"an endless chunk size", endless{chunked_ok, "0"}, errc::chunk_line_too_long},
            {"endless trailers", weft::test::endless_trailers(chunked_ok), errc::trailer_too_large},
            {"endless interim responses", weft::test::endless_interim(), errc::too_many_interim_responses},
            {"a flood of body", weft::test::flood(chunked_ok), errc::body_too_large},
            {"a flood of body until the end", endless{"HTTP/1.1 200 OK\r\n\r\n", std::string(4096, 'f')},
             errc::body_too_large},
        };
        weft::http::options o;  // no timeout of its own: the limits end each one
        o.max_body_bytes = 8 * MiB;
        for (const auto& a : attacks) {
            INFO(a.what);
            hostile_server peer(a.bytes);
            CHECK(error_of([&] { weft::http::get(peer.url(), o); }).code() == a.error);
        }
    });
}

// With no limit of their own on chunk lines, both sides buffered an endless
// extension until memory ran out (2 GB and more), and the client's error
// was std::bad_alloc. A few hundred MiB offered, a few MiB held.
TEST_CASE("an endless chunk extension costs neither side memory", "[http][fault][hostile][rss]") {
    weft::test::run_bounded(60s, [] {
        const std::uint64_t offered = 256 * MiB;
        const std::uint64_t before = weft::test::rss_bytes();
        {
            weft::test::serving s(weft::test::hello);
            weft::net::tcp_stream c = s.raw();
            endless attack = weft::test::endless_chunk_extension(chunked_post);
            attack.cap = offered;
            weft::test::poured p = weft::test::pour(c, attack);
            CHECK(status_line(p.reply) == "HTTP/1.1 400 Bad Request");
            CHECK(p.sent < offered / 4);
        }
        CHECK(weft::test::rss_bytes() < before + 64 * MiB);
        {
            endless attack = weft::test::endless_chunk_extension(chunked_ok);
            attack.cap = offered;
            hostile_server peer(attack);
            CHECK(error_of([&] { weft::http::get(peer.url()); }).code() == errc::chunk_line_too_long);
            weft::this_fiber::sleep_for(50ms);  // the peer sees the close
        }
        CHECK(weft::test::rss_bytes() < before + 64 * MiB);
    });
}
