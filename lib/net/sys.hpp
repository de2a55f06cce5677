// SPDX-License-Identifier: MIT
// The socket plumbing that tcp_stream, tcp_listener and udp_socket share:
// the reactor a call may use (or why it may not), getsockname/getpeername as
// an address, numeric hosts, the sockaddr of an address, and the public edge
// (or_throw) where an error_code form becomes its throwing twin.
//
// The rule for the error_code forms (README, "What you can rely on"): they
// never throw for what the call meets — outside a fiber they set
// weft::errc::no_scheduler, on a closed socket bad_file_descriptor, and
// timeouts and cancellation are weft::errc::timed_out / cancelled. Only
// std::bad_alloc may still escape them.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "detail/reactor.hpp"
#include "detail/sys_error.hpp"
#include "weft/net/address.hpp"

namespace weft::net::detail {

using weft::detail::errno_code;

// sockaddr_of is an address as the kernel takes it.
struct sockaddr_of {
    explicit sockaddr_of(const address& a) noexcept : len(a.to_sockaddr(reinterpret_cast<sockaddr*>(&ss))) {}
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&ss); }
    sockaddr_storage ss{};
    socklen_t len;
};

// fiber_reactor() is the running run()'s reactor when a fiber runs; nullptr
// with ec = weft::errc::no_scheduler otherwise (outside run(), or on its loop).
weft::detail::reactor* fiber_reactor(std::error_code& ec) noexcept;

// socket_reactor(fd) is fiber_reactor() for a call on the socket `fd`: also
// nullptr with ec = bad_file_descriptor when fd is closed (-1) or is not
// watched by this run's reactor (opened under another weft::run()).
weft::detail::reactor* socket_reactor(int fd, std::error_code& ec) noexcept;

// socket_name() is getsockname() (peer: getpeername()) of fd as an address;
// bad_file_descriptor for fd < 0.
address socket_name(int fd, bool peer, std::error_code& ec) noexcept;

// numeric_host() reads a numeric host, "1.2.3.4", "::1" or "[::1]", with
// `port`; false (out untouched) for anything else, a name included.
bool numeric_host(std::string_view host, std::uint16_t port, address& out) noexcept;

// host_port() writes a host and port as a message shows them: "example.com:80",
// "127.0.0.1:80", "[::1]:80" (a bare IPv6 host gets its brackets).
std::string host_port(std::string_view host, std::uint16_t port);

// or_throw(what, fn) calls fn(ec) and throws what ec stands for, naming
// `what` (weft::detail::throw_error); otherwise returns fn's result. The
// second form is for calls with their own timeout, which a timeout_error names.
// `what` is a string, or a callable that makes it: a message that names an
// address takes work, which only an error should pay for.
template <class What>
std::string_view what_text(const What& what, std::string& made) {
    if constexpr (std::is_invocable_v<const What&>) {
        made = what();
        return made;
    } else {
        return std::string_view(what);
    }
}
template <class What, class Fn>
auto or_throw(const What& what, Fn&& fn) {
    std::error_code ec;
    auto result = std::forward<Fn>(fn)(ec);
    if (ec) {
        std::string made;
        weft::detail::throw_error(ec, what_text(what, made));
    }
    return result;
}
template <class What, class Fn>
auto or_throw(const What& what, std::chrono::nanoseconds timeout, Fn&& fn) {
    std::error_code ec;
    auto result = std::forward<Fn>(fn)(ec);
    if (ec) {
        std::string made;
        weft::detail::throw_error(ec, what_text(what, made), timeout);
    }
    return result;
}

}  // namespace weft::net::detail
