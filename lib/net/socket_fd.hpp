// SPDX-License-Identifier: MIT
// socket_fd: the one owner of a socket's file descriptor inside weft's net
// layer. It opens sockets non-blocking and close-on-exec, registers them with
// this thread's reactor once (edge-triggered, for their whole life), and
// has the reactor forget it as it closes it (the close takes it out of the
// epoll set), so a fd number reused later starts clean.
#pragma once

#include <system_error>
#include <utility>

#include "detail/reactor.hpp"

namespace weft::net::detail {

class socket_fd {
public:
    socket_fd() noexcept = default;
    ~socket_fd() { close(); }
    socket_fd(socket_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    socket_fd& operator=(socket_fd&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }

    // open() makes a socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC) and
    // registers it; on failure returns an empty socket_fd and sets ec.
    static socket_fd open(int domain, int type, std::error_code& ec) noexcept;
    // open_unwatched() is open() without the registration, which watch()
    // makes later: a connect's handshake then wakes no epoll set. (Until it
    // is watched the socket must not be waited on.)
    static socket_fd open_unwatched(int domain, int type, std::error_code& ec) noexcept;
    // watch() registers an open_unwatched() socket, as ready for reads
    // and for writes or not (epoll reports what it already is at once).
    // Returns an errno value.
    int watch(bool readable, bool writable) noexcept;
    // adopt() takes ownership of an already non-blocking fd (accept4's) and
    // registers it; on failure closes fd and sets ec.
    static socket_fd adopt(int fd, std::error_code& ec) noexcept;

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // reactor() is the reactor this socket is registered with (the running one).
    weft::detail::reactor& reactor() const;

    // close() has the reactor forget it (waking a fiber still parked on it) and closes it.
    void close() noexcept;

private:
    explicit socket_fd(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace weft::net::detail
