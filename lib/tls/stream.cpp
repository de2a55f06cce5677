// SPDX-License-Identifier: MIT
// tls::stream's public edge: durations in, deadlines down, exceptions out
// (with OpenSSL's reason in the message). The TLS work is the engine's
// (engine.cpp; disabled.cpp in a build without TLS).
#include "weft/tls/stream.hpp"

#include "detail/io_wait.hpp"
#include "net/sys.hpp"
#include "tls/engine.hpp"
#include "weft/errors.hpp"

namespace weft::tls {

struct stream::state : detail::engine {
    using engine::engine;
};

namespace {

// usable() is whether a call on the stream may go on: no with ec =
// weft::errc::no_scheduler outside a fiber (every time, as every weft call),
// bad_file_descriptor when it has no connection.
template <class State>
bool usable(const State& s, std::error_code& ec) noexcept {
    ec.clear();
    if (!net::detail::fiber_reactor(ec)) return false;
    if (!s) ec = std::make_error_code(std::errc::bad_file_descriptor);
    return !ec;
}

// raise() throws ec naming `what`, with OpenSSL's reason `why`; `timeout` is
// the call's own, which a timeout_error names.
[[noreturn]] void raise(std::error_code ec, const std::string& what, const std::string& why,
                        std::chrono::nanoseconds timeout = no_timeout) {
    weft::detail::throw_error(ec, why.empty() ? what : what + ": " + why, timeout);
}

std::string shown(std::string_view host, std::uint16_t port) { return net::detail::host_port(host, port); }

}  // namespace

stream::stream() noexcept = default;
stream::stream(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
stream::~stream() = default;
stream::stream(stream&&) noexcept = default;
stream& stream::operator=(stream&&) noexcept = default;

// --- handshakes ---

namespace {
// client_what() is what a failed client handshake's exception says it was doing.
std::string client_what(std::string_view host, std::uint16_t port) {
    return "weft::tls::stream::connect to " + shown(host, port);
}
}  // namespace

stream stream::connect(net::tcp_stream tcp, std::string_view host, const context& ctx, std::chrono::nanoseconds timeout,
                       std::error_code& ec) {
    ec.clear();
    auto st = std::make_unique<state>(std::move(tcp));
    detail::handshake_error err;
    if (!st->client_handshake(host, data_of(ctx), deadline_after(timeout), err)) {
        ec = err.ec;
        return {};
    }
    return stream(std::move(st));
}

stream stream::connect(net::tcp_stream tcp, std::string_view host, const context& ctx,
                       std::chrono::nanoseconds timeout) {
    std::error_code ignored;
    std::uint16_t port = tcp.remote_address(ignored).port();
    auto st = std::make_unique<state>(std::move(tcp));
    detail::handshake_error err;
    if (!st->client_handshake(host, data_of(ctx), deadline_after(timeout), err))
        raise(err.ec, client_what(host, port), err.why, timeout);
    return stream(std::move(st));
}

stream stream::connect(std::string_view host, std::uint16_t port, const context& ctx, std::chrono::nanoseconds timeout,
                       std::error_code& ec) {
    const deadline until = deadline_after(timeout);
    net::tcp_stream tcp = net::tcp_stream::connect(host, port, timeout, ec);
    if (ec) return {};
    return connect(std::move(tcp), host, ctx, until - clock::now(), ec);
}

stream stream::connect(std::string_view host, std::uint16_t port, const context& ctx,
                       std::chrono::nanoseconds timeout) {
    const deadline until = deadline_after(timeout);
    std::error_code ec;
    net::tcp_stream tcp = net::tcp_stream::connect(host, port, timeout, ec);
    if (ec) raise(ec, client_what(host, port), "", timeout);
    auto st = std::make_unique<state>(std::move(tcp));
    detail::handshake_error err;
    if (!st->client_handshake(host, data_of(ctx), until, err)) raise(err.ec, client_what(host, port), err.why, timeout);
    return stream(std::move(st));
}

stream stream::accept(net::tcp_stream tcp, const context& ctx, std::chrono::nanoseconds timeout, std::error_code& ec) {
    ec.clear();
    auto st = std::make_unique<state>(std::move(tcp));
    detail::handshake_error err;
    if (!st->server_handshake(data_of(ctx), deadline_after(timeout), err)) {
        ec = err.ec;
        return {};
    }
    return stream(std::move(st));
}

stream stream::accept(net::tcp_stream tcp, const context& ctx, std::chrono::nanoseconds timeout) {
    std::error_code ignored;
    net::address from = tcp.remote_address(ignored);
    auto st = std::make_unique<state>(std::move(tcp));
    detail::handshake_error err;
    if (!st->server_handshake(data_of(ctx), deadline_after(timeout), err))
        raise(err.ec, "weft::tls::stream::accept from " + from.to_string(), err.why, timeout);
    return stream(std::move(st));
}

// --- reads and writes ---

std::size_t stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    if (!usable(s_, ec) || buf.empty()) return 0;
    if (!s_->ahead.empty()) return s_->ahead.take(buf);
    return s_->recv(buf.data(), buf.size(), deadline_after(timeout), ec);
}
std::size_t stream::read_some(std::span<char> buf, std::error_code& ec) { return read_some(buf, no_timeout, ec); }

namespace {
// or_throw(s, what, fn) calls fn(ec) and throws what ec stands for, with the
// engine's reason when the error is a TLS one.
template <class Fn>
auto or_throw(const detail::engine* s, const char* what, std::chrono::nanoseconds timeout, Fn&& fn) {
    std::error_code ec;
    auto result = fn(ec);
    if (ec) raise(ec, what, s && ec.category() == error_category() ? s->why : std::string(), timeout);
    return result;
}
}  // namespace

std::size_t stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout) {
    return or_throw(s_.get(), "weft::tls::stream::read_some", timeout,
                    [&](std::error_code& ec) { return read_some(buf, timeout, ec); });
}
std::size_t stream::read_some(std::span<char> buf) {
    return or_throw(s_.get(), "weft::tls::stream::read_some", no_timeout,
                    [&](std::error_code& ec) { return read_some(buf, ec); });
}

