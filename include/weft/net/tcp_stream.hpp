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
#include <type_traits>

#include "weft/net/address.hpp"

namespace weft::net {

class tcp_listener;

// char_bytes is a contiguous range of char that is not a string: a
// std::vector<char>, std::array<char, N> or std::span<char>. write_all()
// takes those beside std::string_view (strings and literals go there).
template <class R>
concept char_bytes = std::is_convertible_v<R&&, std::span<const char>> && !std::is_convertible_v<R&&, std::string_view>;

// tcp_stream is a connected TCP socket whose calls read like blocking code:
// one that cannot go on parks the calling fiber (not the thread) until the
// socket is ready. Move-only; the destructor closes it.
//
// Every blocking call ends early with weft::cancelled when its fiber is
// cancelled, and with weft::timeout_error when an enclosing with_timeout()
// passes or, in the forms that take one, when its own `timeout` passes (the
// deadline of the whole call, not of each syscall). An interrupted call keeps
// the stream usable: what it already moved stays moved. The error_code forms
// report the same errors in `ec` (weft::errc::cancelled / timed_out, errno's
// code otherwise) and return what they moved before the error.
//
// One fiber may read while another writes. A second fiber that would wait to
// read (or write) while one already waits gets std::errc::device_or_resource_busy.
// close() from another fiber wakes a parked call with bad_file_descriptor.
// Outside a fiber every call throws std::system_error(weft::errc::no_scheduler).
class tcp_stream {
public:
    // tcp_stream() is not connected; every I/O call on it fails with EBADF.
    tcp_stream() noexcept;
    ~tcp_stream();
    tcp_stream(tcp_stream&&) noexcept;
    tcp_stream& operator=(tcp_stream&&) noexcept;
    tcp_stream(const tcp_stream&) = delete;
    tcp_stream& operator=(const tcp_stream&) = delete;

    // connect(to) opens a socket and connects it (non-blocking connect, then a
    // park until the handshake ends; none where it ended within the call, as
    // on loopback, where another ready fiber does not run in between).
    // Throws std::system_error:
    // connection_refused (nobody listens), network_unreachable,
    // timed_out (ETIMEDOUT: the kernel gave up on the SYNs), ...; `timeout`
    // bounds the whole connect and ends it with weft::timeout_error.
    static tcp_stream connect(const address& to);
    static tcp_stream connect(const address& to, std::chrono::nanoseconds timeout);
    static tcp_stream connect(const address& to, std::error_code& ec);
    static tcp_stream connect(const address& to, std::chrono::nanoseconds timeout, std::error_code& ec);
    // connect(host, port, timeout) connects to a numeric host ("127.0.0.1",
    // "::1", "[::1]") or to a name, which it resolves with weft::dns::resolve
    // (the running run()'s default dns::options) and then tries each address
    // in order, returning the first connection. `timeout` bounds the lookup
    // and every attempt together. Errors: the lookup's (weft::dns::errc), or
    // the last attempt's.
    static tcp_stream connect(std::string_view host, std::uint16_t port, std::chrono::nanoseconds timeout);
    static tcp_stream connect(std::string_view host, std::uint16_t port, std::chrono::nanoseconds timeout,
                              std::error_code& ec);

    // read_some() reads at least one byte into buf, parking until some come,
    // and returns how many; 0 means the peer closed its side (EOF), or buf is
    // empty. Bytes that read_until() read past its delimiter come first.
    // Throws std::system_error(connection_reset) when the peer reset.
    std::size_t read_some(std::span<char> buf);
    std::size_t read_some(std::span<char> buf, std::chrono::nanoseconds timeout);
    std::size_t read_some(std::span<char> buf, std::error_code& ec);
    std::size_t read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);

    // read_exact() fills all of buf. When the peer closes first it throws
    // std::system_error(no_message_available) saying "peer closed after N of
    // M bytes" (the N bytes are in buf; the error_code form returns N).
    void read_exact(std::span<char> buf);
    void read_exact(std::span<char> buf, std::chrono::nanoseconds timeout);
    std::size_t read_exact(std::span<char> buf, std::error_code& ec);
    std::size_t read_exact(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);

