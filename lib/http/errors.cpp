// SPDX-License-Identifier: MIT
#include "weft/http/errors.hpp"

#include <string>

namespace weft::http {

namespace {

class http_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.http"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::bad_url: return "bad URL";
            case errc::unsupported_scheme: return "unsupported URL scheme";
            case errc::bad_header: return "invalid header name or value";
            case errc::closed_before_response: return "server closed the connection before responding";
            case errc::malformed_status_line: return "malformed status line";
            case errc::malformed_request_line: return "malformed request line";
            case errc::malformed_header: return "malformed header field";
            case errc::bad_content_length: return "bad Content-Length";
            case errc::bad_transfer_encoding: return "bad Transfer-Encoding";
            case errc::malformed_chunk: return "malformed chunk in a chunked body";
            case errc::truncated_body: return "connection closed in the middle of the body";
            case errc::header_too_large: return "header larger than the limit";
            case errc::body_too_large: return "body larger than the limit";
            case errc::too_many_redirects: return "too many redirects";
            case errc::bad_redirect: return "redirect without a usable Location";
            case errc::unexpected_bytes: return "unexpected bytes after the message";
            case errc::chunk_line_too_long: return "chunk-size line longer than the limit";
            case errc::trailer_too_large: return "trailer section larger than the limit";
            case errc::too_many_interim_responses: return "too many interim (1xx) responses";
            case errc::unrequested_upgrade: return "101 Switching Protocols without an upgrade asked for";
            case errc::bad_host: return "missing, repeated or invalid Host";
            case errc::unsupported_transfer_coding: return "transfer coding not implemented";
            case errc::bad_content_encoding: return "body does not decode as its Content-Encoding says";
            case errc::unsupported_content_encoding: return "Content-Encoding not supported";
            case errc::bad_proxy: return "bad proxy URL";
            case errc::proxy_unreachable: return "could not reach the proxy";
            case errc::proxy_auth_required: return "proxy authentication required (407)";
            case errc::tunnel_failed: return "proxy refused the CONNECT tunnel";
            case errc::body_not_replayable: return "a streamed request body cannot be sent again";
        }
        return "unknown weft.http error " + std::to_string(ev);
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const http_category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace weft::http
