// SPDX-License-Identifier: MIT
// Every wait goes through detail::io_wait: try the syscall, park on EAGAIN,
// retry. A datagram socket is never "drained" by a short read (each recv takes
// one datagram, whatever its size), so only EAGAIN clears its readiness; that
// is io_wait's rule already, and nothing here clears it by hand.
#include "weft/net/udp_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "detail/io_wait.hpp"
#include "detail/runtime.hpp"
#include "net/socket_fd.hpp"

namespace weft::net {

namespace {

using weft::detail::io_dir;
using weft::detail::reactor;

std::error_code errno_code() noexcept { return {errno, std::generic_category()}; }

// reactor_for() is the reactor `s` is registered with, or nullptr with ec set:
// bad_file_descriptor for a closed socket (or one opened under another
// weft::run()), weft::errc::no_scheduler outside a fiber.
reactor* reactor_for(const detail::socket_fd* s, std::error_code& ec) noexcept {
    if (!weft::detail::current_fiber()) {
        ec = make_error_code(errc::no_scheduler);
        return nullptr;
    }
    reactor* r = weft::detail::running_reactor();
    if (!s || !*s || !r || !r->watched(s->get())) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return nullptr;
    }
    return r;
}

// io() runs op() through io_wait on `s`. op() reads s->get() on every try, so a
// retry after close() sees -1 (EBADF), never a reused descriptor number.
template <class Op>
ssize_t io(const detail::socket_fd* s, io_dir dir, deadline until, std::error_code& ec, Op&& op) {
    ec.clear();
    reactor* r = reactor_for(s, ec);
    if (!r) return -1;
    return weft::detail::io_wait(*r, s->get(), dir, until, ec, op);
}

std::size_t do_send(const detail::socket_fd* s, std::span<const char> data, const address* to,
                    deadline until, std::error_code& ec) {
    sockaddr_storage ss{};
    socklen_t len = to ? to->to_sockaddr(reinterpret_cast<sockaddr*>(&ss)) : 0;
    ssize_t n = io(s, io_dir::write, until, ec, [&] {
        return ::sendto(s->get(), data.data(), data.size(), 0,
                        to ? reinterpret_cast<const sockaddr*>(&ss) : nullptr, len);
    });
    return n < 0 ? 0 : static_cast<std::size_t>(n);
}

// do_recv() receives one datagram; MSG_TRUNC makes the kernel return the
// datagram's real size, so a too-small buffer is told apart from a datagram
// that just fits.
std::size_t do_recv(const detail::socket_fd* s, std::span<char> buf, address* from, deadline until,
                    std::error_code& ec) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    ssize_t n = io(s, io_dir::read, until, ec, [&] {
        len = sizeof ss;
        return ::recvfrom(s->get(), buf.data(), buf.size(), MSG_TRUNC,
                          reinterpret_cast<sockaddr*>(&ss), &len);
    });
    if (n < 0) return 0;
    if (from) {
        if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
            ec = std::make_error_code(std::errc::address_family_not_supported);
            return 0;
        }
        *from = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    }
    if (static_cast<std::size_t>(n) > buf.size()) {
        ec = std::make_error_code(std::errc::message_size);
        return buf.size();
    }
    return static_cast<std::size_t>(n);
}

// name_of() is getsockname() or getpeername() of fd as an address.
template <class Get>
address name_of(int fd, Get get, std::error_code& ec) {
    ec.clear();
    if (fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return {};
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        ec = errno_code();
        return {};
    }
    return address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

template <class T>
T or_throw(T value, const std::error_code& ec, const char* what) {
    if (ec) weft::detail::throw_error(ec, what);
    return value;
}

}  // namespace

udp_socket::udp_socket() noexcept = default;
udp_socket::~udp_socket() = default;
udp_socket::udp_socket(udp_socket&&) noexcept = default;
udp_socket& udp_socket::operator=(udp_socket&&) noexcept = default;
udp_socket::udp_socket(std::unique_ptr<detail::socket_fd> fd) noexcept : fd_(std::move(fd)) {}

udp_socket udp_socket::open(address::family f, std::error_code& ec) {
    ec.clear();
    if (!weft::detail::running_reactor()) {
        ec = make_error_code(errc::no_scheduler);
        return {};
    }
    auto s = std::make_unique<detail::socket_fd>(
        detail::socket_fd::open(f == address::family::v4 ? AF_INET : AF_INET6, SOCK_DGRAM, ec));
    if (ec) return {};
    return udp_socket(std::move(s));
}

udp_socket udp_socket::open(address::family f) {
    std::error_code ec;
    return or_throw(open(f, ec), ec, "weft::net::udp_socket::open");
}