    // read_until() reads up to and including the first `delimiter`, puts those
    // bytes in `out` (replacing what it held) and returns their count; what
    // came after the delimiter is kept for the next read. Returns 0 with `out`
    // empty at EOF when nothing was pending. Errors keep every byte received
    // for later reads: std::system_error(message_size) when the delimiter does
    // not end within `max` bytes, no_message_available when the peer closes
    // in the middle of a message, invalid_argument for an empty delimiter.
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max = 64 * 1024);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max,
                           std::chrono::nanoseconds timeout);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max, std::error_code& ec);
    std::size_t read_until(std::string& out, std::string_view delimiter, std::size_t max,
                           std::chrono::nanoseconds timeout, std::error_code& ec);

    // write_all() sends every byte of `bytes`, parking while the socket's send
    // buffer is full. Never raises SIGPIPE: writing to a closed or reset peer
    // throws std::system_error(broken_pipe or connection_reset). The
    // error_code forms return how many bytes were sent.
    void write_all(std::string_view bytes);
    void write_all(std::string_view bytes, std::chrono::nanoseconds timeout);
    std::size_t write_all(std::string_view bytes, std::error_code& ec);
    std::size_t write_all(std::string_view bytes, std::chrono::nanoseconds timeout, std::error_code& ec);
    // write_all(r) sends a vector / array / span of char the same way.
    template <char_bytes R>
    void write_all(R&& bytes) {
        write_all(view(bytes));
    }
    template <char_bytes R>
    void write_all(R&& bytes, std::chrono::nanoseconds timeout) {
        write_all(view(bytes), timeout);
    }
    template <char_bytes R>
    std::size_t write_all(R&& bytes, std::error_code& ec) {
        return write_all(view(bytes), ec);
    }
    template <char_bytes R>
    std::size_t write_all(R&& bytes, std::chrono::nanoseconds timeout, std::error_code& ec) {
        return write_all(view(bytes), timeout, ec);
    }

    // shutdown() closes the sending side (SHUT_WR): the peer reads EOF after
    // the bytes already sent; this side can still read. Throws std::system_error.
    void shutdown();
    void shutdown(std::error_code& ec) noexcept;
    // close() closes the socket (the destructor does too); calls afterwards
    // fail with EBADF. Unread bytes are dropped; never throws.
    void close() noexcept;
    // is_open() is true from connect/accept until close() or a move.
    bool is_open() const noexcept;

    // set_nodelay(on) turns Nagle's algorithm off (TCP_NODELAY). Throws std::system_error.
    void set_nodelay(bool on);
    // local_address() / remote_address() are this end's and the peer's address
    // (getsockname / getpeername). Throw std::system_error (not_connected once
    // the peer reset, bad_file_descriptor when closed).
    address local_address() const;
    address remote_address() const;
    address local_address(std::error_code& ec) const;
    address remote_address(std::error_code& ec) const;

    // native_handle() is the file descriptor (-1 when closed), for setsockopt
    // and the like; do not close it or change its blocking mode.
    int native_handle() const noexcept;

private:
    friend class tcp_listener;
    struct state;  // the socket and read_until's surplus bytes (lib/net/tcp_stream.cpp)

    explicit tcp_stream(std::unique_ptr<state> s) noexcept;
    // adopt() takes a freshly accepted non-blocking fd (closing it on failure).
    static tcp_stream adopt(int fd, std::error_code& ec);

    template <class R>
    static std::string_view view(R&& bytes) {
        std::span<const char> s(bytes);
        return {s.data(), s.size()};
    }

    // Kept on the heap so that a close() from another fiber cannot free what a
    // parked call still uses; only the destructor (or a move) frees it.
    std::unique_ptr<state> s_;
};

}  // namespace weft::net
