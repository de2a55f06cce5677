// SPDX-License-Identifier: MIT
// The one parking primitive every blocking call ends in. Public templates
// (channel, task) need it; users never include this header directly.
#pragma once

#include <cstdint>

#include "weft/timeout.hpp"

namespace weft::detail {

struct fiber;  // the control block; defined in lib/detail/fiber.hpp

// wake_reason says why park() returned.
enum class wake_reason : unsigned char {
    ready,          // unpark() was called
    timed_out,      // the `until` passed to park() was reached
    scope_expired,  // the enclosing with_timeout() deadline was reached first
    cancelled,      // the fiber was cancelled
};

// wait_desc says what a parked fiber waits on, for the deadlock report:
// "<what>", then the object's address or the file descriptor when there is one.
struct wait_desc {
    const char* what;
    const void* object = nullptr;
    int fd = -1;
};

// current_fiber() is the running fiber, or nullptr outside a fiber.
fiber* current_fiber() noexcept;

// park() suspends the running fiber until unpark(), `until`, the fiber's scope
// deadline, or cancellation, whichever is first. It returns at once, without
// switching, when the fiber is already cancelled or a deadline already passed.
// Throws std::system_error(errc::no_scheduler) outside a fiber.
wake_reason park(wait_desc what, deadline until = never);

// park_or_throw() is park() that throws weft::cancelled or weft::timeout_error
// for the two interruptions, so callers only see ready or timed_out. `op` is
// the public call the user made ("weft::channel::recv"); the exception's
// what() names it.
wake_reason park_or_throw(wait_desc what, deadline until = never, const char* op = nullptr);

// throw_if_interrupted() throws weft::cancelled / weft::timeout_error (naming
// `op` when given) for those two reasons and returns the reason otherwise.
wake_reason throw_if_interrupted(wake_reason r, const char* op = nullptr);

// require_fiber(what) throws std::system_error(errc::no_scheduler), "<what>
// must be called inside a fiber", unless a fiber is running. Every call that
// may park checks it first, so it fails outside run() every time, not only
// when it would have had to wait.
void require_fiber(const char* what);

// unpark() makes a parked fiber ready (park() returns `ready`) and appends it
// to the run queue. Returns false, doing nothing, when f is not parked: it was
// already woken by a timer, a cancel or another unpark.
bool unpark(fiber* f) noexcept;

}  // namespace weft::detail
