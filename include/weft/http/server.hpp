// SPDX-License-Identifier: MIT
// The HTTP/1.1 server: a fiber per connection, a plain function per request.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "weft/http/message.hpp"
#include "weft/net/address.hpp"
#include "weft/tls/context.hpp"

namespace weft::http {

// server_options are a server's limits. Each one, when hit, ends the
// connection after a fitting answer (the status in parentheses).
struct server_options {
    // max_header_bytes bounds a request's header block to the byte, from its
    // request line to the empty line that ends it (431); it also bounds each
    // chunk-size line of a chunked body, extensions included (400), and its
    // last chunk's line with the trailer section (431). A body longer than
    // max_body_bytes is refused too (413). Nothing a client sends is held
    // past these limits.
    std::size_t max_header_bytes = 64 * 1024;
    std::uint64_t max_body_bytes = 8 * 1024 * 1024;
    // header_timeout bounds the time from a request's first byte to the end
    // of its header, so a client that drips its header (slowloris) is cut off
    // (408). A new connection's first request gets header_timeout from the
    // connection's start (after the TLS handshake), waiting included: a
    // connection that sends nothing is closed, silently, after
    // header_timeout, not idle_timeout. body_timeout bounds reading the body
    // and writing the response.
    std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);
    std::chrono::nanoseconds body_timeout = std::chrono::seconds(60);
    // idle_timeout closes a kept-alive connection on which no new request
    // starts in time after the last response (silently, as HTTP allows).
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
    // At most max_connections connections are served at once; further ones
    // wait in the kernel's listen backlog until one ends (they are not refused).
    std::size_t max_connections = 10'000;
    int backlog = 1024;
    // reuse_port binds with SO_REUSEPORT, so that a server per thread of a
    // run(run_options{.threads = N}) can listen on one port: the kernel
    // spreads the connections among them.
    bool reuse_port = false;
    // stream_request_bodies calls the handler as soon as a request's header
    // has come, with request::body_source reading the body from the
    // connection as it arrives (each read within body_timeout; more than
    // max_body_bytes in all is errc::body_too_large), for uploads larger
    // than memory. A body the handler leaves unread closes the connection
    // after the response. A response may stream too: see response::body_source.
    bool stream_request_bodies = false;
    // stop() lets requests in progress finish for up to stop_grace, then
    // cancels what is left.
    std::chrono::nanoseconds stop_grace = std::chrono::seconds(5);
    // tls makes the server speak HTTPS with this server context
    // (tls::context::server: the certificate chain and key). Each
    // connection's TLS handshake runs in its own fiber, bounded by
    // handshake_timeout; a client that fails it is dropped.
    std::optional<tls::context> tls;
    std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
};

// server serves HTTP/1.1 on a TCP address. bind() listens at once; serve()
// runs the accept loop in the calling fiber, spawning a fiber per connection
// that reads requests, calls the handler for each, and writes its response
// (keep-alive, unless the client asks to close). A handler that throws gives
// the client a 500 and the exception's text on stderr. A request the server
// cannot read gets 400 (malformed), 408, 413 or 431 and the connection closes;
// so does one that breaks RFC 9112's rules: no Host in HTTP/1.1, two Host
// fields, or an invalid one (400, 3.2); both Content-Length and
// Transfer-Encoding, a bad Content-Length, or Transfer-Encoding in HTTP/1.0
// (400, 6.1 and 6.3: those are how requests get smuggled); a transfer coding
// other than chunked (501). Each refusal's body says why. Empty lines before
// a request line are skipped (2.2; more than 4 KiB of them close the
// connection); "Expect: 100-continue" gets its interim answer from HTTP/1.1
// clients only (RFC 9110 10.1.1).
//
// The server frames what the handler returns: Content-Length (or chunked, for
// a body_source without body_length) replaces the response's own
// Content-Length and Transfer-Encoding, Connection says what the connection
// does (a response's "Connection: close" closes it after the response),
// and "Server: weft" is added when the response names no Server.
//
// The handler runs in the connection's fiber: it may block (sleep, fetch,
// lock), which parks only that connection.
class server {
public:
    using handler = std::function<response(const request&)>;

    // bind(at, h) listens on `at` (port 0: the kernel picks; read it with
    // local_address()). Throws std::system_error (address_in_use, ...) and
    // weft::errc::no_scheduler outside a fiber.
    static server bind(const net::address& at, handler h, server_options opts = {});

    server(server&&) noexcept;
    server& operator=(server&&) noexcept;
    ~server();  // stops (see stop()) if still serving, and waits for that

    // serve() accepts and serves connections until stop(); then it waits for
    // the connection fibers to end and returns. Call it once.
    void serve();
    // stop() stops accepting, closes idle connections, lets the requests in
    // progress finish (their responses say Connection: close) for up to
    // stop_grace, and then cancels the rest. It returns at once; serve()
    // returns when all is done. Safe to call more than once, from any fiber.
    void stop() noexcept;

    net::address local_address() const;
    // url() is "http://" (or "https://") + local_address() + "/", for tests and demos.
    std::string url() const;
    // connections() is how many connections are open now; served() how many
    // were accepted since bind().
    std::size_t connections() const noexcept;
    std::uint64_t served() const noexcept;

private:
    struct state;  // lib/http/server.cpp
    explicit server(std::shared_ptr<state> s) noexcept;
    std::shared_ptr<state> s_;
};

}  // namespace weft::http
