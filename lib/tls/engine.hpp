// SPDX-License-Identifier: MIT
// The state behind tls::stream: the TCP connection, OpenSSL's SSL object over
// a BIO of weft's own, and the plaintext read ahead by read_until(). Its
// OpenSSL half lives in engine.cpp (the only file, with context.cpp and
// session_cache.cpp, that includes OpenSSL); a build without TLS links
// disabled.cpp instead, whose handshakes fail with errc::unsupported.
//
// Invariants:
//  - no call into OpenSSL ever waits: the BIO makes non-blocking syscalls
//    and reports "retry"; drive() parks the fiber outside OpenSSL and calls
//    again. The BIO clears the reactor's readiness when a syscall would block
//    (or a read comes short), so a park waits for a fresh edge;
//  - at most one fiber of a stream waits on the socket per direction; a second
//    one that needs the same direction waits for the first one's turn to end
//    (turn_) and then retries its call, since the first one's call may have
//    done what the second needed;
//  - OpenSSL's error queue is per thread, so every fiber shares it: it is
//    cleared before each call and read right after, before any park.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "detail/reactor.hpp"
#include "net/read_buffer.hpp"
#include "weft/mutex.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/context.hpp"

struct ssl_st;

namespace weft::tls::detail {

struct context_data;

// handshake_error is a failed handshake: its code, and OpenSSL's reason.
struct handshake_error {
    std::error_code ec;
    std::string why;
};

// engine is what a tls::stream holds (stream::state is an engine).
struct engine {
    net::tcp_stream tcp;
    net::detail::read_buffer ahead;       // read_until()'s plaintext read past the delimiter
    ssl_st* ssl = nullptr;                // owned; its BIO reads and writes tcp's socket
    weft::detail::reactor* io = nullptr;  // the reactor tcp's socket is registered with
    int sys_error = 0;                    // errno of the BIO's last failed syscall (0: none)
    bool eof = false;                     // the BIO read the TCP end of stream
    bool broken = false;                  // a TLS error (not a socket one) ended the connection
    std::string name;                     // client: the host connected to; server: the SNI received
    std::string why;                      // OpenSSL's reason for the last error, for messages
    std::string cache_key;                // client: its key in the run's session cache ("" = none)
    weft::mutex turn[2];                  // held by the one fiber waiting on the socket, per io_dir

    explicit engine(net::tcp_stream t) : tcp(std::move(t)) {}
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // client_handshake() / server_handshake() run the handshake over tcp;
    // false with `err` saying why when it fails.
    bool client_handshake(std::string_view host, const context_data& ctx, deadline until, handshake_error& err);
    bool server_handshake(const context_data& ctx, deadline until, handshake_error& err);

    // recv() is one SSL_read: at least one byte, parking until some come; 0
    // at close_notify; errc::truncated at a TCP end without it.
    std::size_t recv(char* data, std::size_t size, deadline until, std::error_code& ec);
    std::size_t write_all(std::string_view bytes, deadline until, std::error_code& ec);
    // shutdown() sends close_notify (without waiting for the peer's).
    void shutdown(deadline until, std::error_code& ec);

    std::string_view alpn() const noexcept;
    bool session_reused() const noexcept;
    std::string_view protocol() const noexcept;
    std::string_view cipher() const noexcept;
    std::size_t ssl_pending() const noexcept;  // decrypted bytes OpenSSL holds (1 for undecrypted records)
};

}  // namespace weft::tls::detail
