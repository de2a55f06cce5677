// SPDX-License-Identifier: MIT
// Beast's assertions are off in this file, as in any NDEBUG build: Beast
// 1.74's chunk parser asserts n >= 5 where 3 is valid (boostorg/beast#2861,
// fixed in 2024), so a peer that sends an empty chunked body's "0\r\n" apart
// from what follows would abort a build with assertions on (found by fuzz/).
#define BOOST_DISABLE_ASSERTS
#include "http/wire.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "weft/errors.hpp"
#include "weft/http/errors.hpp"
#include "weft/net/beast_stream.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/errors.hpp"

namespace weft::http::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// from_beast() names a Beast parse error in weft's terms.
std::error_code from_beast(const boost::system::error_code& ec, bool request) {
    using e = bhttp::error;
    if (ec == e::end_of_stream) return errc::closed_before_response;
    if (ec == e::partial_message) return errc::truncated_body;
    if (ec == e::header_limit) return errc::header_too_large;
    if (ec == e::body_limit || ec == e::buffer_overflow) return errc::body_too_large;
    if (ec == e::bad_content_length) return errc::bad_content_length;
    if (ec == e::bad_transfer_encoding) return errc::bad_transfer_encoding;
    if (ec == e::bad_chunk || ec == e::bad_chunk_extension) return errc::malformed_chunk;
    if (ec == e::bad_method || ec == e::bad_target) return errc::malformed_request_line;
    if (ec == e::bad_version || ec == e::bad_status || ec == e::bad_reason)
        return request ? errc::malformed_request_line : errc::malformed_status_line;
    return errc::malformed_header;  // bad_field, bad_value, bad_line_ending, bad_obs_fold, ...
}

// refuse() is the error for a request that cannot be read, and in `status`
// the answer its client gets.
std::error_code refuse(const boost::system::error_code& ec, int& status) {
    std::error_code e = from_beast(ec, true);
    status = e == errc::header_too_large ? 431 : e == errc::body_too_large ? 413 : 400;
    return e;
}

bool is_token_char(unsigned char c) noexcept {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void check_field(std::string_view name, std::string_view value) {
    if (name.empty() || !std::ranges::all_of(name, is_token_char))
        throw std::system_error(errc::bad_header, "header name \"" + std::string(name.substr(0, 100)) + "\"");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        throw std::system_error(errc::bad_header, "the value of " + std::string(name) +
                                                      " has a CR, LF or NUL character");
}

template <class Fields>
void copy_fields(const headers& from, Fields& to) {
    for (const auto& [name, value] : from) {
        check_field(name, value);
        to.insert(name, value);
    }
}

void check_method(const std::string& method) {
    if (method.empty() || !std::ranges::all_of(method, is_token_char))
        throw std::system_error(errc::bad_header, "method \"" + method.substr(0, 100) + "\"");
}

template <class Fields>
void copy_fields(const Fields& from, headers& to) {
    for (const auto& f : from) to.add(std::string(f.name_string()), std::string(f.value()));
}

bool has_no_body(int status) noexcept { return (status >= 100 && status < 200) || status == 204 || status == 304; }

}  // namespace

void check_request(const request& req) {
    check_method(req.method);
    for (const auto& [name, value] : req.headers) check_field(name, value);
}

struct connection::impl {
    transport stream;
    net::basic_beast_stream<transport> adapter{stream};
    beast::flat_buffer buffer;
    bool started = false;  // the last read_response() got a byte
    unsigned version = 11;  // of the last request read (the response uses it)

    explicit impl(transport s) : stream(std::move(s)) {}
};

connection::connection(transport s) : p_(std::make_unique<impl>(std::move(s))) {}
connection::~connection() = default;
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

transport& connection::stream() noexcept { return p_->stream; }
std::size_t connection::buffered() const noexcept { return p_->buffer.size() + p_->stream.buffered(); }
bool connection::response_started() const noexcept { return p_->started; }

void connection::write_request(const request& req, const url& to, std::string_view user_agent) {
    bhttp::request<bhttp::string_body> m;
    check_method(req.method);
    m.method_string(req.method);
    m.target(to.target);
    m.version(11);
    copy_fields(req.headers, m);
    if (!req.headers.contains("Host")) m.set(bhttp::field::host, to.authority());
    if (!req.headers.contains("User-Agent") && !user_agent.empty()) {
        check_field("User-Agent", user_agent);
        m.set(bhttp::field::user_agent, beast::string_view(user_agent.data(), user_agent.size()));
    }
    bool wants_length = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (wants_length && !req.headers.contains("Content-Length") && !req.headers.contains("Transfer-Encoding"))
        m.content_length(req.body.size());
    m.body() = req.body;
    bhttp::serializer<true, bhttp::string_body> sr(m);
    bhttp::write(p_->adapter, sr);
}

