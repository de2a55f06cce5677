// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "weft/net/tcp_stream.hpp"
#include "weft/tls/context.hpp"
#include "weft/tls/errors.hpp"

namespace weft::tls {

// stream is a TLS connection over a tcp_stream, with tcp_stream's surface:
// its calls read like blocking code and park only the calling fiber. The
// socket stays non-blocking and nothing waits inside OpenSSL: when OpenSSL
// needs the socket to be readable or writable the fiber parks on the reactor,
// then the call is tried again. Move-only; the destructor closes the socket
// without a close_notify (call shutdown() first for a clean close).
//
// Timeouts, cancellation and the error_code forms behave as tcp_stream's:
// `timeout` bounds the whole call, an enclosing with_timeout() applies too
// (weft::timeout_error), a cancelled fiber gets weft::cancelled, and the
// error_code forms report in `ec` and return what they moved. TLS failures
// are tls::errc codes, and the exceptions say OpenSSL's reason.
//
// One fiber may read while another writes, even though TLS 1.3 makes reads
// write (key updates) and writes read: whichever needs the socket parks on
// it, the other retries when it is free. Calls in the same direction from
// two fibers take turns.
class stream {
public:
    // stream() is not connected; every I/O call on it fails with EBADF.
    stream() noexcept;
    ~stream();
    stream(stream&&) noexcept;
    stream& operator=(stream&&) noexcept;
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    // connect(host, port, ctx, timeout) connects to host (a name or an IP
    // literal) as tcp_stream::connect does, then runs the client handshake:
    // SNI for names, the certificate checked against `host` when ctx
    // verifies, ALPN offered, a cached session resumed. `timeout` bounds the
    // lookup, the TCP connect and the handshake together.
    static stream connect(std::string_view host, std::uint16_t port, const context& ctx,
                          std::chrono::nanoseconds timeout);
    static stream connect(std::string_view host, std::uint16_t port, const context& ctx,
                          std::chrono::nanoseconds timeout, std::error_code& ec);
    // connect(tcp, host, ctx, timeout) runs the client handshake over a TCP
    // connection already made (a CONNECT tunnel through a proxy); `host` is
    // the name checked and sent as SNI. The stream owns tcp from then on.
    static stream connect(net::tcp_stream tcp, std::string_view host, const context& ctx,
                          std::chrono::nanoseconds timeout);
    static stream connect(net::tcp_stream tcp, std::string_view host, const context& ctx,
                          std::chrono::nanoseconds timeout, std::error_code& ec);
    // accept(tcp, ctx, timeout) runs the server handshake on an accepted
    // connection, bounded by `timeout` (a client that stalls mid-handshake is
    // cut off with weft::timeout_error).
    static stream accept(net::tcp_stream tcp, const context& ctx, std::chrono::nanoseconds timeout);
    static stream accept(net::tcp_stream tcp, const context& ctx, std::chrono::nanoseconds timeout,
                         std::error_code& ec);

    // read_some() reads at least one byte of plaintext, parking until some
    // come, and returns how many; 0 means the peer sent close_notify (a clean
    // end), or buf is empty. A peer that closes the TCP connection without
    // close_notify gives errc::truncated: the data may have been cut short.
    std::size_t read_some(std::span<char> buf);
    std::size_t read_some(std::span<char> buf, std::chrono::nanoseconds timeout);
    std::size_t read_some(std::span<char> buf, std::error_code& ec);
    std::size_t read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);

    // read_exact() fills all of buf; a clean close first is
    // std::errc::no_message_available ("peer closed after N of M bytes").
    void read_exact(std::span<char> buf);
    void read_exact(std::span<char> buf, std::chrono::nanoseconds timeout);
    std::size_t read_exact(std::span<char> buf, std::error_code& ec);
    std::size_t read_exact(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);

    // read_until() is tcp_stream::read_until() over the plaintext.
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max = 64 * 1024);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max,
                           std::chrono::nanoseconds timeout);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max, std::error_code& ec);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max,
                           std::chrono::nanoseconds timeout, std::error_code& ec);

    // write_all() sends every byte, parking while the socket is full. Never
    // raises SIGPIPE: a closed or reset peer is broken_pipe / connection_reset.
    void write_all(std::string_view bytes);
    void write_all(std::string_view bytes, std::chrono::nanoseconds timeout);
    std::size_t write_all(std::string_view bytes, std::error_code& ec);
    std::size_t write_all(std::string_view bytes, std::chrono::nanoseconds timeout, std::error_code& ec);
    template <net::char_bytes R>
    void write_all(R&& bytes) {
        std::span<const char> s(bytes);
        write_all(std::string_view(s.data(), s.size()));
    }

    // shutdown() sends close_notify: the peer reads a clean end after the
    // bytes already sent. It does not wait for the peer's close_notify; this
    // side may still read. Throws like write_all().
    void shutdown();
    void shutdown(std::chrono::nanoseconds timeout);
    void shutdown(std::chrono::nanoseconds timeout, std::error_code& ec);
    // close() closes the socket at once (no close_notify); never throws.
    void close() noexcept;
    bool is_open() const noexcept;

    // alpn() is the protocol the handshake agreed on ("http/1.1"), or empty.
    std::string_view alpn() const noexcept;
    // session_reused() is whether the handshake resumed an earlier session.
    bool session_reused() const noexcept;
    // server_name() is, on a server, the name the client sent as SNI (empty
    // without one); on a client, the host it connected to.
    std::string_view server_name() const noexcept;
    // protocol() is the version agreed ("TLSv1.3"); cipher() the cipher suite.
    std::string_view protocol() const noexcept;
    std::string_view cipher() const noexcept;
    // buffered() is how many plaintext bytes were received and not read yet;
    // records received and not decrypted yet count as one byte.
    std::size_t buffered() const noexcept;

    // next_layer() is the TCP connection underneath, for its addresses and
    // options (set_nodelay); reading or writing it directly breaks the TLS stream.
    net::tcp_stream& next_layer() noexcept;
    const net::tcp_stream& next_layer() const noexcept;

private:
    struct state;  // lib/tls/stream.cpp, over lib/tls/engine.hpp
    explicit stream(std::unique_ptr<state> s) noexcept;
    static const detail::context_data& data_of(const context& c) noexcept { return *c.p_; }
    std::unique_ptr<state> s_;
};

}  // namespace weft::tls
