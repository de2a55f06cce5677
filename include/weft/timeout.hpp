// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <functional>
#include <utility>

namespace weft {

using clock = std::chrono::steady_clock;

// deadline is an absolute point on the steady clock; `never` means no deadline.
using deadline = clock::time_point;
inline constexpr deadline never = deadline::max();

// deadline_after(d) is now + d, saturating at `never` instead of overflowing.
template <class Rep, class Period>
deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
    auto now = clock::now();
    if (d <= d.zero()) return now;
    if (d >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(never - now))
        return never;
    return now + std::chrono::duration_cast<clock::duration>(d);
}

namespace detail {
// scope_deadline() is the innermost with_timeout() deadline of the running
// fiber, or `never`. set_scope_deadline() replaces it and returns the old one.
deadline scope_deadline() noexcept;
deadline set_scope_deadline(deadline d) noexcept;

class deadline_scope {
public:
    explicit deadline_scope(deadline d) noexcept
        : saved_(set_scope_deadline(std::min(d, scope_deadline()))) {}
    ~deadline_scope() { set_scope_deadline(saved_); }
    deadline_scope(const deadline_scope&) = delete;
    deadline_scope& operator=(const deadline_scope&) = delete;

private:
    deadline saved_;
};
}  // namespace detail

// with_deadline(at, fn) runs fn() in the calling fiber; every blocking call
// inside it throws weft::timeout_error once `at` passes. Nested scopes keep the
// earlier deadline. Returns fn()'s result.
template <class Fn>
decltype(auto) with_deadline(deadline at, Fn&& fn) {
    detail::deadline_scope scope(at);
    return std::invoke(std::forward<Fn>(fn));
}

// with_timeout(d, fn) is with_deadline(now + d, fn).
template <class Rep, class Period, class Fn>
decltype(auto) with_timeout(std::chrono::duration<Rep, Period> d, Fn&& fn) {
    return with_deadline(deadline_after(d), std::forward<Fn>(fn));
}

}  // namespace weft
