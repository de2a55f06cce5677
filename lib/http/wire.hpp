// SPDX-License-Identifier: MIT
// HTTP/1.1 on a connection: reading and writing messages through Boost.Beast.
// wire.cpp is the only file that includes Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>

#include "weft/http/message.hpp"
#include "weft/http/url.hpp"
#include "http/transport.hpp"

namespace weft::http::detail {

struct limits {
    std::size_t header_bytes;
    std::uint64_t body_bytes;
};

// check_request() throws std::system_error(errc::bad_header) when req's
// method or a header field is not valid HTTP (a CR or LF in a value would
// let one header smuggle in another); the client calls it before connecting.
void check_request(const request& req);

// connection is a transport (TCP or TLS) and the bytes read past the last message.
class connection {
public:
    explicit connection(transport t);
    ~connection();
    connection(connection&&) noexcept;
    connection& operator=(connection&&) noexcept;

    transport& stream() noexcept;
    // buffered() is how many bytes were read past the last message.
    std::size_t buffered() const noexcept;

    // --- client side
    // write_request() sends req to `to` in origin form, with Host,
    // User-Agent and Content-Length filled in unless req has them. Throws
    // std::system_error (errc::bad_header for a field that is not valid HTTP,
    // socket errors), weft::timeout_error, weft::cancelled.
    void write_request(const request& req, const url& to, std::string_view user_agent);
    // read_response() reads one response into `out`; `head` says it answers
    // a HEAD (no body). Returns an http::errc for what does not parse, or for
    // limits, and tls::errc::truncated for a body that ended at a TLS
    // connection's end without close_notify; throws for socket and TLS
    // errors, timeouts and cancellation.
    // `reusable` is true when the connection may carry another request.
    std::error_code read_response(response& out, const limits& lim, bool head, bool& reusable);
    // response_started() is whether read_response() got any byte of the
    // response (so the server saw the request).
    bool response_started() const noexcept;

    // --- server side
    // wait_request() waits up to `idle` for the first byte of the next
    // request; false at EOF, or when nothing came in time.
    bool wait_request(std::chrono::nanoseconds idle);
    // read_request() reads the request whose first byte has come: its header
    // within header_timeout (weft::timeout_error otherwise), its body within
    // body_timeout. It answers "Expect: 100-continue" itself. Returns an
    // http::errc for what does not parse or breaks a limit, with `status`
    // the answer the client should get (400, 413, 431).
    std::error_code read_request(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                                 std::chrono::nanoseconds body_timeout, bool& keep_alive, int& status);
    // write_response() sends res; for a HEAD request, only its header.
    // Throws like write_request().
    void write_response(const response& res, bool keep_alive, bool head);

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

}  // namespace weft::http::detail
