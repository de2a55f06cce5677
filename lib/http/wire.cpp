// SPDX-License-Identifier: MIT
// Beast's assertions are off in this file, as in any NDEBUG build: Beast
// 1.74's chunk parser asserts n >= 5 where 3 is valid (boostorg/beast#2861,
// fixed in 2024), so a peer that sends an empty chunked body's "0\r\n" apart
// from what follows would abort a build with assertions on (found by fuzz/).
#define BOOST_DISABLE_ASSERTS
#include "http/wire.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "detail/scheduler.hpp"
#include "weft/errors.hpp"
#include "weft/http/errors.hpp"
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

// refuse() is the refusal of a request that cannot be read, with the
// answer its client gets.
refusal refuse(std::error_code e) {
    int status = 400;
    if (e == errc::header_too_large || e == errc::trailer_too_large) status = 431;
    if (e == errc::body_too_large) status = 413;
    if (e == errc::unsupported_transfer_coding) status = 501;
    return {e, status, e.message()};
}

refusal refuse(std::error_code e, std::string reason) {
    refusal r = refuse(e);
    r.reason = std::move(reason);
    return r;
}

// alnum_and(extra) is a table by byte of the ASCII letters and digits and
// the characters of `extra`.
constexpr std::array<bool, 256> alnum_and(std::string_view extra) {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
    for (char c : extra) t[static_cast<unsigned char>(c)] = true;
    return t;
}

// tchar (RFC 9110 5.6.2): what a method and a field name are made of.
constexpr std::array<bool, 256> token_chars = alnum_and("!#$%&'*+-.^_`|~");

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!token_chars[static_cast<unsigned char>(c)]) return false;
    return true;
}

void check_field(std::string_view name, std::string_view value) {
    if (!is_token(name))
        throw std::system_error(errc::bad_header, "header name \"" + std::string(name.substr(0, 100)) + "\"");
    for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0')
            throw std::system_error(errc::bad_header,
                                    "the value of " + std::string(name) + " has a CR, LF or NUL character");
}

void check_method(const std::string& method) {
    if (!is_token(method)) throw std::system_error(errc::bad_header, "method \"" + method.substr(0, 100) + "\"");
}

// iequals() compares ASCII case-insensitively, as field names and tokens are.
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool has_field(const headers& h, std::string_view name) noexcept {
    for (const auto& f : h)
        if (iequals(f.first, name)) return true;
    return false;
}

// each_item() calls fn with each item of the comma-separated lists in h's
// fields named `name` (RFC 9110 5.6.1), without the whitespace around it or
// its parameters (";q=1"); empty items are skipped.
template <class Fn>
void each_item(const headers& h, std::string_view name, Fn fn) {
    for (const auto& [field, value] : h) {
        if (!iequals(field, name)) continue;
        std::string_view list = value;
        while (!list.empty()) {
            std::size_t comma = list.find(',');
            std::string_view item = list.substr(0, comma);
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
            item = item.substr(0, item.find(';'));
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
            if (!item.empty()) fn(item);
        }
    }
}

// last_coding_chunked() is whether the last transfer coding h's
// Transfer-Encoding fields name is chunked (RFC 9112 6.3).
bool last_coding_chunked(const headers& h) {
    std::string_view last;
    each_item(h, "Transfer-Encoding", [&](std::string_view item) { last = item; });
    return iequals(last, "chunked");
}

// --- a message's head, written by hand

// A body up to inline_body goes out in the head's write (one send, one
// TLS record); a larger one in a write of its own rather than copied.
constexpr std::size_t inline_body = 16 * 1024;
// The head buffer keeps its capacity between messages up to this much.
constexpr std::size_t kept_head_capacity = 32 * 1024;
// The start line and the fields go into one per-connection buffer that is
// sent with a small body in one write. (Beast's serializer took some 7,000
// instructions for a hello-world response walking its buffer sequences, 40%
// of the server's user-space work in bench/http_server.)

// head_buffer is where a head is written: a byte array that keeps its
// capacity between messages (up to kept_head_capacity), appended to with a
// bounds check and a memcpy (std::string::append's checks and calls were 13%
// of the server's user-space instructions).
class head_buffer {
public:
    [[gnu::always_inline]] head_buffer& append(std::string_view s) {
        if (s.size() > cap_ - len_) grow(s.size());
        if (!s.empty()) std::memcpy(data_.get() + len_, s.data(), s.size());
        len_ += s.size();
        return *this;
    }
    [[gnu::always_inline]] head_buffer& append(const char* p, std::size_t n) { return append(std::string_view(p, n)); }
    void clear() noexcept { len_ = 0; }
    std::string_view view() const noexcept { return {data_.get(), len_}; }
    // done() ends a message: a buffer grown past kept_head_capacity is let go.
    void done() noexcept {
        if (cap_ > kept_head_capacity) release();
        len_ = 0;
    }
    // release() lets the storage go (a client's connection, between requests).
    void release() noexcept {
        data_.reset();
        cap_ = len_ = 0;
    }

private:
    void grow(std::size_t more) {
        std::size_t cap = std::max({std::size_t(256), 2 * cap_, len_ + more});
        auto bigger = std::make_unique_for_overwrite<char[]>(cap);
        if (len_ > 0) std::memcpy(bigger.get(), data_.get(), len_);
        data_ = std::move(bigger);
        cap_ = cap;
    }

