// SPDX-License-Identifier: MIT
#include "weft/net/wait.hpp"

#include "detail/io_wait.hpp"
#include "detail/runtime.hpp"
#include "weft/errors.hpp"

namespace weft::net {

namespace {

using detail::io_dir;

// wait_for() parks until fd is ready in dir; a fd nobody watches is
// registered for the length of the wait only. `own_timeout` tells whether
// `until` (not an enclosing with_timeout) ended the wait.
std::error_code wait_for(int fd, io_dir dir, deadline until, bool& own_timeout) {
    detail::reactor& r = detail::current_reactor(dir == io_dir::read ? "weft::net::wait_readable" : "weft::net::wait_writable");
    bool temporary = !r.watched(fd);
    if (temporary) {
        if (int err = r.add(fd, false)) return {err, std::generic_category()};
    }
    bool busy = false;
    detail::wake_reason why = r.wait(fd, dir, until, busy);
    if (temporary) r.remove(fd);
    if (busy) return std::make_error_code(std::errc::device_or_resource_busy);
    own_timeout = why == detail::wake_reason::timed_out;
    return detail::wake_error(why);
}

bool wait_or_throw(int fd, io_dir dir, deadline until, const char* what) {
    bool own_timeout = false;
    std::error_code ec = wait_for(fd, dir, until, own_timeout);
    if (!ec) return true;
    if (own_timeout) return false;
    detail::throw_error(ec, what);
}

}  // namespace

void wait_readable(int fd) { wait_or_throw(fd, io_dir::read, never, "weft::net::wait_readable"); }
void wait_writable(int fd) { wait_or_throw(fd, io_dir::write, never, "weft::net::wait_writable"); }

bool wait_readable(int fd, std::chrono::nanoseconds timeout) {
    return wait_or_throw(fd, io_dir::read, deadline_after(timeout), "weft::net::wait_readable");
}
bool wait_writable(int fd, std::chrono::nanoseconds timeout) {
    return wait_or_throw(fd, io_dir::write, deadline_after(timeout), "weft::net::wait_writable");
}

bool wait_readable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    try {
        bool own_timeout = false;
        ec = wait_for(fd, io_dir::read, deadline_after(timeout), own_timeout);
    } catch (const std::system_error& e) {
        ec = e.code();
    }
    return !ec;
}
bool wait_writable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    try {
        bool own_timeout = false;
        ec = wait_for(fd, io_dir::write, deadline_after(timeout), own_timeout);
    } catch (const std::system_error& e) {
        ec = e.code();
    }
    return !ec;
}

}  // namespace weft::net
