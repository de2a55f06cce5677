// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>

#include "weft/detail/wait_list.hpp"
#include "weft/timeout.hpp"

namespace weft {

// semaphore is a counting semaphore for fibers (std::counting_semaphore's
// interface, without the compile-time maximum).
//
// Fairness: waiters queue in FIFO order and release() hands each unit
// straight to the first fiber still parked, so a fiber that arrives later
// never takes a unit ahead of a parked one. Every wait is a cancellation
// point and honours an enclosing with_timeout().
//
// It belongs to the fibers of one weft::run(); it is neither copyable nor
// movable, and destroying it while fibers wait on it is a bug.
class semaphore {
public:
    // semaphore(initial) starts with `initial` units. Throws
    // std::system_error(invalid_argument) when initial is negative.
    explicit semaphore(std::ptrdiff_t initial = 0);
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    // acquire() takes one unit, parking the fiber while there is none.
    // Throws weft::cancelled, weft::timeout_error (an enclosing
    // with_timeout()), and std::system_error(errc::no_scheduler) outside a
    // fiber — every time, even when a unit is there.
    void acquire() { acquire_until(never, "weft::semaphore::acquire"); }

    // try_acquire() takes one unit if there is one and returns whether it did;
    // it never parks, so it works outside a fiber too.
    bool try_acquire() noexcept;

    // try_acquire_until(at) is acquire() that gives up at `at` and returns
    // false then; true once a unit is taken.
    bool try_acquire_until(deadline at);

    // try_acquire_for(d) is try_acquire_until(now + d).
    template <class Rep, class Period>
    bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
        return acquire_until(deadline_after(d), "weft::semaphore::try_acquire_for");
    }

    // release(n) returns n units, waking up to n parked fibers (first come,
    // first served); it never parks, so it works outside a fiber too. Throws
    // std::system_error(invalid_argument) when n < 0.
    void release(std::ptrdiff_t n = 1);

    // value() is the number of units available now.
    std::ptrdiff_t value() const noexcept { return count_; }

private:
    bool acquire_until(deadline at, const char* op);  // `op` is the call the user made, for errors

    std::ptrdiff_t count_;       // units not handed to anyone; > 0 only when nobody is parked
    detail::wait_list waiters_;  // fibers parked in acquire(), FIFO; slot -> their `granted` flag
};

}  // namespace weft
