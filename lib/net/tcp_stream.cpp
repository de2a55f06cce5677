// SPDX-License-Identifier: MIT
// tcp_stream: a non-blocking connect, and reads and writes through the one
// io_wait loop. Two things beyond "try, park on EAGAIN, retry":
//  - a read or write that moves fewer bytes than asked drained the socket or
//    filled its buffer, so it clears the reactor's readiness in that direction:
//    the next call parks at once instead of paying for an EAGAIN;
//  - read_until() reads ahead; what it read past the delimiter stays in a
//    read_buffer (shared with tls::stream) and every read serves it before
//    touching the socket.
#include "weft/net/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "detail/io_wait.hpp"
#include "net/read_buffer.hpp"
#include "net/socket_fd.hpp"
#include "net/sys.hpp"
#include "weft/dns/resolve.hpp"
#include "weft/errors.hpp"

namespace weft::net {

using weft::detail::io_dir;

namespace {

using detail::errno_code;
std::error_code code(std::errc e) noexcept { return std::make_error_code(e); }

}  // namespace

struct tcp_stream::state {
    detail::socket_fd fd;
    detail::read_buffer ahead;  // what read_until() read past its delimiter; every read serves it first

    // recv() is one read of the socket itself, parking until `until` at most.
    std::size_t recv(char* data, std::size_t size, deadline until, std::error_code& ec) {
        int sock = fd.get();
        weft::detail::reactor* io = detail::socket_reactor(sock, ec);
        if (!io) return 0;
        weft::detail::reactor& r = *io;
        // fd.get(), not `sock`: a close() from another fiber while we are
        // parked leaves -1 there, and the retry then fails with EBADF.
        ssize_t n =
            weft::detail::io_wait(r, sock, io_dir::read, until, ec, [&] { return ::recv(fd.get(), data, size, 0); });
        if (n < 0) return 0;
        // A short read drained the socket: the next read parks at once instead
        // of paying for an EAGAIN (STYLE.md, the syscall floor). The reactor
        // keeps a hang-up sticky, so a FIN that came with these bytes is not lost.
        if (n > 0 && static_cast<std::size_t>(n) < size) r.clear_ready(sock, io_dir::read);
        return static_cast<std::size_t>(n);
    }

    std::size_t read_some(std::span<char> buf, deadline until, std::error_code& ec) {
        ec.clear();
        if (buf.empty()) return 0;
        if (!ahead.empty()) return ahead.take(buf);
        return recv(buf.data(), buf.size(), until, ec);
    }

    std::size_t read_exact(std::span<char> buf, deadline until, std::error_code& ec) {
        return detail::read_exact(buf, ec,
                                  [&](std::span<char> b, std::error_code& e) { return read_some(b, until, e); });
    }

    std::size_t read_until(std::string& out, std::string_view delim, std::size_t max, deadline until,
                           std::error_code& ec) {
        return ahead.read_until(out, delim, max, ec,
                                [&](char* p, std::size_t n, std::error_code& e) { return recv(p, n, until, e); });
    }

    std::size_t write_all(std::string_view bytes, deadline until, std::error_code& ec) {
        ec.clear();
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            int sock = fd.get();
            weft::detail::reactor* io = detail::socket_reactor(sock, ec);
            if (!io) break;
            weft::detail::reactor& r = *io;
            std::size_t left = bytes.size() - sent;
            ssize_t n = weft::detail::io_wait(r, sock, io_dir::write, until, ec, [&] {
                return ::send(fd.get(), bytes.data() + sent, left, MSG_NOSIGNAL);
            });
            if (n < 0) break;
            sent += static_cast<std::size_t>(n);
            if (static_cast<std::size_t>(n) < left) r.clear_ready(sock, io_dir::write);
        }
        return sent;
    }

