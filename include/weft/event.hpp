// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>

#include "weft/detail/wait_list.hpp"
#include "weft/timeout.hpp"

namespace weft {

// event is a flag that is set once and stays set, with any number of fibers
// waiting for it: "the server is ready", "shutdown was asked for". set() wakes
// every waiter; a wait() after set() returns at once.
//
// There is no clear(), as in Trio's Event (asyncio's has one): an event that
// can be unset again loses wake-ups to whoever clears it between a set() and
// a waiter's turn to run. For a new round, make a new event.
//
// Every wait is a cancellation point and honours an enclosing with_timeout().
// It belongs to the fibers of one weft::run(); it is neither copyable nor
// movable, and destroying it while fibers wait on it is a bug.
class event {
public:
    event() noexcept = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    // set() sets the event and wakes every waiting fiber; setting it again
    // does nothing.
    void set() noexcept;

    // is_set() is true once set() was called.
    bool is_set() const noexcept { return set_; }

    // wait() parks the fiber until the event is set; returns at once if it is.
    // Throws weft::cancelled, weft::timeout_error (an enclosing
    // with_timeout()), and std::system_error(errc::no_scheduler) outside a
    // fiber, set or not.
    void wait() { wait_until(never); }

    // wait_until(at) is wait() that gives up at `at`: false then, true once set.
    bool wait_until(deadline at);

    // wait_for(d) is wait_until(now + d).
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) {
        return wait_until(deadline_after(d));
    }

private:
    bool set_ = false;
    detail::wait_list waiters_;  // fibers parked in wait()
};

}  // namespace weft
