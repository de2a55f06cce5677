// SPDX-License-Identifier: MIT
#pragma once

#include <system_error>

namespace weft::http {

// errc lists why an HTTP exchange failed; each has its own message. Socket
// errors (connection_refused, connection_reset, ...) keep their std::errc
// codes, and a passed deadline is weft::timeout_error, as everywhere in weft.
enum class errc {
    bad_url = 1,                   // the URL does not parse (or has no host)
    unsupported_scheme,            // not http:// or https:// (or https:// in a build without TLS)
    bad_header,                    // a header name or value the client was asked to send is not valid HTTP
    closed_before_response,        // the server closed the connection before sending any byte
    malformed_status_line,         // the response's first line is not "HTTP/1.x NNN reason"
    malformed_request_line,        // the request's first line is not "METHOD target HTTP/1.x"
    malformed_header,              // a header field (or its line ending) does not parse
    bad_content_length,            // a Content-Length that is not a number, or two that differ
    bad_transfer_encoding,         // Transfer-Encoding that is not chunked last, or beside Content-Length
    malformed_chunk,               // a chunk size or chunk extension of a chunked body does not parse
    truncated_body,                // the connection closed before the whole body came
    header_too_large,              // the header block (start line to empty line) is over max_header_bytes
    body_too_large,                // the body is longer than the limit (max_body_bytes)
    too_many_redirects,            // more redirects than options::max_redirects
    bad_redirect,                  // a redirect without a usable Location
    unexpected_bytes,              // bytes came that no request asked for
    chunk_line_too_long,           // a chunk-size line with its extensions is over max_header_bytes
    trailer_too_large,             // the last chunk's line and the trailer section are over max_header_bytes
    too_many_interim_responses,    // more than 16 interim (1xx) responses before the final one
    unrequested_upgrade,           // 101 Switching Protocols to a request without Upgrade
    bad_host,                      // a request without Host (HTTP/1.1), with two, or an invalid one
    unsupported_transfer_coding,   // a transfer coding other than chunked (the server answers 501)
    bad_content_encoding,          // a compressed body that does not decode as its Content-Encoding says
    unsupported_content_encoding,  // a Content-Encoding this build cannot decode (decoding was asked for)
    bad_proxy,                     // a proxy URL that does not parse, or is not http://
    proxy_unreachable,             // the proxy itself could not be reached (refused, reset, no such host)
    proxy_auth_required,           // the proxy answered CONNECT with 407 (an http:// request's 407 is a response)
    tunnel_failed,                 // the proxy answered CONNECT with something other than 2xx
    body_not_replayable,           // a redirect or retry would send a streamed request body a second time
};

// error_category() is the category of weft::http::errc ("weft.http").
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

}  // namespace weft::http

template <>
struct std::is_error_code_enum<weft::http::errc> : std::true_type {};
