// SPDX-License-Identifier: MIT
#include "weft/net/wait.hpp"

#include "detail/io_wait.hpp"
#include "net/sys.hpp"
#include "weft/errors.hpp"

namespace weft::net {

namespace {

using weft::detail::io_dir;

const char* name_of(io_dir dir) noexcept {
    return dir == io_dir::read ? "weft::net::wait_readable" : "weft::net::wait_writable";
}

// wait_for() parks until fd is ready in dir; a fd nobody watches is
// registered for the length of the wait only. `own_timeout` tells whether
// `until` (not an enclosing with_timeout) ended the wait. Never throws:
// outside a fiber it is weft::errc::no_scheduler.
std::error_code wait_for(int fd, io_dir dir, deadline until, bool& own_timeout) noexcept {
    std::error_code ec;
    weft::detail::reactor* r = net::detail::fiber_reactor(ec);
    if (!r) return ec;
    bool temporary = !r->watched(fd);
    if (temporary) {
        if (int err = r->add(fd, false, false)) return {err, std::generic_category()};
    }
    bool busy = false;
    weft::detail::wake_reason why = r->wait(fd, dir, until, busy);
    if (temporary) r->remove(fd);
    if (busy) return std::make_error_code(std::errc::device_or_resource_busy);
    own_timeout = why == weft::detail::wake_reason::timed_out;
    return weft::detail::wake_error(why);
}

bool wait_or_throw(int fd, io_dir dir, deadline until) {
    bool own_timeout = false;
    std::error_code ec = wait_for(fd, dir, until, own_timeout);
    if (!ec) return true;
    if (own_timeout) return false;  // a timed wait's answer, not an error
    weft::detail::throw_error(ec, std::string(name_of(dir)) + " fd " + std::to_string(fd));
}

bool wait_or_set(int fd, io_dir dir, deadline until, std::error_code& ec) noexcept {
    bool own_timeout = false;
    ec = wait_for(fd, dir, until, own_timeout);
    return !ec;
}

}  // namespace

void wait_readable(int fd) { wait_or_throw(fd, io_dir::read, never); }
void wait_writable(int fd) { wait_or_throw(fd, io_dir::write, never); }

bool wait_readable(int fd, std::chrono::nanoseconds timeout) {
    return wait_or_throw(fd, io_dir::read, deadline_after(timeout));
}
bool wait_writable(int fd, std::chrono::nanoseconds timeout) {
    return wait_or_throw(fd, io_dir::write, deadline_after(timeout));
}

bool wait_readable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return wait_or_set(fd, io_dir::read, deadline_after(timeout), ec);
}
bool wait_writable(int fd, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return wait_or_set(fd, io_dir::write, deadline_after(timeout), ec);
}

}  // namespace weft::net
