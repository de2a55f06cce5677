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
#include "net/socket_fd.hpp"
#include "net/sys.hpp"

namespace weft::net {

namespace {

using weft::detail::io_dir;
using weft::detail::reactor;

using detail::errno_code;
using detail::or_throw;

// io() runs op() through io_wait on `s`. op() reads s->get() on every try, so a
// retry after close() sees -1 (EBADF), never a reused descriptor number.
template <class Op>
ssize_t io(const detail::socket_fd* s, io_dir dir, deadline until, std::error_code& ec, Op&& op) {
    ec.clear();
    reactor* r = detail::socket_reactor(s ? s->get() : -1, ec);
    if (!r) return -1;
    return weft::detail::io_wait(*r, s->get(), dir, until, ec, op);
}

std::size_t do_send(const detail::socket_fd* s, std::span<const char> data, const address* to, deadline until,
                    std::error_code& ec) {
    const detail::sockaddr_of sa(to ? *to : address());
    ssize_t n = io(s, io_dir::write, until, ec, [&] {
        return ::sendto(s->get(), data.data(), data.size(), 0, to ? sa.get() : nullptr, to ? sa.len : 0);
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
        return ::recvfrom(s->get(), buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&ss), &len);
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

}  // namespace

udp_socket::udp_socket() noexcept = default;
udp_socket::~udp_socket() = default;
udp_socket::udp_socket(udp_socket&&) noexcept = default;
udp_socket& udp_socket::operator=(udp_socket&&) noexcept = default;
udp_socket::udp_socket(std::unique_ptr<detail::socket_fd> fd) noexcept : fd_(std::move(fd)) {}

udp_socket udp_socket::open(address::family f, std::error_code& ec) {
    ec.clear();
    if (!detail::fiber_reactor(ec)) return {};
    auto s = std::make_unique<detail::socket_fd>(
        detail::socket_fd::open(f == address::family::v4 ? AF_INET : AF_INET6, SOCK_DGRAM, ec));
    if (ec) return {};
    return udp_socket(std::move(s));
}

udp_socket udp_socket::open(address::family f) {
    return or_throw("weft::net::udp_socket::open", [&](std::error_code& ec) { return open(f, ec); });
}

udp_socket udp_socket::bind(const address& local, std::error_code& ec) {
    udp_socket s = open(local.fam(), ec);
    if (ec) return {};
    int fd = s.native_handle();
    int one = 1;
    const detail::sockaddr_of sa(local);
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || ::bind(fd, sa.get(), sa.len) != 0) {
        ec = errno_code();
        return {};
    }
    return s;
}

udp_socket udp_socket::bind(const address& local) {
    return or_throw([&] { return "weft::net::udp_socket::bind " + local.to_string(); },
                    [&](std::error_code& ec) { return bind(local, ec); });
}

void udp_socket::connect(const address& peer, std::error_code& ec) {
    ec.clear();
    if (!detail::socket_reactor(native_handle(), ec)) return;
    const detail::sockaddr_of sa(peer);
    // A datagram connect() only records the peer: it never says EINPROGRESS.
    while (::connect(native_handle(), sa.get(), sa.len) != 0) {
        if (errno != EINTR) {
            ec = errno_code();
            return;
        }
    }
}

void udp_socket::connect(const address& peer) {
    or_throw([&] { return "weft::net::udp_socket::connect to " + peer.to_string(); },
             [&](std::error_code& ec) {
                 connect(peer, ec);
                 return 0;
             });
}

std::size_t udp_socket::send_to(std::span<const char> data, const address& to, std::error_code& ec) {
    return do_send(fd_.get(), data, &to, never, ec);
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to, std::chrono::nanoseconds timeout,
                                std::error_code& ec) {
    return do_send(fd_.get(), data, &to, deadline_after(timeout), ec);
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to) {
    return or_throw([&] { return "weft::net::udp_socket::send_to " + to.to_string(); },
                    [&](std::error_code& ec) { return send_to(data, to, ec); });
}
std::size_t udp_socket::send_to(std::span<const char> data, const address& to, std::chrono::nanoseconds timeout) {
    return or_throw([&] { return "weft::net::udp_socket::send_to " + to.to_string(); }, timeout,
                    [&](std::error_code& ec) { return send_to(data, to, timeout, ec); });
}

std::size_t udp_socket::send(std::span<const char> data, std::error_code& ec) {
    return do_send(fd_.get(), data, nullptr, never, ec);
}
std::size_t udp_socket::send(std::span<const char> data, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return do_send(fd_.get(), data, nullptr, deadline_after(timeout), ec);
}
std::size_t udp_socket::send(std::span<const char> data) {
    return or_throw("weft::net::udp_socket::send", [&](std::error_code& ec) { return send(data, ec); });
}
std::size_t udp_socket::send(std::span<const char> data, std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::udp_socket::send", timeout,
                    [&](std::error_code& ec) { return send(data, timeout, ec); });
}

std::size_t udp_socket::recv_from(std::span<char> buf, address& from, std::error_code& ec) {
    return do_recv(fd_.get(), buf, &from, never, ec);
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from, std::chrono::nanoseconds timeout,
                                  std::error_code& ec) {
    return do_recv(fd_.get(), buf, &from, deadline_after(timeout), ec);
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from) {
    return or_throw("weft::net::udp_socket::recv_from", [&](std::error_code& ec) { return recv_from(buf, from, ec); });
}
std::size_t udp_socket::recv_from(std::span<char> buf, address& from, std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::udp_socket::recv_from", timeout,
                    [&](std::error_code& ec) { return recv_from(buf, from, timeout, ec); });
}

std::size_t udp_socket::recv(std::span<char> buf, std::error_code& ec) {
    return do_recv(fd_.get(), buf, nullptr, never, ec);
}
std::size_t udp_socket::recv(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return do_recv(fd_.get(), buf, nullptr, deadline_after(timeout), ec);
}
std::size_t udp_socket::recv(std::span<char> buf) {
    return or_throw("weft::net::udp_socket::recv", [&](std::error_code& ec) { return recv(buf, ec); });
}
std::size_t udp_socket::recv(std::span<char> buf, std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::udp_socket::recv", timeout,
                    [&](std::error_code& ec) { return recv(buf, timeout, ec); });
}

address udp_socket::local_address(std::error_code& ec) const { return detail::socket_name(native_handle(), false, ec); }
address udp_socket::remote_address(std::error_code& ec) const { return detail::socket_name(native_handle(), true, ec); }

address udp_socket::local_address() const {
    return or_throw("weft::net::udp_socket::local_address", [&](std::error_code& ec) { return local_address(ec); });
}
address udp_socket::remote_address() const {
    return or_throw("weft::net::udp_socket::remote_address", [&](std::error_code& ec) { return remote_address(ec); });
}

bool udp_socket::is_open() const noexcept { return fd_ && *fd_; }
int udp_socket::native_handle() const noexcept { return fd_ ? fd_->get() : -1; }

// The socket_fd object stays (closed): a fiber parked on it retries with -1
// and gets EBADF instead of touching freed memory or a reused descriptor.
void udp_socket::close() noexcept {
    if (fd_) fd_->close();
}

}  // namespace weft::net
