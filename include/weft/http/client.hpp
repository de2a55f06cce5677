// SPDX-License-Identifier: MIT
// The HTTP/1.1 client: get() and send() read like blocking calls and park
// only the calling fiber, so a thousand fibers fetch a thousand URLs at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/errors.hpp"
#include "weft/http/message.hpp"
#include "weft/http/url.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/context.hpp"

namespace weft::http {

// options tunes one request (get/send), redirects included.
struct options {
    // timeout bounds the whole exchange: the lookup, connecting, sending,
    // every redirect and the whole body; passing it throws weft::timeout_error
    // saying the URL and the phase (connecting, TLS handshake, sending,
    // response headers, body). An enclosing with_timeout() applies too (the
    // earlier deadline wins). As every timeout in weft: no_timeout (the
    // default) is no limit of its own, zero is already passed.
    std::chrono::nanoseconds timeout = no_timeout;
    // connect_timeout bounds the lookup, the TCP handshake and (https) the
    // TLS handshake of each new connection.
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(10);
    // tls is the client context for https:// URLs. Without one, the running
    // weft::run() makes a default one on first use: the system's trust
    // store, certificates and host names verified, ALPN "http/1.1", sessions
    // resumed. Pass tls::context::client({...}) for another trust store, or
    // `.verify = false` to accept any certificate (visibly, in the code).
    std::optional<tls::context> tls;
    // Redirects (301, 302, 303, 307, 308 with a Location) are followed up to
    // max_redirects times; one more is errc::too_many_redirects.
    // follow_redirects = false returns the redirect itself.
    bool follow_redirects = true;
    int max_redirects = 10;
    // Responses whose header block (status line to empty line, counted to
    // the byte) is longer than max_header_bytes fail with
    // errc::header_too_large, bodies longer than max_body_bytes with
    // errc::body_too_large (the connection is closed, not reused). In a
    // chunked body, max_header_bytes also bounds each chunk-size line
    // (errc::chunk_line_too_long) and the trailer section
    // (errc::trailer_too_large). More than 16 interim (1xx) responses before
    // the final one are errc::too_many_interim_responses. A body's string
    // never takes more than max_body_bytes of memory: the announced
    // Content-Length is reserved, and a body of unknown length grows by
    // doubling up to the limit, not past it.
    std::size_t max_header_bytes = 64 * 1024;
    std::uint64_t max_body_bytes = 256 * 1024 * 1024;
    // keep_alive reuses connections: after a complete response the
    // connection goes back to the running weft::run()'s pool (at most
    // max_idle_per_host idle connections per scheme, host and port — and TLS
    // context — each closed after idle_timeout unused) for the next request
    // to the same place, from any fiber. A request on a reused connection that the server had
    // closed meanwhile is retried once on a new connection (idempotent methods).
    bool keep_alive = true;
    std::size_t max_idle_per_host = 32;
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
    // user_agent goes in User-Agent unless the request sets its own.
    std::string user_agent = "weft/0.1";
};

// get(url) sends "GET url" (http:// or https://) and returns the response,
// whatever its status: a 404 or a 500 is a response, not an error; a 101 is
// one only when the request asked for an Upgrade. Throws std::system_error
// with an http::errc (bad URL, malformed response, limits, redirects, an
// unrequested 101), a weft::dns code (the host does not resolve), a tls::errc
// (a certificate that does not verify, a failed handshake, a close-delimited
// body cut short without close_notify), a socket error (connection_refused,
// connection_reset, ...), weft::timeout_error or weft::cancelled — never
// std::bad_alloc for what a server sends.
response get(std::string_view url);
response get(std::string_view url, const options& opts);

// send(req) sends any request; req.target is the absolute URL. The client
// adds Host, User-Agent and Content-Length (when there is a body, or for
// POST, PUT and PATCH) unless the request has them. Errors as get().
response send(const request& req);
response send(const request& req, const options& opts);

}  // namespace weft::http