    std::unique_ptr<char[]> data_;
    std::size_t cap_ = 0;
    std::size_t len_ = 0;
};

inline void append_field(head_buffer& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
}

void append_number(head_buffer& out, std::uint64_t n) {
    char digits[20];
    char* end = digits + sizeof digits;
    char* p = end;
    do {
        *--p = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0);
    out.append(p, static_cast<std::size_t>(end - p));
}

// connection_options is what a message's own Connection fields say: the
// options other than close and keep-alive (which the writer decides), and
// whether one of them was close.
struct connection_options {
    std::string others;
    bool close = false;
};

connection_options read_connection(const headers& h) {
    connection_options o;
    each_item(h, "Connection", [&](std::string_view item) {
        if (iequals(item, "keep-alive")) return;
        if (iequals(item, "close")) {
            o.close = true;
            return;
        }
        if (!o.others.empty()) o.others += ", ";
        o.others += item;
    });
    return o;
}

// unreserved / sub-delims (RFC 3986): what a reg-name is made of.
constexpr std::array<bool, 256> host_chars = alnum_and("-._~!$&'()*+,;=");

bool is_host_char(unsigned char c) noexcept { return host_chars[c]; }

// valid_host(v) is whether v is uri-host [ ":" port ] (RFC 9112 3.2, RFC
// 3986 3.2.2): a reg-name (percent-encoded bytes allowed), IPv4, or an IP
// literal in brackets; empty is valid (a target without an authority).
bool valid_host(std::string_view v) {
    std::string_view host;
    std::string_view rest;
    if (v.starts_with('[')) {
        std::size_t close = v.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        host = v.substr(1, close - 1);
        rest = v.substr(close + 1);
        if (!std::ranges::all_of(host, [](unsigned char c) { return is_host_char(c) || c == ':' || c == '%'; }))
            return false;
    } else {
        std::size_t colon = v.find(':');
        host = v.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : v.substr(colon);
        for (std::size_t i = 0; i < host.size(); ++i) {
            auto c = static_cast<unsigned char>(host[i]);
            if (c == '%' && i + 2 < host.size() && std::isxdigit(static_cast<unsigned char>(host[i + 1])) &&
                std::isxdigit(static_cast<unsigned char>(host[i + 2]))) {
                i += 2;
            } else if (!is_host_char(c)) {
                return false;
            }
        }
    }
    if (rest.empty()) return true;
    return rest[0] == ':' && rest.size() <= 6 &&
           std::ranges::all_of(rest.substr(1), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool has_no_body(int status) noexcept { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// message_reader is Beast's HTTP/1.1 parser (basic_parser) reading a
// message's head straight into weft's request or response, with no Beast
// message in between, and its body either whole into the message's string
// or piece by piece into the caller's buffer. Trailer fields are read past
// (they count against the limit on chunk lines and trailers).
template <bool isRequest>
class message_reader final : public bhttp::basic_parser<isRequest> {
public:
    using message = std::conditional_t<isRequest, request, response>;

    explicit message_reader(message& m) noexcept : m_(&m) {}

    // What the head said, for the checks of RFC 9112 (valid once the head is read).
    unsigned version() const noexcept { return version_; }
    std::size_t hosts() const noexcept { return hosts_; }
    bool host_valid() const noexcept { return host_valid_; }
    bool has_transfer_encoding() const noexcept { return codings_; }
    bool expects_continue() const noexcept { return expect_continue_; }

    // read_whole() makes the body go into the message's `body`, at most
    // `limit` bytes: a body whose length is announced gets that much
    // reserved (pages are committed only as bytes come), one whose length is
    // not grows by doubling but never past the limit (std::string alone
    // would double a body near the limit to twice the limit).
    void read_whole(std::uint64_t limit) noexcept {
        whole_ = true;
        ceiling_ = limit;
    }
    // read_into() makes the next body bytes go into buf; taken() is how
    // many went there since.
    void read_into(std::span<char> buf) noexcept {
        whole_ = false;
        into_ = buf;
        taken_ = 0;
    }
    std::size_t taken() const noexcept { return taken_; }
    const headers& fields() const noexcept { return m_->headers; }

private:
    using error_code = boost::system::error_code;

    void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                         error_code& ec) override {
        if constexpr (isRequest) {
            m_->method.assign(method.data(), method.size());
            m_->target.assign(target.data(), target.size());
        }
        version_ = static_cast<unsigned>(version);
        ec = {};
    }

    void on_response_impl(int status, beast::string_view reason, int version, error_code& ec) override {
        if constexpr (!isRequest) {
            m_->status = status;
            m_->reason.assign(reason.data(), reason.size());
        }
        version_ = static_cast<unsigned>(version);
        ec = {};
    }

    void on_field_impl(bhttp::field f, beast::string_view name, beast::string_view value, error_code& ec) override {
        ec = {};
        if (head_done_) return;  // a trailer field
        if (f == bhttp::field::host && hosts_++ == 0)
            host_valid_ = valid_host(std::string_view(value.data(), value.size()));
        if (f == bhttp::field::transfer_encoding) codings_ = true;
        if (f == bhttp::field::expect && !expect_seen_) {
            expect_seen_ = true;
            expect_continue_ = beast::iequals(value, "100-continue");
        }
        m_->headers.add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    }

    void on_header_impl(error_code& ec) override {
        head_done_ = true;
        ec = {};
    }

    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
        ec = {};
        if (!whole_) return;
        m_->body.clear();
        if (!length) return;
        ceiling_ = std::min(ceiling_, *length);
        grow(*length, ec);
    }

    std::size_t on_body_impl(beast::string_view bytes, error_code& ec) override { return take(bytes, ec); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code& ec) override { ec = {}; }
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view bytes, error_code& ec) override {
        return take(bytes, ec);
    }
    void on_finish_impl(error_code& ec) override { ec = {}; }

    // take() puts body bytes where they go; into the caller's buffer, what
    // does not fit waits (need_buffer) for the next read_into().
    std::size_t take(beast::string_view bytes, error_code& ec) {
        ec = {};
        const std::size_t n = bytes.size();
        if (!whole_) {
            const std::size_t fits = std::min(n, into_.size());
            if (fits > 0) std::memcpy(into_.data(), bytes.data(), fits);
            into_ = into_.subspan(fits);
            taken_ += fits;
            if (fits < n) ec = bhttp::error::need_buffer;
            return fits;
        }
        std::string& body = m_->body;
        const std::size_t size = body.size();
        if (n > body.capacity() - size) {
            std::uint64_t want = std::max<std::uint64_t>(2 * body.capacity(), size + n);
            grow(std::min(want, std::max<std::uint64_t>(ceiling_, size + n)), ec);
            if (ec) return 0;
        }
        body.append(bytes.data(), n);  // within the capacity: no reallocation
        return n;
    }

    // grow() makes the body's capacity exactly `want`: a new string reserved
    // from empty (reserve() on a full one would double past `want`).
    void grow(std::uint64_t want, error_code& ec) {
        std::string& body = m_->body;
        if (want <= body.capacity()) return;
        if (want > body.max_size()) {
            ec = bhttp::error::body_limit;
            return;
        }
        try {
            std::string bigger;
            bigger.reserve(static_cast<std::size_t>(want));
            bigger.append(body);
            body.swap(bigger);
        } catch (const std::bad_alloc&) {
            ec = bhttp::error::body_limit;  // a length within the limit that memory cannot hold
        }
    }

    message* m_;
    unsigned version_ = 11;
    std::size_t hosts_ = 0;
    bool host_valid_ = false;
    bool codings_ = false;
    bool expect_seen_ = false;
    bool expect_continue_ = false;
    bool head_done_ = false;
    bool whole_ = false;
    std::uint64_t ceiling_ = 0;  // read_whole(): the limit, or the announced length when lower
    std::span<char> into_;
    std::size_t taken_ = 0;
};

