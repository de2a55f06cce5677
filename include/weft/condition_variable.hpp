// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "weft/detail/wait_list.hpp"
#include "weft/mutex.hpp"
#include "weft/timeout.hpp"

namespace weft {

// condition_variable lets fibers wait, holding a weft::mutex, until another
// fiber notifies them; the std::condition_variable interface, parking fibers.
//
// Waiters are woken in FIFO order. Every wait is a cancellation point and
// honours an enclosing with_timeout(). However a wait ends (notified, timed
// out, weft::cancelled or weft::timeout_error thrown), the mutex is held again
// before it returns or throws, as the standard requires; re-locking itself
// cannot be interrupted. There are no spurious wake-ups, but a waiter still
// has to re-check its condition: another fiber may run between the notify and
// the waiter's return.
//
// It belongs to the fibers of one weft::run(); it is neither copyable nor
// movable, and destroying it while fibers wait on it is a bug.
class condition_variable {
public:
    condition_variable() noexcept = default;
    condition_variable(const condition_variable&) = delete;
    condition_variable& operator=(const condition_variable&) = delete;

    // notify_one() wakes the longest-waiting fiber, if any.
    void notify_one() noexcept { waiters_.wake_one(); }

    // notify_all() wakes every waiting fiber.
    void notify_all() noexcept { waiters_.wake_all(); }

    // wait(lock) unlocks lock's mutex, parks until notified, and re-locks.
    // Throws weft::cancelled / weft::timeout_error (with the mutex held again),
    // and std::system_error(operation_not_permitted) if lock does not hold a
    // mutex of this fiber.
    void wait(std::unique_lock<mutex>& lock) { wait_until(lock, never); }

    // wait(lock, pred) waits until pred() is true; pred runs with the mutex held.
    template <class Pred>
    void wait(std::unique_lock<mutex>& lock, Pred pred) {
        while (!pred()) wait(lock);
    }

    // wait_until(lock, at) is wait(lock) that gives up at `at`; it returns
    // std::cv_status::timeout then, with the mutex held again.
    std::cv_status wait_until(std::unique_lock<mutex>& lock, deadline at);

    // wait_until(lock, at, pred) waits until pred() or `at`; returns pred()'s
    // last value.
    template <class Pred>
    bool wait_until(std::unique_lock<mutex>& lock, deadline at, Pred pred) {
        while (!pred())
            if (wait_until(lock, at) == std::cv_status::timeout) return pred();
        return true;
    }

    // wait_for(lock, d) is wait_until(lock, now + d).
    template <class Rep, class Period>
    std::cv_status wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d) {
        return wait_until(lock, deadline_after(d));
    }

    // wait_for(lock, d, pred) is wait_until(lock, now + d, pred).
    template <class Rep, class Period, class Pred>
    bool wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d, Pred pred) {
        return wait_until(lock, deadline_after(d), std::move(pred));
    }

private:
    detail::wait_list waiters_;  // fibers parked in a wait, FIFO
};

}  // namespace weft