    // connect() opens a socket and connects it: EINPROGRESS, a second
    // connect() that says whether the handshake is already over (on loopback
    // it always is: the SYN, SYN-ACK and ACK all run within the first call),
    // and only when it is not, a park until the socket turns writable, after
    // which SO_ERROR says how the handshake ended.
    static std::unique_ptr<state> connect(const address& to, deadline until, std::error_code& ec) {
        ec.clear();
        weft::detail::reactor* io = detail::fiber_reactor(ec);
        if (!io) return nullptr;
        weft::detail::reactor& r = *io;
        // A loopback connect (or its refusal) never parks: take turns anyway.
        weft::detail::tls_scheduler->io_turn();
        const detail::sockaddr_of sa(to);
        auto st = std::make_unique<state>();
        // Registered after connect(): its handshake (done within connect() on
        // loopback) wakes no epoll set, and the registration reports what the
        // socket is by then. Writable once connected; never readable at
        // first: nothing can be read before the peer sends, and its first
        // bytes bring an edge, so the first read waits for it instead of
        // trying a recv that could only say EAGAIN.
        st->fd = detail::socket_fd::open_unwatched(to.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, ec);
        if (ec) return nullptr;
        int fd = st->fd.get();
        bool connected = ::connect(fd, sa.get(), sa.len) == 0;
        // Asked again, connect() ends a handshake that is over (0, or its
        // error: ECONNREFUSED) and says EALREADY while it goes on. This saves
        // a park, a wake-up and the getsockopt() below wherever the peer is
        // this host, and costs one syscall where it is not.
        if (!connected && (errno == EINPROGRESS || errno == EINTR))
            connected = ::connect(fd, sa.get(), sa.len) == 0 || errno == EISCONN;
        if (!connected && errno != EALREADY && errno != EINPROGRESS && errno != EINTR) {
            ec = errno_code(errno);  // the first call's error, or the handshake's
            return nullptr;
        }
        if (int err = st->fd.watch(false, connected)) {
            ec = errno_code(err);
            return nullptr;
        }
        if (connected) return st;
        for (;;) {
            weft::detail::wake_reason why = r.wait(fd, io_dir::write, until);  // the socket is new: nobody else waits
            if (why != weft::detail::wake_reason::ready) {
                ec = weft::detail::wake_error(why);
                return nullptr;
            }
            int err = 0;
            socklen_t err_len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
            if (err != 0) {
                ec = errno_code(err);
                return nullptr;
            }
            // Writable without an error: connected. (A connecting socket is
            // not writable, and it was registered as not ready; a
            // getpeername() to make sure would cost a syscall per
            // connection for a case that does not come.)
            return st;
        }
    }
};

// --- the public edge: deadlines in, exceptions out ---

tcp_stream::tcp_stream() noexcept = default;
tcp_stream::tcp_stream(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
tcp_stream::~tcp_stream() = default;
tcp_stream::tcp_stream(tcp_stream&&) noexcept = default;
tcp_stream& tcp_stream::operator=(tcp_stream&&) noexcept = default;

tcp_stream tcp_stream::adopt(int fd, std::error_code& ec) {
    std::unique_ptr<state> st;
    try {
        st = std::make_unique<state>();
    } catch (...) {
        ::close(fd);
        throw;
    }
    st->fd = detail::socket_fd::adopt(fd, ec);
    if (ec) return {};
    return tcp_stream(std::move(st));
}

namespace {
using detail::or_throw;

// closed() is what every call on a moved-from or default-made stream
// returns: bad_file_descriptor (no_scheduler outside a fiber, as every call).
std::size_t closed(std::error_code& ec) noexcept {
    if (detail::fiber_reactor(ec)) ec = code(std::errc::bad_file_descriptor);
    return 0;
}

// read_exact_what() says how far read_exact() got when the peer closed early.
std::string read_exact_what(std::error_code ec, std::size_t got, std::size_t want) {
    std::string what = "weft::net::tcp_stream::read_exact";
    if (ec == std::errc::no_message_available)
        what += ": peer closed after " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
    return what;
}

// read_until_what() says why read_until() gave up, and what it kept.
std::string read_until_what(std::error_code ec, std::size_t max, std::size_t pending) {
    std::string what = "weft::net::tcp_stream::read_until";
    if (ec == std::errc::message_size)
        what += ": no delimiter within " + std::to_string(max) + " bytes";
    else if (ec == std::errc::no_message_available)
        what += ": peer closed after " + std::to_string(pending) + " bytes without the delimiter";
    return what;
}

}  // namespace

tcp_stream tcp_stream::connect(const address& to, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return tcp_stream(state::connect(to, deadline_after(timeout), ec));
}
tcp_stream tcp_stream::connect(const address& to, std::error_code& ec) {
    return tcp_stream(state::connect(to, never, ec));
}
tcp_stream tcp_stream::connect(const address& to, std::chrono::nanoseconds timeout) {
    return or_throw([&] { return "weft::net::tcp_stream::connect to " + to.to_string(); }, timeout,
                    [&](std::error_code& ec) { return connect(to, timeout, ec); });
}
tcp_stream tcp_stream::connect(const address& to) {
    return or_throw([&] { return "weft::net::tcp_stream::connect to " + to.to_string(); },
                    [&](std::error_code& ec) { return connect(to, ec); });
}
tcp_stream tcp_stream::connect(std::string_view host, std::uint16_t port, std::chrono::nanoseconds timeout,
                               std::error_code& ec) {
    ec.clear();
    if (!detail::fiber_reactor(ec)) return {};  // before dns::default_options(), which would throw
    const deadline until = deadline_after(timeout);
    address numeric;
    if (detail::numeric_host(host, port, numeric)) return tcp_stream(state::connect(numeric, until, ec));
    // A name: look it up within the same budget, then try each address in turn.
    dns::options opts = dns::default_options();
    opts.timeout = std::min(opts.timeout, std::chrono::nanoseconds(until - clock::now()));
    std::vector<address> candidates = dns::resolve(host, port, opts, ec);
    if (ec) return {};
    for (const address& a : candidates) {
        tcp_stream s(state::connect(a, until, ec));
        if (!ec) return s;
        if (ec == errc::cancelled || ec == errc::timed_out || clock::now() >= until) break;
    }
    return {};
}
tcp_stream tcp_stream::connect(std::string_view host, std::uint16_t port, std::chrono::nanoseconds timeout) {
    return or_throw([&] { return "weft::net::tcp_stream::connect to " + detail::host_port(host, port); }, timeout,
                    [&](std::error_code& ec) { return connect(host, port, timeout, ec); });
}

std::size_t tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return s_ ? s_->read_some(buf, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_some(std::span<char> buf, std::error_code& ec) {
    return s_ ? s_->read_some(buf, never, ec) : closed(ec);
}
std::size_t tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::tcp_stream::read_some", timeout,
                    [&](std::error_code& ec) { return read_some(buf, timeout, ec); });
}
std::size_t tcp_stream::read_some(std::span<char> buf) {
    return or_throw("weft::net::tcp_stream::read_some", [&](std::error_code& ec) { return read_some(buf, ec); });
}