// check_host() applies RFC 9112 3.2: an HTTP/1.1 request has one valid Host
// field, an HTTP/1.0 request at most one.
refusal check_host(const message_reader<true>& r) {
    if (r.hosts() == 0 && r.version() >= 11)
        return refuse(errc::bad_host, "an HTTP/1.1 request without Host (RFC 9112 section 3.2)");
    if (r.hosts() > 1) return refuse(errc::bad_host, "a request with more than one Host (RFC 9112 section 3.2)");
    if (r.hosts() == 1 && !r.host_valid())
        return refuse(errc::bad_host, "a request with an invalid Host (RFC 9112 section 3.2)");
    return {};
}

// check_framing() applies RFC 9112 6.1 and 6.3 to a request's
// Transfer-Encoding: none in HTTP/1.0 (where it is how requests are
// smuggled past a proxy that reads Content-Length), chunked last (else the
// length cannot be known) and alone (no other coding is implemented: 501).
refusal check_framing(const message_reader<true>& r, const headers& fields) {
    if (!r.has_transfer_encoding()) return {};
    if (r.version() < 11)
        return refuse(errc::bad_transfer_encoding, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 section 6.1)");
    if (!r.chunked())
        return refuse(errc::bad_transfer_encoding,
                      "a Transfer-Encoding whose last coding is not chunked (RFC 9112 section 6.3)");
    std::vector<std::string> codings;
    each_item(fields, "Transfer-Encoding", [&](std::string_view item) { codings.emplace_back(item); });
    if (codings.size() < 2) return {};
    codings.pop_back();  // chunked
    if (std::ranges::any_of(codings, [](const std::string& c) { return iequals(c, "chunked"); }))
        return refuse(errc::bad_transfer_encoding, "chunked applied twice (RFC 9112 section 7.1)");
    return refuse(errc::unsupported_transfer_coding, "transfer coding \"" + codings.front().substr(0, 100) +
                                                         "\" is not implemented (RFC 9112 section 6.1)");
}

