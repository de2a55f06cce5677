// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>

#include "weft/detail/wait_list.hpp"
#include "weft/timeout.hpp"

namespace weft {

// latch is std::latch for fibers: a counter set once, counted down by
// count_down(), and waited on until it reaches zero, after which it stays
// there. Unlike wait_group it cannot be raised again, so "every worker has
// checked in" cannot come undone.
//
// Every wait is a cancellation point and honours an enclosing with_timeout().
// It belongs to the fibers of one weft::run(); it is neither copyable nor
// movable, and destroying it while fibers wait on it is a bug.
class latch {
public:
    // latch(expected) starts the counter at `expected`. Throws
    // std::system_error(invalid_argument) when it is negative.
    explicit latch(std::ptrdiff_t expected);
    latch(const latch&) = delete;
    latch& operator=(const latch&) = delete;

    // count_down(n) lowers the counter by n; at zero every waiter is woken.
    // Throws std::system_error(invalid_argument), changing nothing, when n is
    // negative or larger than the counter (std::latch leaves that undefined).
    void count_down(std::ptrdiff_t n = 1);

    // count() is the counter's value.
    std::ptrdiff_t count() const noexcept { return count_; }

    // try_wait() is true when the counter is zero; it never parks.
    bool try_wait() const noexcept { return count_ == 0; }

    // wait() parks the fiber until the counter is zero. Throws
    // weft::cancelled, weft::timeout_error (an enclosing with_timeout()), and
    // std::system_error(errc::no_scheduler) outside a fiber, zero or not.
    void wait() { wait_until(never); }

    // wait_until(at) is wait() that gives up at `at`: false then, true at zero.
    bool wait_until(deadline at);

    // wait_for(d) is wait_until(now + d).
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) {
        return wait_until(deadline_after(d));
    }

    // arrive_and_wait(n) is count_down(n) then wait().
    void arrive_and_wait(std::ptrdiff_t n = 1) {
        count_down(n);
        wait();
    }

private:
    std::ptrdiff_t count_;
    detail::wait_list waiters_;  // fibers parked in wait()
};

}  // namespace weft