std::error_code connection::read_response(response& out, const limits& lim, bool head, bool& reusable) {
    reusable = false;
    p_->started = false;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    boost::system::error_code ec;
    try {
        // 1xx answers (100 Continue, 103 Early Hints) may come before the real one.
        do {
            parser.emplace();
            parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.header_bytes, UINT32_MAX)));
            parser->body_limit(lim.body_bytes);
            if (head) parser->skip(true);
            bhttp::read_header(p_->adapter, p_->buffer, *parser, ec);
            p_->started = p_->started || parser->got_some();
            if (ec) break;
            // Beast 1.74 lets a Content-Length over body_limit through; say no before reading it.
            if (auto len = parser->content_length(); len && *len > lim.body_bytes && !head)
                return errc::body_too_large;
            bhttp::read(p_->adapter, p_->buffer, *parser, ec);
        } while (!ec && parser->get().result_int() / 100 == 1 && parser->get().result_int() != 101);
    } catch (...) {
        p_->started = p_->started || parser->got_some() || p_->buffer.size() > 0;
        throw;
    }
    if (ec) return from_beast(ec, false);
    // A body that only the end of the connection delimits is complete only
    // if that end was TLS's close_notify, not an attacker's FIN (RFC 8446 6.1).
    if (parser->need_eof() && p_->stream.truncated()) return tls::errc::truncated;
    auto& m = parser->get();
    out.status = static_cast<int>(m.result_int());
    out.reason = std::string(m.reason());
    out.headers = {};
    copy_fields(m, out.headers);
    out.body = std::move(m.body());
    reusable = m.keep_alive() && !parser->need_eof() && p_->buffer.size() == 0;
    return {};
}

bool connection::wait_request(std::chrono::nanoseconds idle) {
    if (p_->buffer.size() > 0) return true;
    std::error_code ec;
    auto space = p_->buffer.prepare(4096);
    std::size_t n = p_->stream.read_some(std::span<char>(static_cast<char*>(space.data()), space.size()), idle, ec);
    p_->buffer.commit(n);
    if (ec == weft::errc::cancelled) throw cancelled();
    return n > 0;
}

std::error_code connection::read_request(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                                         std::chrono::nanoseconds body_timeout, bool& keep_alive, int& status) {
    keep_alive = false;
    status = 400;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.header_bytes, UINT32_MAX)));
    parser.body_limit(lim.body_bytes);
    boost::system::error_code ec;
    with_timeout(header_timeout, [&] { bhttp::read_header(p_->adapter, p_->buffer, parser, ec); });
    if (ec) return refuse(ec, status);
    auto& m = parser.get();
    p_->version = m.version() == 10 ? 10 : 11;
    // RFC 9112 6.1: a Transfer-Encoding whose last coding is not chunked
    // leaves the request's length unknowable.
    if (m.count(bhttp::field::transfer_encoding) > 0 && !parser.chunked()) return errc::bad_transfer_encoding;
    if (auto len = parser.content_length(); len && *len > lim.body_bytes) {
        status = 413;
        return errc::body_too_large;
    }
    with_timeout(body_timeout, [&] {
        if (beast::iequals(m[bhttp::field::expect], "100-continue") && !parser.is_done())
            p_->stream.write_all(m.version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n");
        bhttp::read(p_->adapter, p_->buffer, parser, ec);
    });
    if (ec) return refuse(ec, status);
    out.method = std::string(m.method_string());
    out.target = std::string(m.target());
    out.headers = {};
    copy_fields(m, out.headers);
    out.body = std::move(m.body());
    keep_alive = m.keep_alive();
    return {};
}

void connection::write_response(const response& res, bool keep_alive, bool head) {
    bhttp::response<bhttp::string_body> m;
    m.version(p_->version);
    m.result(static_cast<unsigned>(res.status));
    std::string_view reason = res.reason.empty() ? reason_phrase(res.status) : std::string_view(res.reason);
    if (reason.find_first_of("\r\n") != std::string_view::npos)
        throw std::system_error(errc::bad_header, "reason phrase has a CR or LF");
    m.reason(beast::string_view(reason.data(), reason.size()));
    copy_fields(res.headers, m);
    if (!res.headers.contains("Server")) m.set(bhttp::field::server, "weft");
    m.keep_alive(keep_alive);
    if (!has_no_body(res.status)) {
        m.content_length(res.body.size());
        if (!head) m.body() = res.body;
    }
    bhttp::serializer<false, bhttp::string_body> sr(m);
    if (head) {
        bhttp::write_header(p_->adapter, sr);
    } else {
        bhttp::write(p_->adapter, sr);
    }
}

}  // namespace weft::http::detail
