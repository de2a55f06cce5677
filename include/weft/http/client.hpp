// SPDX-License-Identifier: MIT
// The HTTP/1.1 client: get() and send() read like blocking calls and park
// only the calling fiber, so a thousand fibers fetch a thousand URLs at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "weft/http/cookies.hpp"
#include "weft/http/errors.hpp"
#include "weft/http/message.hpp"
#include "weft/http/url.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/context.hpp"

namespace weft::http {

// options tunes one request (get/send/open), redirects and retries included.
struct options {
    // timeout bounds the whole exchange: the lookup, connecting, waiting for
    // a connection slot, sending, every redirect and retry, and the whole
    // body (for open(): up to the response's header; the body's reads are
    // bounded by read_timeout). Passing it throws weft::timeout_error naming
    // the URL and the phase (waiting for a connection, connecting, TLS
    // handshake, sending, response headers, body) and which timeout it was.
    // An enclosing with_timeout() applies too (the earlier deadline wins).
    // As every timeout in weft: no_timeout is no limit of its own, zero is
    // already passed. The default, 5 minutes, is aiohttp's: a server that
    // accepts and never answers does not hang a fetch forever.
    std::chrono::nanoseconds timeout = std::chrono::minutes(5);
    // connect_timeout bounds the lookup, the TCP handshake, a proxy's CONNECT
    // and (https) the TLS handshake of each new connection.
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(30);
    // read_timeout bounds each wait for the server's next bytes once the
    // request is sent: for the response header and between pieces of the
    // body. A stalled server fails after read_timeout, a slow but moving
    // download does not.
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(60);
    // tls is the client context for https:// URLs. Without one, the running
    // weft::run() makes a default one on first use: the system's trust
    // store, certificates and host names verified, ALPN "http/1.1", sessions
    // resumed. Pass tls::context::client({...}) for another trust store, or
    // `.verify = false` to accept any certificate (visibly, in the code).
    std::optional<tls::context> tls;
    // Redirects (301, 302, 303, 307, 308 with a Location) are followed up to
    // max_redirects times; one more is errc::too_many_redirects.
    // follow_redirects = false returns the redirect itself. Authorization,
    // Cookie and a URL's user:password never follow a redirect to another
    // origin (scheme, host or port).
    bool follow_redirects = true;
    int max_redirects = 10;
    // Responses whose header block (status line to empty line, counted to
    // the byte) is longer than max_header_bytes fail with
    // errc::header_too_large, bodies longer than max_body_bytes with
    // errc::body_too_large (the connection is closed, not reused). A
    // compressed body counts as decoded: a gzip bomb stops at the limit, in
    // bounded memory. The limit holds for a streamed body (open()) too: raise
    // it for a download larger than 256 MiB. In a chunked body,
    // max_header_bytes also bounds each chunk-size line
    // (errc::chunk_line_too_long) and the trailer section
    // (errc::trailer_too_large). More than 16 interim (1xx) responses before
    // the final one are errc::too_many_interim_responses. A body's string
    // never takes more than max_body_bytes of memory.
    std::size_t max_header_bytes = 64 * 1024;
    std::uint64_t max_body_bytes = 256 * 1024 * 1024;
    // keep_alive reuses connections: after a complete response the
    // connection goes back to the client's pool (see client_options) for the
    // next request to the same place, from any fiber. A request on a reused
    // connection that the server had closed meanwhile is sent once more on a
    // new connection (idempotent methods).
    bool keep_alive = true;
    // user_agent goes in User-Agent unless the request sets its own.
    std::string user_agent = "weft/0.1";
    // decompress asks for compressed bodies (Accept-Encoding: gzip, deflate,
    // and br where this build has Brotli) unless the request sets its own
    // Accept-Encoding, and decodes them: the response's body is the decoded
    // bytes, its Content-Encoding header stays as the server sent it. A body
    // that does not decode is errc::bad_content_encoding. With decompress =
    // false the body comes as sent.
    bool decompress = true;
    // proxy sends every request through this HTTP proxy:
    // "http://[user:password@]host:port" (the user and password go as Basic
    // Proxy-Authorization, to the proxy only). http:// requests go to it in
    // absolute form, https:// ones through a CONNECT tunnel (the TLS
    // handshake, verified, is with the origin, end to end). Unset: no proxy,
    // unless proxy_from_environment; set to "": no proxy even then.
    std::optional<std::string> proxy;
    // proxy_from_environment reads http_proxy, https_proxy and no_proxy
    // (lower case, as curl does: HTTP_PROXY can be set by a CGI request's
    // "Proxy:" header, httpoxy; HTTPS_PROXY and NO_PROXY are read too).
    // no_proxy is a comma-separated list of host names (a name matches
    // itself and its subdomains; a leading '.' is the same), IP addresses,
    // and "*" for all.
    bool proxy_from_environment = false;
    // retries is how many times an idempotent request (GET, HEAD, OPTIONS,
    // TRACE, PUT, DELETE) is tried again after a connection error (refused,
    // reset, closed before a response) or a 502, 503 or 504 answer; 0: never.
    // Waits between tries grow from retry_backoff, doubling, with full
    // jitter; a Retry-After (seconds or an HTTP date) is honoured. All of it
    // within `timeout`: a wait that would pass it ends the retries (the last
    // answer is returned, or the last error thrown). A request with a
    // streamed body (request::body_source) is not retried.
    int retries = 0;
    std::chrono::nanoseconds retry_backoff = std::chrono::milliseconds(200);
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

// client_options are a client's: the pool it keeps, its limits, and what
// every request it sends gets.
struct client_options {
    // defaults are each request's options when it passes none.
    http::options defaults{};
    // headers go on every request that does not set a field of that name
    // (an Authorization for an API, say: it is sent to every host).
    http::headers headers{};
    // At most max_connections connections are open at once (in use and
    // idle, all hosts), and at most max_connections_per_host to one scheme,
    // host and port; 0 is no limit. A request beyond them waits for a slot,
    // first come first served, within its own timeout (phase "waiting for a
    // connection"). The defaults keep 10,000 fibers fetching from one host
    // to 64 sockets: a server (or the local port range) is not flooded unless
    // asked. aiohttp's are 100 and none, Go's none and none.
    std::size_t max_connections = 256;
    std::size_t max_connections_per_host = 64;
    // Idle kept-alive connections: at most max_idle_per_host per scheme,
    // host and port (and TLS context, and proxy), each closed after
    // idle_timeout unused. An idle connection is closed to make room when
    // max_connections is reached and a request to another host waits.
    std::size_t max_idle_per_host = 32;
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
    // cookies keeps a cookie jar (RFC 6265: Domain, Path, Secure, Expires
    // and Max-Age): Set-Cookie from responses is stored, and matching
    // cookies go in a Cookie header on later requests. Off by default.
    bool cookies = false;
};

class response_stream;

// client is a session, as aiohttp's ClientSession or Go's http.Client: its
// own pool of kept-alive connections with its limits, default options and
// headers, and an optional cookie jar. Any fiber of the run may use it, many
// at once. It belongs to the weft::run() (the thread) it is first used in,
// and is destroyed there, before run() returns: its connections are that
// run's. http::get() and http::send() use the run's default client.
class client {
public:
    client();
    explicit client(client_options opts);
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;
    ~client();  // closes its idle connections