// overlong() names what a chunked body left unparsed past the limit: `rest`
// begins after the last chunk's data, with its CRLF or not. A chunk-size
// line of zeros that ended opens the trailer section.
std::error_code overlong(std::string_view rest) {
    if (rest.starts_with("\r\n")) rest.remove_prefix(2);
    std::size_t eol = rest.find("\r\n");
    std::string_view size = rest.substr(0, std::min(eol, rest.find_first_not_of("0123456789abcdefABCDEF")));
    bool last = eol != std::string_view::npos && !size.empty() && size.find_first_not_of('0') == std::string_view::npos;
    return last ? errc::trailer_too_large : errc::chunk_line_too_long;
}

}  // namespace

void check_request(const request& req) {
    check_method(req.method);
    check_fields(req.headers);
}

void check_fields(const headers& fields) {
    for (const auto& [name, value] : fields) check_field(name, value);
}

struct connection::impl {
    // Reads take at most read_block bytes, and the buffer never holds more
    // than max(limit, read_block): what a peer sends is parsed as it comes,
    // and what cannot be parsed yet counts against a limit. A connection's
    // first read offers first_block bytes, and each read that fills what it
    // was offered doubles the next, up to read_block: a head usually fits
    // the first, and a connection waiting for its answer holds a 1 KB
    // buffer, not 64 KiB (10,000 waiting connections touch a page for every
    // four of them, not one each). 1,000 bytes, not 1,024: glibc's malloc
    // sends a chunk of 1 KiB or more to its large bins, and every allocation
    // there first consolidates the fast bins (the small chunks freed since),
    // which cost a GET among 10,000 some 1.5% of its user time.
    static constexpr std::size_t read_block = 64 * 1024;
    static constexpr std::size_t first_block = 1000;
    std::size_t block = first_block;  // what the next fill() offers

    transport stream;
    beast::flat_buffer buffer;  // read and not parsed yet (the next message's bytes, or a part of this one)
    bool started = false;       // the last read_response() got a byte
    bool head_done = false;     // ... and the final response's whole header
    unsigned version = 11;      // of the last request read (the response uses it)
    head_buffer head;           // the head being written

    explicit impl(transport s) : stream(std::move(s)) {}

    std::string_view pending() const noexcept {
        return {static_cast<const char*>(buffer.data().data()), buffer.size()};
    }

    // let_go() frees what a client's connection holds between messages when
    // nothing is buffered: the read buffer (the next one starts at
    // first_block again) and the head's. One that waits for an answer, or
    // sits in a pool, holds neither: 10,000 GETs waiting hold 12 MB less.
    void let_go() noexcept {
        if (buffer.size() == 0) {
            buffer.shrink_to_fit();
            block = first_block;
        }
        head.release();
    }

    // put() hands `parser` what is buffered, on this thread's side stack:
    // Beast's field parser keeps a 4 KiB buffer in its frame, which would
    // take each connection's fiber a page of stack deeper (detail/side_stack.hpp).
    template <class Parser>
    std::size_t put(Parser& parser, boost::system::error_code& ec) {
        std::size_t used = 0;
        weft::detail::scheduler::on_side_stack([&] { used = parser.put(buffer.data(), ec); });
        return used;
    }

    // commit() keeps the n bytes a read put into the `offered` bytes the
    // buffer prepared; a read that filled them doubles the next one's offer.
    void commit(std::size_t n, std::size_t offered) {
        buffer.commit(n);
        if (n == offered) block = std::min(2 * block, read_block);
    }

    // fill() reads once into the buffer; false at the end of the stream.
    // Throws as the transport does.
    bool fill(std::size_t limit) {
        const std::size_t window = std::max(limit, read_block);
        buffer.max_size(window);
        auto space = buffer.prepare(std::min(block, window - buffer.size()));
        std::size_t n = stream.read_some(std::span<char>(static_cast<char*>(space.data()), space.size()));
        commit(n, space.size());
        return n > 0;
    }

