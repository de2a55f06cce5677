// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include "weft/net/address.hpp"

namespace weft::net {

namespace detail {
class socket_fd;
}

// udp_socket is a datagram socket whose blocking-looking calls park the fiber
// until the socket is ready. Move-only; the destructor closes it.
//
// Every call that waits takes the enclosing with_timeout() into account, and
// throws weft::timeout_error when it passes, weft::cancelled when the fiber is
// cancelled, and std::system_error otherwise. A `timeout` argument bounds that
// one call: when it passes first, the call throws weft::timeout_error too
// (weft::errc::timed_out in the error_code forms). A zero timeout waits for
// nothing: it fails at once unless the socket is already known to be ready.
// The error_code forms throw no std::system_error: they set ec and return 0.
// One fiber at a time may wait to receive (and one to send) on a socket; a
// second gets std::errc::device_or_resource_busy.
class udp_socket {
public:
    // udp_socket() is a closed socket; its calls fail with bad_file_descriptor.
    udp_socket() noexcept;
    ~udp_socket();
    udp_socket(udp_socket&&) noexcept;
    udp_socket& operator=(udp_socket&&) noexcept;
    udp_socket(const udp_socket&) = delete;
    udp_socket& operator=(const udp_socket&) = delete;

    // bind() opens a socket of local's family with SO_REUSEADDR and binds it to
    // `local` (port 0: the kernel picks one; see local_address()). Throws
    // std::system_error (address_in_use, ...; weft::errc::no_scheduler outside
    // weft::run()).
    static udp_socket bind(const address& local);
    static udp_socket bind(const address& local, std::error_code& ec);
    // open() opens an unbound socket of family `f`; the first send_to() or
    // connect() binds it to an ephemeral port. Throws std::system_error.
    static udp_socket open(address::family f);
    static udp_socket open(address::family f, std::error_code& ec);

    // connect() sets the default peer for send()/recv() and makes the kernel
    // drop datagrams from anyone else; it sends nothing and does not wait.
    // Once connected, a closed peer port (ICMP port unreachable) makes a later
    // send() or recv() fail with std::errc::connection_refused. Throws
    // std::system_error.
    void connect(const address& peer);
    void connect(const address& peer, std::error_code& ec);

    // send_to() sends `data` as one datagram to `to` and returns its size.
    // Throws as the class comment says; message_size for a datagram larger
    // than UDP allows.
    std::size_t send_to(std::span<const char> data, const address& to);
    std::size_t send_to(std::span<const char> data, const address& to, std::chrono::nanoseconds timeout);
    std::size_t send_to(std::span<const char> data, const address& to, std::error_code& ec);
    std::size_t send_to(std::span<const char> data, const address& to, std::chrono::nanoseconds timeout,
                        std::error_code& ec);

    // send() is send_to() the connected peer. Throws destination_address_required
    // when not connected, connection_refused after the peer's port was found closed.
    std::size_t send(std::span<const char> data);
    std::size_t send(std::span<const char> data, std::chrono::nanoseconds timeout);
    std::size_t send(std::span<const char> data, std::error_code& ec);
    std::size_t send(std::span<const char> data, std::chrono::nanoseconds timeout, std::error_code& ec);

    // The text forms of send_to() and send() take a std::string, a
    // std::string_view or a string literal (its characters, without the '\0').
    template <std::convertible_to<std::string_view> Text>
    std::size_t send_to(const Text& text, const address& to) {
        return send_to(bytes_of(text), to);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send_to(const Text& text, const address& to, std::chrono::nanoseconds timeout) {
        return send_to(bytes_of(text), to, timeout);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send_to(const Text& text, const address& to, std::error_code& ec) {
        return send_to(bytes_of(text), to, ec);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send_to(const Text& text, const address& to, std::chrono::nanoseconds timeout, std::error_code& ec) {
        return send_to(bytes_of(text), to, timeout, ec);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send(const Text& text) {
        return send(bytes_of(text));
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send(const Text& text, std::chrono::nanoseconds timeout) {
        return send(bytes_of(text), timeout);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send(const Text& text, std::error_code& ec) {
        return send(bytes_of(text), ec);
    }
    template <std::convertible_to<std::string_view> Text>
    std::size_t send(const Text& text, std::chrono::nanoseconds timeout, std::error_code& ec) {
        return send(bytes_of(text), timeout, ec);
    }

    // recv_from() waits for one datagram, copies it into `buf`, sets `from` to
    // its sender and returns its size (0 for an empty datagram: not an end).
    // A datagram larger than `buf` is an error, std::errc::message_size: its
    // first buf.size() bytes are in `buf` and `from` is set, the rest is gone
    // (the kernel drops it); the error_code forms return buf.size() then.
    // Throws as the class comment says.
    std::size_t recv_from(std::span<char> buf, address& from);
    std::size_t recv_from(std::span<char> buf, address& from, std::chrono::nanoseconds timeout);
    std::size_t recv_from(std::span<char> buf, address& from, std::error_code& ec);
    std::size_t recv_from(std::span<char> buf, address& from, std::chrono::nanoseconds timeout, std::error_code& ec);

    // recv() is recv_from() without the sender, for a connected socket (which
    // only receives from its peer). Throws connection_refused when the peer's
    // port was found closed, message_size as recv_from().
    std::size_t recv(std::span<char> buf);
    std::size_t recv(std::span<char> buf, std::chrono::nanoseconds timeout);
    std::size_t recv(std::span<char> buf, std::error_code& ec);
    std::size_t recv(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec);

    // local_address() is the address the socket is bound to (its port is the
    // one the kernel picked after a bind to port 0). Throws std::system_error.
    address local_address() const;
    address local_address(std::error_code& ec) const;
    // remote_address() is the connected peer. Throws std::system_error
    // (not_connected before connect()).
    address remote_address() const;
    address remote_address(std::error_code& ec) const;

    // is_open() is false once closed or moved from.
    bool is_open() const noexcept;
    // native_handle() is the file descriptor (-1 when closed), for setsockopt()
    // and the like; weft still owns it.
    int native_handle() const noexcept;
    // close() closes the socket now; a fiber parked on it wakes and fails with
    // bad_file_descriptor. Closing a closed socket does nothing.
    void close() noexcept;

private:
    explicit udp_socket(std::unique_ptr<detail::socket_fd> fd) noexcept;

    template <class Text>
    static std::span<const char> bytes_of(const Text& text) noexcept {
        std::string_view s(text);
        return {s.data(), s.size()};
    }

    std::unique_ptr<detail::socket_fd> fd_;  // null when closed or moved from
};

}  // namespace weft::net
