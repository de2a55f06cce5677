// SPDX-License-Identifier: MIT
// tcp_stream: a non-blocking connect, and reads and writes through the one
// io_wait loop. Two things beyond "try, park on EAGAIN, retry":
//  - a read or write that moves fewer bytes than asked drained the socket or
//    filled its buffer, so it clears the reactor's readiness in that direction:
//    the next call parks at once instead of paying for an EAGAIN;
//  - read_until() reads ahead; what it read past the delimiter stays in
//    rbuf[rbegin, rend) and every read serves it before touching the socket.
#include "weft/net/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "detail/io_wait.hpp"
#include "detail/runtime.hpp"
#include "net/socket_fd.hpp"
#include "weft/dns/resolve.hpp"
#include "weft/errors.hpp"

namespace weft::net {

using weft::detail::io_dir;

namespace {

constexpr std::size_t read_ahead = 16 * 1024;  // read_until()'s least free room per read

std::error_code errno_code(int e) noexcept { return {e, std::generic_category()}; }
std::error_code code(std::errc e) noexcept { return std::make_error_code(e); }

weft::detail::reactor& io() { return weft::detail::current_reactor("weft::net::tcp_stream"); }

}  // namespace

struct tcp_stream::state {
    detail::socket_fd fd;
    std::string rbuf;        // read_until()'s buffer; only its size grows, never shrinks
    std::size_t rbegin = 0;  // rbuf[rbegin, rend) was read from the socket and not handed out yet
    std::size_t rend = 0;

    std::string_view surplus() const noexcept { return {rbuf.data() + rbegin, rend - rbegin}; }
    void consume(std::size_t n) noexcept {
        rbegin += n;
        if (rbegin == rend) rbegin = rend = 0;
    }

    // recv() is one read of the socket itself, parking until `until` at most.
    std::size_t recv(char* data, std::size_t size, deadline until, std::error_code& ec) {
        int sock = fd.get();
        if (sock < 0) {
            ec = code(std::errc::bad_file_descriptor);
            return 0;
        }
        weft::detail::reactor& r = io();
        // fd.get(), not `sock`: a close() from another fiber while we are
        // parked leaves -1 there, and the retry then fails with EBADF.
        ssize_t n = weft::detail::io_wait(r, sock, io_dir::read, until, ec,
                                          [&] { return ::recv(fd.get(), data, size, 0); });
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
        if (rend > rbegin) {
            std::size_t n = std::min(buf.size(), rend - rbegin);
            std::memcpy(buf.data(), rbuf.data() + rbegin, n);
            consume(n);
            return n;
        }
        return recv(buf.data(), buf.size(), until, ec);
    }

    std::size_t read_exact(std::span<char> buf, deadline until, std::error_code& ec) {
        std::size_t got = 0;
        ec.clear();
        while (got < buf.size()) {
            std::size_t n = read_some(buf.subspan(got), until, ec);
            if (ec) return got;
            if (n == 0) {
                ec = code(std::errc::no_message_available);
                return got;
            }
            got += n;
        }
        return got;
    }

    std::size_t read_until(std::string& out, std::string_view delim, std::size_t max,
                           deadline until, std::error_code& ec) {
        ec.clear();
        out.clear();
        if (delim.empty()) {
            ec = code(std::errc::invalid_argument);
            return 0;
        }
        std::size_t scanned = 0;  // no delimiter starts before this offset of surplus()
        for (;;) {
            std::string_view have = surplus();
            std::size_t pos = have.find(delim, scanned);
            if (pos != std::string_view::npos) {
                std::size_t n = pos + delim.size();
                if (n > max) break;
                out.assign(have.data(), n);
                consume(n);
                return n;
            }
            if (have.size() >= max) break;  // any delimiter would now end past max
            scanned = have.size() >= delim.size() ? have.size() - delim.size() + 1 : 0;
            if (rbegin > 0) {  // move what is pending to the front, making room
                std::memmove(rbuf.data(), rbuf.data() + rbegin, rend - rbegin);
                rend -= rbegin;
                rbegin = 0;
            }
            if (rbuf.size() - rend < read_ahead)
                rbuf.resize(std::max(rbuf.size() * 2, rend + read_ahead));
            std::size_t n = recv(rbuf.data() + rend, rbuf.size() - rend, until, ec);
            if (ec) return 0;
            if (n == 0) {
                if (rend > rbegin) ec = code(std::errc::no_message_available);
                return 0;
            }
            rend += n;
        }
        ec = code(std::errc::message_size);
        return 0;
    }