    // read_head() reads a message's header into `parser`. Every byte of the
    // header block counts against `limit`, from the start line to the empty
    // line (Beast counts the start line and the fields apart when the line
    // comes whole, so a block could pass its limit by the line's length).
    template <class Parser>
    std::error_code read_head(Parser& parser, std::size_t limit) {
        constexpr bool isRequest = Parser::is_request::value;
        parser.eager(false);
        std::size_t seen = 0;  // bytes of this header the parser has taken
        for (;;) {
            if (buffer.size() > 0) {
                boost::system::error_code ec;
                const std::size_t used = put(parser, ec);
                buffer.consume(used);
                seen += used;
                if (parser.is_header_done()) return seen > limit ? errc::header_too_large : std::error_code();
                if (ec && ec != bhttp::error::need_more) return from_beast(ec, isRequest);
            }
            // What is buffered is all header: it has not ended yet.
            if (seen + buffer.size() >= limit) return errc::header_too_large;
            if (!fill(limit)) {
                if (!parser.got_some()) return errc::closed_before_response;
                boost::system::error_code ec;
                parser.put_eof(ec);
                return from_beast(ec ? ec : bhttp::error::partial_message, isRequest);
            }
        }
    }

    // read_body() reads the rest of the message whose header `parser` has.
    // What the parser leaves buffered is a chunk-size line or the trailer
    // section that has not ended: it counts against `limit`.
    template <class Parser>
    std::error_code read_body(Parser& parser, std::size_t limit) {
        constexpr bool isRequest = Parser::is_request::value;
        parser.eager(true);
        while (!parser.is_done()) {
            if (buffer.size() > 0) {
                boost::system::error_code ec;
                buffer.consume(put(parser, ec));
                if (parser.is_done()) break;
                if (ec && ec != bhttp::error::need_more) return from_beast(ec, isRequest);
                if (buffer.size() >= limit) return overlong(pending());
            }
            if (!fill(limit)) {
                boost::system::error_code ec;
                parser.put_eof(ec);
                if (ec) return from_beast(ec, isRequest);
            }
        }
        return {};
    }

    refusal read_request_header(message_reader<true>& parser, const limits& lim,
                                std::chrono::nanoseconds header_timeout);

    // --- a body read piece by piece (read_body_some), either direction
    std::optional<message_reader<false>> response_parser;
    std::optional<message_reader<true>> request_parser;
    // length_left: a body of known length without a transfer coding is read
    // past the parser, straight into the caller's buffer (no second copy).
    std::optional<std::uint64_t> length_left;
    bool body_finished = true;
    bool keep = false;            // the message allows another on the connection
    std::size_t chunk_limit = 0;  // lim.header_bytes: bounds chunk lines and trailers
    bool continue_owed = false;   // a server owes "100 Continue" before reading the body

    // start_body() readies read_body_some() once `parser` has a header.
    template <class Parser>
    void start_body(Parser& parser, std::size_t limit) {
        chunk_limit = limit;
        length_left.reset();
        body_finished = parser.is_done();
        if (!body_finished && !parser.chunked() && parser.content_length()) length_left = *parser.content_length();
    }