std::size_t stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    const deadline until = deadline_after(timeout);
    return net::detail::read_exact(
        buf, ec, [&](std::span<char> b, std::error_code& e) { return read_some(b, until - clock::now(), e); });
}
std::size_t stream::read_exact(std::span<char> buf, std::error_code& ec) {
    return net::detail::read_exact(buf, ec, [&](std::span<char> b, std::error_code& e) { return read_some(b, e); });
}

namespace {
std::string read_exact_what(std::error_code ec, std::size_t got, std::size_t want) {
    std::string what = "weft::tls::stream::read_exact";
    if (ec == std::errc::no_message_available)
        what += ": peer closed after " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
    return what;
}
}  // namespace

void stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_exact(buf, timeout, ec);
    if (ec)
        raise(ec, read_exact_what(ec, n, buf.size()), s_ && ec.category() == error_category() ? s_->why : "", timeout);
}
void stream::read_exact(std::span<char> buf) {
    std::error_code ec;
    std::size_t n = read_exact(buf, ec);
    if (ec) raise(ec, read_exact_what(ec, n, buf.size()), s_ && ec.category() == error_category() ? s_->why : "");
}

std::size_t stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                               std::chrono::nanoseconds timeout, std::error_code& ec) {
    out.clear();
    if (!usable(s_, ec)) return 0;
    const deadline until = deadline_after(timeout);
    return s_->ahead.read_until(out, delimiter, max, ec,
                                [&](char* p, std::size_t n, std::error_code& e) { return s_->recv(p, n, until, e); });
}
std::size_t stream::read_until(std::string& out, std::string_view delimiter, std::size_t max, std::error_code& ec) {
    return read_until(out, delimiter, max, std::chrono::nanoseconds::max(), ec);
}

namespace {
std::string read_until_what(std::error_code ec, std::size_t max) {
    std::string what = "weft::tls::stream::read_until";
    if (ec == std::errc::message_size) what += ": no delimiter within " + std::to_string(max) + " bytes";
    if (ec == std::errc::no_message_available) what += ": peer closed before the delimiter";
    return what;
}
}  // namespace

std::size_t stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                               std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_until(out, delimiter, max, timeout, ec);
    if (ec) raise(ec, read_until_what(ec, max), s_ && ec.category() == error_category() ? s_->why : "", timeout);
    return n;
}
std::size_t stream::read_until(std::string& out, std::string_view delimiter, std::size_t max) {
    return read_until(out, delimiter, max, std::chrono::nanoseconds::max());
}

std::size_t stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return usable(s_, ec) ? s_->write_all(bytes, deadline_after(timeout), ec) : 0;
}
std::size_t stream::write_all(std::string_view bytes, std::error_code& ec) { return write_all(bytes, no_timeout, ec); }
void stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout) {
    or_throw(s_.get(), "weft::tls::stream::write_all", timeout,
             [&](std::error_code& ec) { return write_all(bytes, timeout, ec); });
}
void stream::write_all(std::string_view bytes) {
    or_throw(s_.get(), "weft::tls::stream::write_all", no_timeout,
             [&](std::error_code& ec) { return write_all(bytes, ec); });
}

void stream::shutdown(std::chrono::nanoseconds timeout, std::error_code& ec) {
    if (usable(s_, ec)) s_->shutdown(deadline_after(timeout), ec);
}
void stream::shutdown(std::chrono::nanoseconds timeout) {
    or_throw(s_.get(), "weft::tls::stream::shutdown", timeout, [&](std::error_code& ec) {
        shutdown(timeout, ec);
        return 0;
    });
}
void stream::shutdown() { shutdown(std::chrono::nanoseconds::max()); }

void stream::close() noexcept {
    if (!s_) return;
    s_->tcp.close();
    s_->ahead.clear();
}
bool stream::is_open() const noexcept { return s_ && s_->tcp.is_open(); }

std::string_view stream::alpn() const noexcept { return s_ && s_->ssl ? s_->alpn() : std::string_view(); }
bool stream::session_reused() const noexcept { return s_ && s_->ssl && s_->session_reused(); }
std::string_view stream::server_name() const noexcept { return s_ ? std::string_view(s_->name) : std::string_view(); }
std::string_view stream::protocol() const noexcept { return s_ && s_->ssl ? s_->protocol() : std::string_view(); }
std::string_view stream::cipher() const noexcept { return s_ && s_->ssl ? s_->cipher() : std::string_view(); }
std::size_t stream::buffered() const noexcept {
    return s_ ? s_->ahead.pending().size() + (s_->ssl ? s_->ssl_pending() : 0) : 0;
}

net::tcp_stream& stream::next_layer() noexcept {
    if (!s_) s_ = std::make_unique<state>(net::tcp_stream());
    return s_->tcp;
}
const net::tcp_stream& stream::next_layer() const noexcept {
    static const net::tcp_stream none;
    return s_ ? s_->tcp : none;
}

}  // namespace weft::tls
