// SPDX-License-Identifier: MIT
// The one "try the syscall, park on EAGAIN, retry" loop of weft (libdill's
// fd.c, mio's do_io). Sockets, c-ares and any integrated fd go through it.
#pragma once

#include <cerrno>
#include <system_error>

#include "detail/reactor.hpp"
#include "detail/scheduler.hpp"
#include "detail/sys_error.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

// wake_error() is the error_code for a wait that did not end in readiness.
inline std::error_code wake_error(wake_reason why) noexcept {
    switch (why) {
        case wake_reason::ready: return {};
        case wake_reason::timed_out:
        case wake_reason::scope_expired: return make_error_code(errc::timed_out);
        case wake_reason::cancelled: return make_error_code(errc::cancelled);
    }
    return {};
}

// io_wait() calls op() — a non-blocking syscall returning -1 with errno on
// failure — until it succeeds or fails with something other than EAGAIN or
// EINTR. Whenever the reactor knows `fd` is not ready in `dir`, it parks first
// instead of making a syscall that would only say EAGAIN. Returns op()'s result,
// or -1 with `ec` set: errno's code, weft::errc::timed_out (the call's own
// deadline or an enclosing with_timeout), weft::errc::cancelled, or EBUSY when
// another fiber already waits on fd in that direction.
//
// Every call first takes its turn (scheduler::io_turn): a fiber whose calls
// never have to park still lets the others run every io_budget calls.
template <class Op>
auto io_wait(reactor& r, int fd, io_dir dir, deadline until, std::error_code& ec, Op&& op) -> decltype(op()) {
    ec.clear();
    tls_scheduler->io_turn();
    for (;;) {
        if (!r.ready(fd, dir)) {
            bool busy = false;
            wake_reason why = r.wait(fd, dir, until, busy);
            if (busy) {
                ec = std::make_error_code(std::errc::device_or_resource_busy);
                return -1;
            }
            if (why != wake_reason::ready) {
                ec = wake_error(why);
                return -1;
            }
        }
        auto n = op();
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r.clear_ready(fd, dir);
            continue;
        }
        ec.assign(errno, std::generic_category());
        return -1;
    }
}

}  // namespace weft::detail