    template <class Parser>
    std::error_code body_some(Parser& parser, std::span<char> buf, std::size_t& n) {
        n = 0;
        if (body_finished || buf.empty()) return {};
        if (length_left) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), *length_left));
            if (buffer.size() > 0) {
                n = std::min(want, buffer.size());
                std::memcpy(buf.data(), buffer.data().data(), n);
                buffer.consume(n);
            } else {
                n = stream.read_some(buf.first(want));
                if (n == 0) return errc::truncated_body;
            }
            *length_left -= n;
            body_finished = *length_left == 0;
            return {};
        }
        parser.eager(true);
        for (;;) {
            parser.read_into(buf);
            if (buffer.size() > 0) {
                boost::system::error_code ec;
                buffer.consume(put(parser, ec));
                n = parser.taken();
                if (parser.is_done()) {
                    body_finished = true;
                    return {};
                }
                if (ec == bhttp::error::need_buffer || n > 0) return {};
                if (ec && ec != bhttp::error::need_more) return from_beast(ec, Parser::is_request::value);
                if (buffer.size() >= chunk_limit) return overlong(pending());
            }
            if (!fill(chunk_limit)) {
                boost::system::error_code ec;
                parser.put_eof(ec);
                if (ec) return from_beast(ec, Parser::is_request::value);
                body_finished = true;
                // A body that only the end of the connection delimits is
                // complete only if that end was TLS's close_notify, not an
                // attacker's FIN (RFC 8446 6.1).
                if (stream.truncated()) return tls::errc::truncated;
                return {};
            }
        }
    }

    // send() writes `head` with `body` after it: in one write when the body
    // is small, else in two rather than copy it.
    void send(std::string_view body) {
        if (body.size() <= inline_body) {
            head.append(body);
            stream.write_all(head.view());
        } else {
            stream.write_all(head.view());
            stream.write_all(body);
        }
        head.done();
    }

    // write_body() sends what `source` gives: `length` bytes exactly when
    // there is a length, else chunked, or as it comes (a body that the
    // connection's end delimits, for HTTP/1.0).
    void write_body(const body_source& source, std::optional<std::uint64_t> length, bool chunked) {
        // Room before the data for a chunk's size line, after it for its CRLF:
        // each piece goes out in one write.
        constexpr std::size_t front = 18;
        std::vector<char> piece(front + read_block + 2);
        const std::span<char> room(piece.data() + front, read_block);
        std::uint64_t sent = 0;
        for (;;) {
            const std::size_t n = source(room);
            if (n > room.size())
                throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                        "a body_source returned more bytes than its buffer holds");
            if (n == 0) break;
            sent += n;
            if (length) {
                if (sent > *length)
                    throw std::system_error(errc::bad_content_length, "the body_source gave more than body_length = " +
                                                                          std::to_string(*length) + " bytes");
                stream.write_all(std::string_view(room.data(), n));
                continue;
            }
            if (!chunked) {
                stream.write_all(std::string_view(room.data(), n));
                continue;
            }
            char line[front];
            const int len = std::snprintf(line, sizeof line, "%zx\r\n", n);
            char* start = room.data() - len;
            std::memcpy(start, line, static_cast<std::size_t>(len));
            std::memcpy(room.data() + n, "\r\n", 2);
            stream.write_all(std::string_view(start, static_cast<std::size_t>(len) + n + 2));
        }
        if (length && sent != *length)
            throw std::system_error(
                errc::bad_content_length,
                "the body_source gave " + std::to_string(sent) + " bytes, body_length says " + std::to_string(*length));
        if (chunked) stream.write_all("0\r\n\r\n");
    }
};

connection::connection(transport s) : p_(std::make_unique<impl>(std::move(s))) {}
connection::~connection() = default;
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

transport& connection::stream() noexcept { return p_->stream; }
std::size_t connection::buffered() const noexcept { return p_->buffer.size() + p_->stream.buffered(); }
void connection::let_go() noexcept { p_->let_go(); }
bool connection::response_started() const noexcept { return p_->started; }
bool connection::header_done() const noexcept { return p_->head_done; }

void connection::write_request(const request& req, const url& to, const headers& added, bool absolute_form,
                               bool added_checked) {
    check_method(req.method);
    const bool streamed = static_cast<bool>(req.body_source);
    const bool has_length = has_field(req.headers, "Content-Length");
    const bool has_coding = has_field(req.headers, "Transfer-Encoding");
    if (streamed && (has_length || has_coding))
        throw std::system_error(errc::bad_header,
                                "a request with a body_source sets body_length, not "
                                "Content-Length or Transfer-Encoding");
    head_buffer& out = p_->head;
    out.clear();
    out.append(req.method).append(" ", 1);
    if (absolute_form) {
        out.append(to.to_string());
    } else {
        out.append(to.target);
    }
    out.append(" HTTP/1.1\r\n", 11);
    // Host first (RFC 9112 3.2), then the request's fields, then what the
    // client adds that the request does not set.
    if (!has_field(req.headers, "Host")) append_field(out, "Host", to.authority());
    for (const auto& [name, value] : req.headers) {
        check_field(name, value);
        append_field(out, name, value);
    }
    for (const auto& [name, value] : added) {
        if (has_field(req.headers, name)) continue;
        if (!added_checked) check_field(name, value);
        append_field(out, name, value);
    }
    if (streamed) {
        if (req.body_length) {
            out.append("Content-Length: ", 16);
            append_number(out, *req.body_length);
            out.append("\r\n", 2);
        } else {
            out.append("Transfer-Encoding: chunked\r\n", 28);
        }
        out.append("\r\n", 2);
        p_->send({});
        p_->write_body(req.body_source, req.body_length, !req.body_length);
        return;
    }
    const bool wants_length = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (wants_length && !has_length && !has_coding) {
        out.append("Content-Length: ", 16);
        append_number(out, req.body.size());
        out.append("\r\n", 2);
    }
    out.append("\r\n", 2);
    if (has_coding && last_coding_chunked(req.headers)) {
        // The request says its body is chunked: it goes as one chunk and the last.
        if (!req.body.empty()) {
            char line[20];
            const int len = std::snprintf(line, sizeof line, "%zx\r\n", req.body.size());
            out.append(line, static_cast<std::size_t>(len));
            p_->send(req.body);
            out.append("\r\n", 2);
        }
        out.append("0\r\n\r\n", 5);
        p_->send({});
        return;
    }
    p_->send(req.body);
}

