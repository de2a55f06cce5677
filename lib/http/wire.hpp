// SPDX-License-Identifier: MIT
// HTTP/1.1 on a connection: reading and writing messages through Boost.Beast.
// wire.cpp is the only file that includes Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "weft/http/message.hpp"
#include "weft/http/url.hpp"
#include "http/transport.hpp"

namespace weft::http::detail {

// limits bound what one message may make the reader hold. header_bytes
// counts every byte of the header block, from the start line to the empty
// line that ends it; it also bounds what of a chunked body is not data: each
// chunk-size line with its extensions, and the last chunk's line with the
// trailer section.
struct limits {
    std::size_t header_bytes;
    std::uint64_t body_bytes;
};

// max_interim_responses is how many 1xx responses the client takes before
// the final one; one more is errc::too_many_interim_responses.
inline constexpr int max_interim_responses = 16;

// refusal is why the server will not serve a request: the error, the status
// its client gets, and the reason the answer's body gives (RFC sections
// named). Empty (false) when the request was read.
struct refusal {
    std::error_code error;
    int status = 0;
    std::string reason;
    explicit operator bool() const noexcept { return static_cast<bool>(error); }
};

// check_request() throws std::system_error(errc::bad_header) when req's
// method or a header field is not valid HTTP (a CR or LF in a value would
// let one header smuggle in another); the client calls it before connecting.
void check_request(const request& req);
// check_fields() is check_request() for fields alone.
void check_fields(const headers& fields);

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
    // let_go() frees the buffers a client's connection keeps between
    // messages: the head's, and the read buffer when nothing is in it (one
    // going into a pool). read_response_head() does it too, before it waits
    // for the answer's first bytes.
    void let_go() noexcept;

    // --- client side
    // write_request() sends req to `to`: the target in origin form, or in
    // absolute form for a proxy; with Host, and each field of `added` the
    // request does not have (User-Agent, Accept-Encoding, Authorization...),
    // and Content-Length filled in (or chunked, for a body_source without
    // body_length); `added_checked`: check_fields() passed `added` already
    // (a client's fields for every request, checked once). Throws
    // std::system_error (errc::bad_header for a field that is not valid
    // HTTP, errc::bad_content_length for a body_source that gives another
    // length than body_length, socket errors), weft::timeout_error,
    // weft::cancelled, and what a body_source throws.
    void write_request(const request& req, const url& to, const headers& added, bool absolute_form,
                       bool added_checked = false);
    // read_response_head() reads a response's status line and header into
    // `out` (its body stays empty), after at most max_interim_responses
    // interim (1xx) ones; `head` says it answers a HEAD (no body), `upgrade`
    // that the request asked for an upgrade (else a 101 is
    // errc::unrequested_upgrade). Returns an http::errc for what does not
    // parse, or for limits (lim.body_bytes is checked against
    // Content-Length here; read_body_some() does not count); throws for
    // socket and TLS errors, timeouts and cancellation.
    std::error_code read_response_head(response& out, const limits& lim, bool head, bool upgrade);
    // read_body_some() reads the next bytes of the body whose head was read
    // (chunked framing taken off) into buf and sets n to their number; n is 0
    // only at the end of the body (body_done()). Returns an http::errc
    // (errc::truncated_body, errc::malformed_chunk, ...) and
    // tls::errc::truncated for a body that ended at a TLS connection's end
    // without close_notify; throws as read_response_head().
    std::error_code read_body_some(std::span<char> buf, std::size_t& n);
    bool body_done() const noexcept;
    // body_at_hand() is whether the next read_body_some() reads nothing from
    // the socket: the body has ended, or bytes of a body of known length
    // are buffered (it then needs no timeout).
    bool body_at_hand() const noexcept;
    // reusable() is, once the body is done, whether the connection may
    // carry another request (keep-alive, nothing unread, not an upgrade).
    bool reusable() const noexcept;
    // response_started() is whether read_response_head() got any byte of
    // the response (so the server saw the request); header_done() whether
    // it got the final response's whole header.
    bool response_started() const noexcept;
    bool header_done() const noexcept;

    // --- server side
    // wait_request() waits up to `idle` for the first byte of the next
    // request, skipping empty lines (RFC 9112 2.2); false at EOF, when
    // nothing came in time, or after more than max_empty_lines bytes of
    // empty lines.
    static constexpr std::size_t max_empty_lines = 4096;
    bool wait_request(std::chrono::nanoseconds idle);
    // read_request() reads the request whose first byte has come: its header
    // within header_timeout (weft::timeout_error otherwise), its body within
    // body_timeout. It answers "Expect: 100-continue" itself (HTTP/1.1 only,
    // RFC 9110 10.1.1). Returns a refusal for what does not parse, breaks a
    // limit or RFC 9112's rules on Host (3.2) and framing (6.1, 6.3), with
    // the answer the client should get (400, 413, 431, 501).
    refusal read_request(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                         std::chrono::nanoseconds body_timeout, bool& keep_alive);
    // read_request_head() is read_request() up to the body: `out` gets the
    // head, and its body is read with read_body_some() (lim.body_bytes is
    // checked against Content-Length here; the caller counts a chunked
    // body). It answers "Expect: 100-continue" on the first read.
    refusal read_request_head(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                              bool& keep_alive);
    // write_response() sends res (its body, or what its body_source gives);
    // for a HEAD request, only its header. Returns whether the connection
    // may carry another request (an HTTP/1.0 client's streamed body of
    // unknown length ends with the connection). Throws like write_request().
    bool write_response(const response& res, bool keep_alive, bool head);

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

}  // namespace weft::http::detail