udp_socket udp_socket::bind(const address& local, std::error_code& ec) {
    udp_socket s = open(local.fam(), ec);
    if (ec) return {};
    int fd = s.native_handle();
    int one = 1;
    sockaddr_storage ss{};
    socklen_t len = local.to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        ec = errno_code();
        return {};
    }
    return s;
}

udp_socket udp_socket::bind(const address& local) {
    std::error_code ec;
    return or_throw(bind(local, ec), ec, "weft::net::udp_socket::bind");
}

void udp_socket::connect(const address& peer, std::error_code& ec) {
    ec.clear();
    if (!is_open()) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    sockaddr_storage ss{};
    socklen_t len = peer.to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    // A datagram connect() only records the peer: it never says EINPROGRESS.
    while (::connect(native_handle(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        if (errno != EINTR) {
            ec = errno_code();
            return;
        }
    }
}

void udp_socket::connect(const address& peer) {
    std::error_code ec;
    connect(peer, ec);
    if (ec) weft::detail::throw_error(ec, "weft::net::udp_socket::connect");
}

std::size_t udp_socket::send_to(std::span<const char> data, const address& to,
                                std::error_code& ec) {
    return do_send(fd_.get(), data, &to, never, ec);
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to,
                                std::chrono::nanoseconds timeout, std::error_code& ec) {
    return do_send(fd_.get(), data, &to, deadline_after(timeout), ec);
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to) {
    std::error_code ec;
    return or_throw(send_to(data, to, ec), ec, "weft::net::udp_socket::send_to");
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to,
                                std::chrono::nanoseconds timeout) {
    std::error_code ec;
    return or_throw(send_to(data, to, timeout, ec), ec, "weft::net::udp_socket::send_to");
}

std::size_t udp_socket::send(std::span<const char> data, std::error_code& ec) {
    return do_send(fd_.get(), data, nullptr, never, ec);
}
std::size_t udp_socket::send(std::span<const char> data, std::chrono::nanoseconds timeout,
                             std::error_code& ec) {
    return do_send(fd_.get(), data, nullptr, deadline_after(timeout), ec);
}
std::size_t udp_socket::send(std::span<const char> data) {
    std::error_code ec;
    return or_throw(send(data, ec), ec, "weft::net::udp_socket::send");
}
std::size_t udp_socket::send(std::span<const char> data, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    return or_throw(send(data, timeout, ec), ec, "weft::net::udp_socket::send");
}

std::size_t udp_socket::recv_from(std::span<char> buf, address& from, std::error_code& ec) {
    return do_recv(fd_.get(), buf, &from, never, ec);
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from,
                                  std::chrono::nanoseconds timeout, std::error_code& ec) {
    return do_recv(fd_.get(), buf, &from, deadline_after(timeout), ec);
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from) {
    std::error_code ec;
    return or_throw(recv_from(buf, from, ec), ec, "weft::net::udp_socket::recv_from");
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from,
                                  std::chrono::nanoseconds timeout) {
    std::error_code ec;
    return or_throw(recv_from(buf, from, timeout, ec), ec, "weft::net::udp_socket::recv_from");
}

std::size_t udp_socket::recv(std::span<char> buf, std::error_code& ec) {
    return do_recv(fd_.get(), buf, nullptr, never, ec);
}
std::size_t udp_socket::recv(std::span<char> buf, std::chrono::nanoseconds timeout,
                             std::error_code& ec) {
    return do_recv(fd_.get(), buf, nullptr, deadline_after(timeout), ec);
}
std::size_t udp_socket::recv(std::span<char> buf) {
    std::error_code ec;
    return or_throw(recv(buf, ec), ec, "weft::net::udp_socket::recv");
}
std::size_t udp_socket::recv(std::span<char> buf, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    return or_throw(recv(buf, timeout, ec), ec, "weft::net::udp_socket::recv");
}

address udp_socket::local_address(std::error_code& ec) const {
    return name_of(native_handle(), ::getsockname, ec);
}
address udp_socket::remote_address(std::error_code& ec) const {
    return name_of(native_handle(), ::getpeername, ec);
}

address udp_socket::local_address() const {
    std::error_code ec;
    return or_throw(local_address(ec), ec, "weft::net::udp_socket::local_address");
}
address udp_socket::remote_address() const {
    std::error_code ec;
    return or_throw(remote_address(ec), ec, "weft::net::udp_socket::remote_address");
}

bool udp_socket::is_open() const noexcept { return fd_ && *fd_; }
int udp_socket::native_handle() const noexcept { return fd_ ? fd_->get() : -1; }

// The socket_fd object stays (closed): a fiber parked on it retries with -1
// and gets EBADF instead of touching freed memory or a reused descriptor.
void udp_socket::close() noexcept {
    if (fd_) fd_->close();
}

}  // namespace weft::net
