// SPDX-License-Identifier: MIT
#include "http/transport.hpp"

#include "detail/io_wait.hpp"
#include "weft/errors.hpp"
#include "weft/net/wait.hpp"

namespace weft::http::detail {

std::size_t transport::read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    if (auto* t = std::get_if<net::tcp_stream>(&s_)) return t->read_some(buf, timeout, ec);
    std::size_t n = std::get<tls::stream>(s_).read_some(buf, timeout, ec);
    if (ec == tls::errc::truncated) {
        truncated_ = true;
        ec.clear();
    }
    return n;
}

std::size_t transport::read_some(std::span<char> buf) {
    if (auto* t = std::get_if<net::tcp_stream>(&s_)) return t->read_some(buf);
    try {
        return std::get<tls::stream>(s_).read_some(buf);  // its exceptions carry OpenSSL's reason
    } catch (const std::system_error& e) {
        if (e.code() != tls::errc::truncated) throw;
        truncated_ = true;
        return 0;
    }
}

void transport::wait_readable() {
    if (buffered() > 0) return;  // TLS holds bytes above the socket
    net::wait_readable(tcp().native_handle());
}

void transport::write_all(std::string_view bytes) {
    std::visit([&](auto& s) { s.write_all(bytes); }, s_);
}

void transport::shutdown(std::error_code& ec) noexcept {
    ec.clear();
    if (auto* t = std::get_if<tls::stream>(&s_)) {
        t->shutdown(std::chrono::seconds(1), ec);
        if (ec) return;
    }
    tcp().shutdown(ec);
}

std::size_t transport::buffered() const noexcept {
    auto* t = std::get_if<tls::stream>(&s_);
    return t ? t->buffered() : 0;
}

net::tcp_stream& transport::tcp() noexcept {
    if (auto* t = std::get_if<net::tcp_stream>(&s_)) return *t;
    return std::get<tls::stream>(s_).next_layer();
}

}  // namespace weft::http::detail
