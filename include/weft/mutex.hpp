// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>

#include "weft/detail/wait_list.hpp"
#include "weft/timeout.hpp"

namespace weft {

class condition_variable;

// mutex is a fiber-aware mutual-exclusion lock: a fiber that finds it held
// parks instead of blocking the thread. It meets the standard's Lockable and
// TimedLockable requirements, so std::lock_guard, std::unique_lock and
// std::scoped_lock work with it.
//
// Fairness: waiters queue in FIFO order and unlock() hands ownership straight
// to the first one still parked, so a fiber that arrives later never barges
// ahead of a parked one. Every wait is a cancellation point and honours an
// enclosing with_timeout().
//
// Ownership is tracked per fiber. A mutex belongs to the fibers of one
// weft::run() and must not be shared across threads; it is neither copyable
// nor movable, and destroying it while it is held or waited on is a bug.
class mutex {
public:
    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    // lock() takes the mutex, parking the fiber while another fiber holds it.
    // Throws weft::cancelled, weft::timeout_error (an enclosing with_timeout()),
    // std::system_error(resource_deadlock_would_occur) when this fiber already
    // holds it, and std::system_error(errc::no_scheduler) outside a fiber.
    void lock();

    // try_lock() takes the mutex if it is free and returns whether it did; it
    // never parks. Throws as lock() does outside a fiber or when already held.
    bool try_lock();

    // try_lock_until(at) is lock() that gives up at `at` and returns false
    // then; true once the mutex is held. Throws as lock() does.
    bool try_lock_until(deadline at);

    // try_lock_for(d) is try_lock_until(now + d).
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> d) {
        return lock_until(deadline_after(d), "weft::mutex::try_lock_for");
    }

    // unlock() releases the mutex, handing it to the first parked waiter if
    // there is one. Unlocking a mutex this fiber does not hold (undefined in
    // std) throws std::system_error(operation_not_permitted) instead.
    void unlock();

    // held_by_me() is true when the running fiber holds the mutex.
    bool held_by_me() const noexcept;

private:
    friend class condition_variable;

    bool lock_until(deadline at, const char* op);  // `op` is the call the user made, for errors

    // lock_uninterruptibly() is lock() that neither cancellation nor a scope
    // deadline can interrupt: condition_variable re-locks with it on every way
    // out of a wait, including while weft::cancelled is on its way out.
    void lock_uninterruptibly() noexcept;

    detail::fiber* owner_ = nullptr;  // the holding fiber, nullptr when free
    detail::wait_list waiters_;       // fibers parked in lock(), FIFO
};

}  // namespace weft
