// SPDX-License-Identifier: MIT
// The public door for any other non-blocking file descriptor (a pipe, an
// eventfd, a library's socket): park the fiber until it is ready.
#pragma once

#include <chrono>
#include <system_error>

namespace weft::net {

// wait_readable(fd) parks the running fiber until fd is readable (or at EOF or
// in error). fd must be non-blocking and stay open while it waits. A fiber
// waits on a fd that weft does not own through a registration made for the
// wait; on a weft socket's fd it may return early: retry your call, and wait
// again on EAGAIN. Throws weft::cancelled, weft::timeout_error (an enclosing
// with_timeout) and std::system_error (EBUSY: another fiber already waits to
// read fd; EBADF, EPERM: fd cannot be watched).
void wait_readable(int fd);
// wait_writable(fd) is wait_readable() for writing.
void wait_writable(int fd);

// The timed forms return false when `timeout` passes first.
bool wait_readable(int fd, std::chrono::nanoseconds timeout);
bool wait_writable(int fd, std::chrono::nanoseconds timeout);

// The error_code forms throw nothing: ec is set instead (weft::errc::timed_out
// for the timeout, weft::errc::cancelled, or errno's code); they return !ec.
bool wait_readable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
bool wait_writable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;

}  // namespace weft::net