std::error_code connection::read_response_head(response& out, const limits& lim, bool head, bool upgrade) {
    p_->started = false;
    p_->head_done = false;
    p_->body_finished = true;
    p_->keep = false;
    p_->request_parser.reset();
    auto& parser = p_->response_parser;
    std::error_code ec;
    try {
        // The request is out: its head's buffer goes, and the read buffer
        // when empty, taken again once the answer's first bytes are here.
        p_->let_go();
        if (p_->buffer.size() == 0) p_->stream.wait_readable();
        // Interim answers (100 Continue, 103 Early Hints) may come before the real one.
        for (int interim = 0;; ++interim) {
            out.headers = {};
            parser.emplace(out);
            parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.header_bytes, UINT32_MAX)));
            // The caller counts the body. (Not boost::none: Beast 1.74
            // compares a Content-Length with that as if it were 0.)
            parser->body_limit(UINT64_MAX);
            if (head) parser->skip(true);
            ec = p_->read_head(*parser, lim.header_bytes);
            p_->started = p_->started || parser->got_some();
            if (ec) return ec;
            const int status = out.status;
            if (status == 101 && !upgrade) return errc::unrequested_upgrade;
            if (status / 100 == 1 && status != 101) {
                if (interim == max_interim_responses) return errc::too_many_interim_responses;
                continue;  // an interim answer is a header alone
            }
            if (auto len = parser->content_length(); len && *len > lim.body_bytes && !head) return errc::body_too_large;
            p_->head_done = true;
            break;
        }
    } catch (...) {
        p_->started = p_->started || (parser && parser->got_some()) || p_->buffer.size() > 0;
        throw;
    }
    out.body.clear();
    // After a 101 the connection speaks another protocol.
    p_->keep = out.status != 101 && parser->keep_alive();
    p_->start_body(*parser, lim.header_bytes);
    return {};
}

std::error_code connection::read_body_some(std::span<char> buf, std::size_t& n) {
    if (p_->request_parser) {
        if (p_->continue_owed && !p_->body_finished) {
            p_->continue_owed = false;
            p_->stream.write_all("HTTP/1.1 100 Continue\r\n\r\n");
        }
        return p_->body_some(*p_->request_parser, buf, n);
    }
    if (!p_->response_parser) {
        n = 0;
        return {};
    }
    return p_->body_some(*p_->response_parser, buf, n);
}

bool connection::body_done() const noexcept { return p_->body_finished; }
bool connection::body_at_hand() const noexcept {
    return p_->body_finished || (p_->length_left && p_->buffer.size() > 0);
}
bool connection::reusable() const noexcept { return p_->body_finished && p_->keep && p_->buffer.size() == 0; }

bool connection::wait_request(std::chrono::nanoseconds idle) {
    const deadline until = deadline_after(idle);
    std::size_t blank = 0;
    for (;;) {
        // Empty lines before a request line are skipped (RFC 9112 2.2: some
        // clients send one after a body); a peer that sends only those is no client.
        std::string_view data = p_->pending();
        std::size_t n = 0;
        while (data.substr(n, 2) == "\r\n") n += 2;
        p_->buffer.consume(n);
        blank += n;
        if (blank > max_empty_lines) return false;
        if (p_->buffer.size() > 0 && p_->pending() != "\r") return true;  // (a CR alone: its LF is on its way)
        std::error_code ec;
        // As fill() does: the connection's read size, which starts at 1 KB,
        // so that a connection idle between requests holds no more.
        auto space = p_->buffer.prepare(p_->block);
        n = p_->stream.read_some(std::span<char>(static_cast<char*>(space.data()), space.size()), until - clock::now(),
                                 ec);
        p_->commit(n, space.size());
        if (ec == weft::errc::cancelled) throw cancelled();
        if (n == 0) return false;
    }
}

// read_request_header() reads a request's header into `parser` within
// header_timeout and checks it (RFC 9112's rules on Host and framing, the
// announced length against the limit); the parser's request gets the
// method, target and fields as they come. What read_request() and
// read_request_head() share.
refusal connection::impl::read_request_header(message_reader<true>& parser, const limits& lim,
                                              std::chrono::nanoseconds header_timeout) {
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.header_bytes, UINT32_MAX)));
    std::error_code ec = with_timeout(header_timeout, [&] { return read_head(parser, lim.header_bytes); });
    if (ec) return refuse(ec);
    version = parser.version() == 10 ? 10 : 11;
    if (refusal r = check_host(parser)) return r;
    if (refusal r = check_framing(parser, parser.fields())) return r;
    if (auto len = parser.content_length(); len && *len > lim.body_bytes) return refuse(errc::body_too_large);
    return {};
}