std::size_t tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return s_ ? s_->read_exact(buf, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_exact(std::span<char> buf, std::error_code& ec) {
    return s_ ? s_->read_exact(buf, never, ec) : closed(ec);
}
void tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_exact(buf, timeout, ec);
    if (ec) weft::detail::throw_error(ec, read_exact_what(ec, n, buf.size()), timeout);
}
void tcp_stream::read_exact(std::span<char> buf) { read_exact(buf, no_timeout); }

std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                                   std::chrono::nanoseconds timeout, std::error_code& ec) {
    return s_ ? s_->read_until(out, delimiter, max, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max, std::error_code& ec) {
    return read_until(out, delimiter, max, no_timeout, ec);
}
std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                                   std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_until(out, delimiter, max, timeout, ec);
    if (ec) weft::detail::throw_error(ec, read_until_what(ec, max, s_ ? s_->ahead.pending().size() : 0), timeout);
    return n;
}
std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max) {
    return read_until(out, delimiter, max, no_timeout);
}

std::size_t tcp_stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return s_ ? s_->write_all(bytes, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::write_all(std::string_view bytes, std::error_code& ec) {
    return s_ ? s_->write_all(bytes, never, ec) : closed(ec);
}
void tcp_stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout) {
    or_throw("weft::net::tcp_stream::write_all", timeout,
             [&](std::error_code& ec) { return write_all(bytes, timeout, ec); });
}
void tcp_stream::write_all(std::string_view bytes) {
    or_throw("weft::net::tcp_stream::write_all", [&](std::error_code& ec) { return write_all(bytes, ec); });
}

void tcp_stream::shutdown(std::error_code& ec) noexcept {
    ec.clear();
    if (::shutdown(native_handle(), SHUT_WR) != 0) ec = errno_code();
}
void tcp_stream::shutdown() {
    or_throw("weft::net::tcp_stream::shutdown", [&](std::error_code& ec) {
        shutdown(ec);
        return 0;
    });
}

void tcp_stream::close() noexcept {
    if (!s_) return;
    s_->fd.close();
    s_->ahead.clear();
}
bool tcp_stream::is_open() const noexcept { return s_ && s_->fd; }
int tcp_stream::native_handle() const noexcept { return s_ ? s_->fd.get() : -1; }

void tcp_stream::set_nodelay(bool on) {
    int v = on ? 1 : 0;
    if (::setsockopt(native_handle(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0)
        weft::detail::throw_error(errno_code(), "weft::net::tcp_stream::set_nodelay");
}

address tcp_stream::local_address(std::error_code& ec) const { return detail::socket_name(native_handle(), false, ec); }
address tcp_stream::remote_address(std::error_code& ec) const { return detail::socket_name(native_handle(), true, ec); }
address tcp_stream::local_address() const {
    return or_throw("weft::net::tcp_stream::local_address", [&](std::error_code& ec) { return local_address(ec); });
}
address tcp_stream::remote_address() const {
    return or_throw("weft::net::tcp_stream::remote_address", [&](std::error_code& ec) { return remote_address(ec); });
}

}  // namespace weft::net