    std::size_t write_all(std::string_view bytes, deadline until, std::error_code& ec) {
        ec.clear();
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            int sock = fd.get();
            if (sock < 0) {
                ec = code(std::errc::bad_file_descriptor);
                break;
            }
            weft::detail::reactor& r = io();
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

    // connect() opens a socket and connects it: EINPROGRESS, a park until the
    // socket turns writable, then SO_ERROR says how the handshake ended.
    static std::unique_ptr<state> connect(const address& to, deadline until, std::error_code& ec) {
        weft::detail::reactor& r = weft::detail::current_reactor("weft::net::tcp_stream::connect");
        sockaddr_storage sa{};
        unsigned len = to.to_sockaddr(reinterpret_cast<sockaddr*>(&sa));
        auto st = std::make_unique<state>();
        st->fd = detail::socket_fd::open(to.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, ec);
        if (ec) return nullptr;
        int fd = st->fd.get();
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0) return st;
        if (errno != EINPROGRESS && errno != EINTR) {
            ec = errno_code(errno);
            return nullptr;
        }
        // The socket was registered as writable; only the handshake's edge counts.
        r.clear_ready(fd, io_dir::write);
        for (;;) {
            bool busy = false;  // cannot be: the socket is new, and no other fiber knows it yet
            weft::detail::wake_reason why = r.wait(fd, io_dir::write, until, busy);
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
            sockaddr_storage peer{};
            socklen_t peer_len = sizeof peer;
            if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) return st;
            if (errno != ENOTCONN) {
                ec = errno_code(errno);
                return nullptr;
            }
            // Still in progress: an old edge woke us. Any later change of state
            // brings a new edge, so it is safe to forget this one and wait again.
            r.clear_ready(fd, io_dir::write);
        }
    }
};

namespace {

// numeric_host() reads "1.2.3.4", "::1" or "[::1]"; sets ec for anything else.
address numeric_host(std::string_view host, std::uint16_t port, std::error_code& ec) {
    ec.clear();
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    try {
        return address::ip(host, port);
    } catch (const std::system_error&) {
        ec = code(std::errc::invalid_argument);
        return {};
    }
}

address sock_name(int fd, bool peer, std::error_code& ec) {
    ec.clear();
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    auto* sa = reinterpret_cast<sockaddr*>(&ss);
    if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) {
        ec = errno_code(errno);
        return {};
    }
    return address::from_sockaddr(sa, len);
}

}  // namespace

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
// detail_deadline_passed() is true once the enclosing with_timeout deadline passed.
bool detail_deadline_passed() noexcept { return weft::detail::scope_deadline() <= clock::now(); }

// or_throw(what, fn) calls fn(ec) and throws what ec stands for, if anything.
template <class Fn>
auto or_throw(const char* what, Fn&& fn) {
    std::error_code ec;
    auto result = fn(ec);
    if (ec) weft::detail::throw_error(ec, what);
    return result;
}
[[noreturn]] void throw_connect_error(std::error_code ec, const address& to) {
    weft::detail::throw_error(ec, ("weft::net::tcp_stream::connect to " + to.to_string()).c_str());
}
// closed() is what every call on a moved-from or default-made stream returns.
std::size_t closed(std::error_code& ec) noexcept {
    ec = code(std::errc::bad_file_descriptor);
    return 0;
}
}  // namespace

tcp_stream tcp_stream::connect(const address& to, std::chrono::nanoseconds timeout,
                               std::error_code& ec) {
    return tcp_stream(state::connect(to, deadline_after(timeout), ec));
}
tcp_stream tcp_stream::connect(const address& to, std::error_code& ec) {
    return tcp_stream(state::connect(to, never, ec));
}
tcp_stream tcp_stream::connect(const address& to, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    tcp_stream s = connect(to, timeout, ec);
    if (ec) throw_connect_error(ec, to);
    return s;
}
tcp_stream tcp_stream::connect(const address& to) {
    std::error_code ec;
    tcp_stream s = connect(to, ec);
    if (ec) throw_connect_error(ec, to);
    return s;
}
tcp_stream tcp_stream::connect(std::string_view host, std::uint16_t port,
                               std::chrono::nanoseconds timeout, std::error_code& ec) {
    const deadline until = deadline_after(timeout);
    address numeric = numeric_host(host, port, ec);
    if (!ec) return tcp_stream(state::connect(numeric, until, ec));
    // A name: look it up within the same budget, then try each address in turn.
    dns::options opts = dns::default_options();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    opts.timeout = std::max(std::chrono::milliseconds(1), std::min(opts.timeout, left));
    std::vector<address> candidates = dns::resolve(host, port, opts, ec);
    if (ec) return {};
    for (const address& a : candidates) {
        tcp_stream s(state::connect(a, until, ec));
        if (!ec) return s;
        if (ec == make_error_code(errc::cancelled) || clock::now() >= until || detail_deadline_passed()) break;
    }
    return {};
}
tcp_stream tcp_stream::connect(std::string_view host, std::uint16_t port,
                               std::chrono::nanoseconds timeout) {
    bool bare_v6 = host.find(':') != std::string_view::npos && host.front() != '[';
    std::string shown = bare_v6 ? '[' + std::string(host) + ']' : std::string(host);
    std::string what = "weft::net::tcp_stream::connect to " + shown + ":" + std::to_string(port);
    return or_throw(what.c_str(), [&](std::error_code& ec) { return connect(host, port, timeout, ec); });
}