refusal connection::read_request(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                                 std::chrono::nanoseconds body_timeout, bool& keep_alive) {
    keep_alive = false;
    out.headers = {};
    out.body.clear();
    message_reader<true> parser(out);
    parser.body_limit(lim.body_bytes);
    parser.read_whole(lim.body_bytes);
    if (refusal r = p_->read_request_header(parser, lim, header_timeout)) return r;
    if (parser.is_done()) {  // no body: nothing to wait for
        keep_alive = parser.keep_alive();
        return {};
    }
    std::error_code ec = with_timeout(body_timeout, [&] {
        // RFC 9110 10.1.1: never 100 Continue to an HTTP/1.0 client (it would take it for the answer).
        if (parser.version() >= 11 && parser.expects_continue()) p_->stream.write_all("HTTP/1.1 100 Continue\r\n\r\n");
        return p_->read_body(parser, lim.header_bytes);
    });
    if (ec) return refuse(ec);
    keep_alive = parser.keep_alive();
    return {};
}

refusal connection::read_request_head(request& out, const limits& lim, std::chrono::nanoseconds header_timeout,
                                      bool& keep_alive) {
    keep_alive = false;
    p_->response_parser.reset();
    p_->body_finished = true;
    out.headers = {};
    out.body.clear();
    auto& parser = p_->request_parser.emplace(out);
    // The caller counts the body. (Not boost::none: Beast 1.74 compares a
    // Content-Length with that as if it were 0.)
    parser.body_limit(UINT64_MAX);
    if (refusal r = p_->read_request_header(parser, lim, header_timeout)) return r;
    // RFC 9110 10.1.1: never 100 Continue to an HTTP/1.0 client (it would take it for the answer).
    p_->continue_owed = parser.version() >= 11 && parser.expects_continue();
    keep_alive = parser.keep_alive();
    p_->keep = keep_alive;
    p_->start_body(parser, lim.header_bytes);
    return {};
}

bool connection::write_response(const response& res, bool keep_alive, bool head) {
    if (res.status < 100 || res.status > 999)
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "weft::http::server: status " + std::to_string(res.status) + " is not a three-digit code");
    std::string_view reason = res.reason.empty() ? reason_phrase(res.status) : std::string_view(res.reason);
    if (reason.find_first_of("\r\n") != std::string_view::npos)
        throw std::system_error(errc::bad_header, "reason phrase has a CR or LF");
    const unsigned version = p_->version;
    head_buffer& out = p_->head;
    out.clear();
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
    append_number(out, static_cast<unsigned>(res.status));
    out.append(" ", 1).append(reason).append("\r\n", 2);
    // The server frames a body itself: the handler's Content-Length and
    // Transfer-Encoding give way to its own, and Connection to what the
    // connection does (a handler's "Connection: close" closes it).
    const bool framed = !has_no_body(res.status);
    bool has_server = false;
    bool has_connection = false;
    for (const auto& [name, value] : res.headers) {
        check_field(name, value);
        if (framed && (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding"))) continue;
        if (iequals(name, "Connection")) {
            has_connection = true;
            continue;
        }
        has_server = has_server || iequals(name, "Server");
        append_field(out, name, value);
    }
    if (!has_server) out.append("Server: weft\r\n", 14);
    const bool streamed = framed && res.body_source;
    bool chunked = false;
    if (streamed && res.body_length) {
        out.append("Content-Length: ", 16);
        append_number(out, *res.body_length);
        out.append("\r\n", 2);
    } else if (streamed && version >= 11) {
        out.append("Transfer-Encoding: chunked\r\n", 28);
        chunked = true;
    } else if (streamed) {
        keep_alive = false;  // HTTP/1.0 has no chunked coding: the connection's end ends the body
    } else if (framed) {
        out.append("Content-Length: ", 16);
        append_number(out, res.body.size());
        out.append("\r\n", 2);
    }
    connection_options options;
    if (has_connection) options = read_connection(res.headers);
    keep_alive = keep_alive && !options.close;
    // HTTP/1.1 keeps a connection unless told to close; HTTP/1.0 closes it
    // unless told to keep it.
    std::string_view token = version >= 11 ? (keep_alive ? "" : "close") : (keep_alive ? "keep-alive" : "");
    if (!options.others.empty() || !token.empty()) {
        out.append("Connection: ", 12).append(options.others);
        if (!options.others.empty() && !token.empty()) out.append(", ", 2);
        out.append(token).append("\r\n", 2);
    }
    out.append("\r\n", 2);
    if (streamed) {
        p_->send({});
        if (!head) p_->write_body(res.body_source, res.body_length, chunked);
        return keep_alive;
    }
    p_->send(head || !framed ? std::string_view() : std::string_view(res.body));
    return keep_alive;
}

}  // namespace weft::http::detail
