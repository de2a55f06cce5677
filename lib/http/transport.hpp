// SPDX-License-Identifier: MIT
// The byte stream an HTTP connection runs on: plain TCP, or TLS over TCP.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>

#include "weft/net/tcp_stream.hpp"
#include "weft/tls/stream.hpp"

namespace weft::http::detail {

class transport {
public:
    explicit transport(net::tcp_stream s) noexcept : s_(std::move(s)) {}
    explicit transport(tls::stream s) noexcept : s_(std::move(s)) {}

    // read_some() reads what comes (0 at the end) and throws as the stream
    // does. A TLS peer that closes without close_notify also reads as the
    // end, and truncated() says so: HTTP decides whether its framing had
    // already ended (then nothing was lost) or not.
    std::size_t read_some(std::span<char> buf);
    std::size_t read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);
    // wait_readable() parks until a read would find something (bytes, the
    // end, an error) without reading: the caller takes a buffer after.
    // Throws as read_some() does.
    void wait_readable();
    void write_all(std::string_view bytes);
    // shutdown() ends the sending side: close_notify (TLS, at most a second)
    // and the TCP FIN.
    void shutdown(std::error_code& ec) noexcept;

    bool truncated() const noexcept { return truncated_; }
    bool is_tls() const noexcept { return s_.index() == 1; }
    // buffered() is how many bytes were received and not read yet (TLS
    // holds some above the socket).
    std::size_t buffered() const noexcept;
    net::tcp_stream& tcp() noexcept;

private:
    std::variant<net::tcp_stream, tls::stream> s_;
    bool truncated_ = false;
};

}  // namespace weft::http::detail