std::size_t tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout,
                                  std::error_code& ec) {
    return s_ ? s_->read_some(buf, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_some(std::span<char> buf, std::error_code& ec) {
    return s_ ? s_->read_some(buf, never, ec) : closed(ec);
}
std::size_t tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::tcp_stream::read_some",
                    [&](std::error_code& ec) { return read_some(buf, timeout, ec); });
}
std::size_t tcp_stream::read_some(std::span<char> buf) {
    return or_throw("weft::net::tcp_stream::read_some",
                    [&](std::error_code& ec) { return read_some(buf, ec); });
}

std::size_t tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout,
                                   std::error_code& ec) {
    return s_ ? s_->read_exact(buf, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_exact(std::span<char> buf, std::error_code& ec) {
    return s_ ? s_->read_exact(buf, never, ec) : closed(ec);
}

namespace {
// read_exact_what() says how far read_exact() got when the peer closed early.
std::string read_exact_what(std::error_code ec, std::size_t got, std::size_t want) {
    std::string what = "weft::net::tcp_stream::read_exact";
    if (ec == std::errc::no_message_available)
        what +=
            ": peer closed after " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
    return what;
}
}  // namespace

void tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_exact(buf, timeout, ec);
    if (ec) weft::detail::throw_error(ec, read_exact_what(ec, n, buf.size()).c_str());
}
void tcp_stream::read_exact(std::span<char> buf) {
    std::error_code ec;
    std::size_t n = read_exact(buf, ec);
    if (ec) weft::detail::throw_error(ec, read_exact_what(ec, n, buf.size()).c_str());
}

std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                                   std::chrono::nanoseconds timeout, std::error_code& ec) {
    return s_ ? s_->read_until(out, delimiter, max, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                                   std::error_code& ec) {
    return s_ ? s_->read_until(out, delimiter, max, never, ec) : closed(ec);
}

namespace {
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

std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max,
                                   std::chrono::nanoseconds timeout) {
    std::error_code ec;
    std::size_t n = read_until(out, delimiter, max, timeout, ec);
    if (ec)
        weft::detail::throw_error(ec,
                                  read_until_what(ec, max, s_ ? s_->surplus().size() : 0).c_str());
    return n;
}
std::size_t tcp_stream::read_until(std::string& out, std::string_view delimiter, std::size_t max) {
    std::error_code ec;
    std::size_t n = read_until(out, delimiter, max, ec);
    if (ec)
        weft::detail::throw_error(ec,
                                  read_until_what(ec, max, s_ ? s_->surplus().size() : 0).c_str());
    return n;
}

std::size_t tcp_stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout,
                                  std::error_code& ec) {
    return s_ ? s_->write_all(bytes, deadline_after(timeout), ec) : closed(ec);
}
std::size_t tcp_stream::write_all(std::string_view bytes, std::error_code& ec) {
    return s_ ? s_->write_all(bytes, never, ec) : closed(ec);
}
void tcp_stream::write_all(std::string_view bytes, std::chrono::nanoseconds timeout) {
    or_throw("weft::net::tcp_stream::write_all",
             [&](std::error_code& ec) { return write_all(bytes, timeout, ec); });
}
void tcp_stream::write_all(std::string_view bytes) {
    or_throw("weft::net::tcp_stream::write_all",
             [&](std::error_code& ec) { return write_all(bytes, ec); });
}

void tcp_stream::shutdown(std::error_code& ec) noexcept {
    ec.clear();
    if (::shutdown(native_handle(), SHUT_WR) != 0) ec = errno_code(errno);
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
    s_->rbegin = s_->rend = 0;
}
bool tcp_stream::is_open() const noexcept { return s_ && s_->fd; }
int tcp_stream::native_handle() const noexcept { return s_ ? s_->fd.get() : -1; }

void tcp_stream::set_nodelay(bool on) {
    int v = on ? 1 : 0;
    if (::setsockopt(native_handle(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0)
        weft::detail::throw_error(errno_code(errno), "weft::net::tcp_stream::set_nodelay");
}

address tcp_stream::local_address(std::error_code& ec) const {
    return sock_name(native_handle(), false, ec);
}
address tcp_stream::remote_address(std::error_code& ec) const {
    return sock_name(native_handle(), true, ec);
}
address tcp_stream::local_address() const {
    return or_throw("weft::net::tcp_stream::local_address",
                    [&](std::error_code& ec) { return local_address(ec); });
}
address tcp_stream::remote_address() const {
    return or_throw("weft::net::tcp_stream::remote_address",
                    [&](std::error_code& ec) { return remote_address(ec); });
}

}  // namespace weft::net
