// SPDX-License-Identifier: MIT
// tcp_listener: bind + listen, and accept4 through the one io_wait loop.
//
// Out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), accept4
// fails while the connection stays queued and the listener stays readable.
// The reactor's readiness is level-ish here (nothing cleared it), so retrying
// at once would spin. Instead the fiber sleeps on a timer, 10 ms doubling to
// 200 ms, and tries again: the connection waits in the backlog, the CPU idles.
// Nothing is accepted-and-dropped (no spare-fd trick): the peer is served late,
// not reset.
#include "weft/net/tcp_listener.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "detail/io_wait.hpp"
#include "net/socket_fd.hpp"
#include "net/sys.hpp"
#include "weft/errors.hpp"

namespace weft::net {

using weft::detail::io_dir;
using weft::detail::wake_reason;

namespace {

constexpr std::chrono::milliseconds first_backoff{10};
constexpr std::chrono::milliseconds max_backoff{200};

using detail::errno_code;
using detail::or_throw;

bool out_of_resources(const std::error_code& ec) noexcept {
    return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
           ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

// back_off() parks for `pause` (never past `until`); returns the error that
// ended the wait early, or timed_out once `until` itself is reached.
std::error_code back_off(int fd, std::chrono::milliseconds pause, deadline until) {
    deadline at = std::min(deadline_after(pause), until);
    wake_reason why = weft::detail::park({"accept back-off (out of fds or memory)", nullptr, fd}, at);
    if (why == wake_reason::timed_out) return at == until ? make_error_code(errc::timed_out) : std::error_code{};
    return weft::detail::wake_error(why);
}

}  // namespace

struct tcp_listener::state {
    detail::socket_fd fd;

    tcp_stream accept(deadline until, std::error_code& ec) {
        auto pause = first_backoff;
        for (;;) {
            int sock = fd.get();
            weft::detail::reactor* r = detail::socket_reactor(sock, ec);
            if (!r) return {};
            // fd.get(), not `sock`: close() from another fiber leaves -1 there.
            int conn = weft::detail::io_wait(*r, sock, io_dir::read, until, ec, [&] {
                return ::accept4(fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            });
            if (conn >= 0) return tcp_stream::adopt(conn, ec);
            if (ec == std::errc::connection_aborted) continue;
            if (!out_of_resources(ec)) return {};
            if ((ec = back_off(sock, pause, until))) return {};
            pause = std::min(pause * 2, max_backoff);
        }
    }
};

tcp_listener::tcp_listener() noexcept = default;
tcp_listener::tcp_listener(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
tcp_listener::~tcp_listener() = default;
tcp_listener::tcp_listener(tcp_listener&&) noexcept = default;
tcp_listener& tcp_listener::operator=(tcp_listener&&) noexcept = default;

tcp_listener tcp_listener::bind(const address& at, int backlog, bind_options opts, std::error_code& ec) {
    ec.clear();
    if (!detail::fiber_reactor(ec)) return {};
    auto st = std::make_unique<state>();
    st->fd = detail::socket_fd::open(at.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, ec);
    if (ec) return {};
    int fd = st->fd.get();
    int one = 1;
    const detail::sockaddr_of sa(at);
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (opts.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        (at.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        ::bind(fd, sa.get(), sa.len) != 0 || ::listen(fd, std::max(backlog, 0)) != 0) {
        ec = errno_code();
        return {};
    }
    return tcp_listener(std::move(st));
}

tcp_listener tcp_listener::bind(const address& at, int backlog, bind_options opts) {
    return or_throw([&] { return "weft::net::tcp_listener::bind " + at.to_string(); },
                    [&](std::error_code& ec) { return bind(at, backlog, opts, ec); });
}

tcp_stream tcp_listener::accept(std::chrono::nanoseconds timeout, std::error_code& ec) {
    ec.clear();
    if (!s_) {
        if (detail::fiber_reactor(ec)) ec = std::make_error_code(std::errc::bad_file_descriptor);
        return {};
    }
    return s_->accept(deadline_after(timeout), ec);
}

tcp_stream tcp_listener::accept(std::error_code& ec) { return accept(no_timeout, ec); }

tcp_stream tcp_listener::accept(std::chrono::nanoseconds timeout) {
    return or_throw("weft::net::tcp_listener::accept", timeout,
                    [&](std::error_code& ec) { return accept(timeout, ec); });
}

tcp_stream tcp_listener::accept() {
    return or_throw("weft::net::tcp_listener::accept", [&](std::error_code& ec) { return accept(ec); });
}

address tcp_listener::local_address(std::error_code& ec) const {
    return detail::socket_name(native_handle(), false, ec);
}

address tcp_listener::local_address() const {
    return or_throw("weft::net::tcp_listener::local_address", [&](std::error_code& ec) { return local_address(ec); });
}

void tcp_listener::close() noexcept {
    if (s_) s_->fd.close();
}
bool tcp_listener::is_open() const noexcept { return s_ && s_->fd; }
int tcp_listener::native_handle() const noexcept { return s_ ? s_->fd.get() : -1; }

}  // namespace weft::net