    // get() and send() as the free functions, with this client's pool,
    // limits, headers and cookies; `opts` replaces settings().defaults.
    response get(std::string_view url);
    response get(std::string_view url, const options& opts);
    response send(const request& req);
    response send(const request& req, const options& opts);
    // open() sends req and returns once the final response's header has
    // come (redirects followed, retries made), with the body still to be
    // read from the stream: a download of any size in constant memory.
    response_stream open(const request& req);
    response_stream open(const request& req, const options& opts);

    const client_options& settings() const noexcept;
    // cookies() is the jar, or nullptr when client_options::cookies is false.
    cookie_jar* cookies() noexcept;
    // open_connections() is how many connections are open now (in use and
    // idle), idle_connections() how many of them wait in the pool.
    std::size_t open_connections() const noexcept;
    std::size_t idle_connections() const noexcept;

    struct state;  // lib/http/client.cpp

private:
    std::shared_ptr<state> s_;
};

// default_client() is the running weft::run()'s client, made on first use
// with client_options{} (http::get and http::send use it). Throws
// std::system_error(errc::no_scheduler) outside a fiber.
client& default_client();

// response_stream is a response whose body is read as it arrives. The
// header is there at once; read_some() returns the next decoded bytes of
// the body. When the body has been read to its end the connection goes back
// to the pool; a stream closed or destroyed before that closes it.
class response_stream {
public:
    response_stream(response_stream&&) noexcept;
    response_stream& operator=(response_stream&&) noexcept;
    ~response_stream();

    int status() const noexcept;
    const std::string& reason() const noexcept;
    const http::headers& headers() const noexcept;
    // content_length() is the Content-Length the server announced (of the
    // body as sent, before decoding), if it announced one.
    std::optional<std::uint64_t> content_length() const noexcept;

    // read_some() reads the next bytes of the body into buf (decoded, if
    // the client decodes it) and returns how many; 0 at the end of the body.
    // Each call waits at most read_timeout for the server; errors as get()
    // (errc::body_too_large past max_body_bytes, errc::truncated_body, ...),
    // naming the URL and "reading the response body".
    std::size_t read_some(std::span<char> buf);
    // read_all() reads the rest of the body into a string (max_body_bytes applies).
    std::string read_all();
    // done() is whether the body has been read to its end; bytes_read() how
    // many bytes read_some() has returned in all.
    bool done() const noexcept;
    std::uint64_t bytes_read() const noexcept;
    // close() drops the connection unless the body was read to its end.
    void close() noexcept;

    struct state;  // lib/http/client.cpp

private:
    friend class client;
    explicit response_stream(std::unique_ptr<state> s) noexcept;
    std::unique_ptr<state> s_;
};

}  // namespace weft::http
