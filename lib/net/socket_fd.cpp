// SPDX-License-Identifier: MIT
#include "net/socket_fd.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "detail/runtime.hpp"

namespace weft::net::detail {

socket_fd socket_fd::open(int domain, int type, std::error_code& ec) noexcept {
    socket_fd s = open_unwatched(domain, type, ec);
    return s ? adopt(std::exchange(s.fd_, -1), ec) : socket_fd();
}

socket_fd socket_fd::open_unwatched(int domain, int type, std::error_code& ec) noexcept {
    ec.clear();
    int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ec.assign(errno, std::generic_category());
        return {};
    }
    return socket_fd(fd);
}

int socket_fd::watch(bool readable, bool writable) noexcept {
    weft::detail::reactor* r = weft::detail::running_reactor();
    return r ? r->add(fd_, readable, writable) : static_cast<int>(std::errc::operation_not_permitted);
}

socket_fd socket_fd::adopt(int fd, std::error_code& ec) noexcept {
    ec.clear();
    socket_fd s(fd);
    if (int err = s.watch(true, true)) {
        ec.assign(err, std::generic_category());
        return {};  // s closes it
    }
    return s;
}

weft::detail::reactor& socket_fd::reactor() const { return weft::detail::current_reactor("weft::net"); }

void socket_fd::close() noexcept {
    if (fd_ < 0) return;
    if (weft::detail::reactor* r = weft::detail::running_reactor()) r->forget(fd_);
    ::close(std::exchange(fd_, -1));
}

}  // namespace weft::net::detail
