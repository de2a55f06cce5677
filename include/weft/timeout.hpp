// SPDX-License-Identifier: MIT
// Time in weft's API, one rule everywhere (README, "What you can rely on"):
//  - a timeout is a std::chrono duration of any unit (5s, 250ms, 100us); a
//    call or an option takes it as std::chrono::nanoseconds (the std-shaped
//    *_for templates take any duration);
//  - zero or less means "now": the call does what it can without waiting and
//    times out otherwise; no_timeout means no limit;
//  - a duration becomes an absolute `deadline` once, at the call's edge.
#pragma once

#include <chrono>
#include <functional>
#include <utility>

namespace weft {

using clock = std::chrono::steady_clock;

// deadline is an absolute point on the steady clock; `never` means no deadline.
using deadline = clock::time_point;
inline constexpr deadline never = deadline::max();

// no_timeout is the timeout that never passes (the default of the options
// that have no limit unless asked); any duration as large means the same.
inline constexpr std::chrono::nanoseconds no_timeout = std::chrono::nanoseconds::max();

// deadline_after(d) is now + d, saturating at `never` instead of overflowing;
// zero or less is now (already passed).
template <class Rep, class Period>
deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
    auto now = clock::now();
    if (d <= d.zero()) return now;
    if (d >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(never - now)) return never;
    return now + std::chrono::duration_cast<clock::duration>(d);
}

namespace detail {
// scope_deadline() is the innermost with_timeout() deadline of the running
// fiber, or `never`. set_scope_deadline() replaces it and returns the old one.
deadline scope_deadline() noexcept;
deadline set_scope_deadline(deadline d) noexcept;
// enter_scope(d, what) narrows the running fiber's scope deadline to d and
// returns the old one. Throws std::system_error(errc::no_scheduler) naming
// `what` outside a fiber.
deadline enter_scope(deadline d, const char* what);

class deadline_scope {
public:
    deadline_scope(deadline d, const char* what) : saved_(enter_scope(d, what)) {}
    ~deadline_scope() { set_scope_deadline(saved_); }
    deadline_scope(const deadline_scope&) = delete;
    deadline_scope& operator=(const deadline_scope&) = delete;

private:
    deadline saved_;
};

template <class Fn>
decltype(auto) with_scope(deadline at, const char* what, Fn&& fn) {
    deadline_scope scope(at, what);
    return std::invoke(std::forward<Fn>(fn));
}
}  // namespace detail

// with_deadline(at, fn) runs fn() in the calling fiber; every blocking call
// inside it throws weft::timeout_error once `at` passes. Nested scopes keep the
// earlier deadline. Returns fn()'s result. It bounds the calls of this fiber
// only, not those of fibers fn spawns (a task_group inside it does: its wait()
// cancels the children when the deadline passes). Throws
// std::system_error(errc::no_scheduler) outside a fiber.
template <class Fn>
decltype(auto) with_deadline(deadline at, Fn&& fn) {
    return detail::with_scope(at, "weft::with_deadline", std::forward<Fn>(fn));
}

// with_timeout(d, fn) is with_deadline(now + d, fn); d follows the one rule
// (zero: already passed, no_timeout: no limit).
template <class Rep, class Period, class Fn>
decltype(auto) with_timeout(std::chrono::duration<Rep, Period> d, Fn&& fn) {
    return detail::with_scope(deadline_after(d), "weft::with_timeout", std::forward<Fn>(fn));
}

}  // namespace weft
