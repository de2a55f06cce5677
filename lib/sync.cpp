// SPDX-License-Identifier: MIT
// The out-of-line parts of mutex, condition_variable, wait_group and semaphore.
//
// Invariants shared by all four (single-threaded: no fiber runs between two
// statements of one of these functions unless it parks):
//  - ownership and units are handed over, never raced for: the waker picks
//    the first waiter that wait_list::wake_one() could still unpark and gives
//    it the mutex / the unit before it runs, so a waiter that wakes `ready`
//    owns what it waited for and a timed-out or cancelled one owns nothing;
//  - a waiter leaves its wait_list (its destructor) before the fiber parks on
//    anything else, so a wake meant for one wait never lands in another.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "detail/fiber.hpp"
#include "detail/scheduler.hpp"
#include "weft/condition_variable.hpp"
#include "weft/errors.hpp"
#include "weft/mutex.hpp"
#include "weft/semaphore.hpp"
#include "weft/wait_group.hpp"

namespace weft {

namespace {

using detail::wake_reason;

[[noreturn]] void throw_errc(std::errc e, const char* what) { throw std::system_error(std::make_error_code(e), what); }

// running_fiber() is the running fiber; throws errc::no_scheduler outside one.
detail::fiber* running_fiber(const char* what) {
    detail::require_fiber(what);
    return detail::current_fiber();
}

}  // namespace

// --- mutex ---

bool mutex::try_lock() {
    detail::fiber* self = running_fiber("weft::mutex::try_lock");
    if (owner_ == self) throw_errc(std::errc::resource_deadlock_would_occur, "weft::mutex: already held by this fiber");
    if (owner_) return false;
    owner_ = self;  // free means nobody is parked: unlock() hands it to a parked waiter first
    return true;
}

void mutex::lock() { lock_until(never, "weft::mutex::lock"); }

bool mutex::try_lock_until(deadline at) { return lock_until(at, "weft::mutex::try_lock_until"); }

bool mutex::lock_until(deadline at, const char* op) {
    detail::fiber* self = running_fiber(op);
    if (try_lock()) return true;
    for (;;) {
        wake_reason why;
        {
            detail::waiter w;
            waiters_.push_back(w);
            why = detail::park_or_throw({"mutex lock", this}, at, op);
        }
        if (owner_ == self) return true;  // unlock() handed it over
        if (why == wake_reason::timed_out) return false;
        if (!owner_) {  // a wake that handed nothing over: take it if it is free
            owner_ = self;
            return true;
        }
    }
}

void mutex::unlock() {
    if (!owner_ || owner_ != detail::current_fiber())
        throw_errc(std::errc::operation_not_permitted, "weft::mutex::unlock: the mutex is not held by this fiber");
    detail::waiter* next = waiters_.wake_one();
    owner_ = next ? next->fib : nullptr;
}

bool mutex::held_by_me() const noexcept { return owner_ && owner_ == detail::current_fiber(); }

void mutex::lock_uninterruptibly() noexcept {
    detail::fiber* self = detail::current_fiber();
    if (!owner_) {
        owner_ = self;
        return;
    }
    // Neither a cancel nor an expired with_timeout may stop us here: an
    // uninterruptible park ignores both.
    detail::scheduler& sched = *detail::scheduler::current();
    while (owner_ != self) {
        detail::waiter w;
        waiters_.push_back(w);
        sched.park({"mutex re-lock after a condition_variable wait", this}, never, false);
        if (!owner_) owner_ = self;
    }
}

// --- condition_variable ---

std::cv_status condition_variable::wait_until(std::unique_lock<mutex>& lock, deadline at) {
    mutex* m = lock.mutex();
    if (!lock.owns_lock() || !m->held_by_me())
        throw_errc(std::errc::operation_not_permitted,
                   "weft::condition_variable::wait: the lock does not hold its mutex");
    wake_reason why;
    {
        detail::waiter w;
        waiters_.push_back(w);
        m->unlock();
        why = detail::park({"condition_variable wait", this}, at);
    }  // off the list before re-locking parks us again: a notify must not land there
    m->lock_uninterruptibly();
    detail::throw_if_interrupted(why, "weft::condition_variable::wait");
    return why == wake_reason::timed_out ? std::cv_status::timeout : std::cv_status::no_timeout;
}

// --- wait_group ---

void wait_group::add(std::ptrdiff_t n) {
    if (n < 0 && count_ + n < 0) throw_errc(std::errc::invalid_argument, "weft::wait_group: negative counter");
    count_ += n;
    if (count_ == 0) {
        while (detail::waiter* w = waiters_.wake_one()) *static_cast<bool*>(w->slot) = true;
    }
}

bool wait_group::wait_until(deadline at) { return wait_impl(at, "weft::wait_group::wait_until"); }

bool wait_group::wait_impl(deadline at, const char* op) {
    detail::require_fiber(op);  // at zero too: a wait belongs in a fiber
    while (count_ > 0) {
        bool reached_zero = false;
        detail::waiter w(&reached_zero);
        waiters_.push_back(w);
        wake_reason why = detail::park_or_throw({"wait_group wait", this}, at, op);
        if (reached_zero) return true;
        if (why == wake_reason::timed_out) return false;
    }
    return true;
}

// --- semaphore ---

semaphore::semaphore(std::ptrdiff_t initial) : count_(initial) {
    if (initial < 0) throw_errc(std::errc::invalid_argument, "weft::semaphore: negative initial count");
}

bool semaphore::try_acquire() noexcept {
    if (count_ == 0) return false;  // units left over only when nobody is parked: no barging
    --count_;
    return true;
}

bool semaphore::try_acquire_until(deadline at) { return acquire_until(at, "weft::semaphore::try_acquire_until"); }

bool semaphore::acquire_until(deadline at, const char* op) {
    detail::require_fiber(op);  // with units left too: an acquire belongs in a fiber
    while (!try_acquire()) {
        bool granted = false;
        detail::waiter w(&granted);
        waiters_.push_back(w);
        wake_reason why = detail::park_or_throw({"semaphore acquire", this}, at, op);
        if (granted) return true;
        if (why == wake_reason::timed_out) return false;
    }
    return true;
}

void semaphore::release(std::ptrdiff_t n) {
    if (n < 0) throw_errc(std::errc::invalid_argument, "weft::semaphore::release: negative count");
    for (; n > 0; --n) {
        detail::waiter* w = waiters_.wake_one();
        if (!w) break;
        *static_cast<bool*>(w->slot) = true;
    }
    count_ += n;
}

namespace detail {

void used_from_two_threads(const waiter& w) noexcept {
    const fiber* f = w.fib;
    std::fprintf(stderr,
                 "weft: fiber #%llu%s%s%s waits on a channel, mutex, condition_variable, semaphore, wait_group, "
                 "event, latch or task_group that fibers of another thread's run() use. These types are for one "
                 "thread: between threads use weft::shared_channel, spawn_on() and shared_task, or to_thread(). "
                 "Aborting\n",
                 static_cast<unsigned long long>(f && f->task ? f->task->id : 0),
                 f && f->task && !f->task->name.empty() ? " '" : "", f && f->task ? f->task->name.c_str() : "",
                 f && f->task && !f->task->name.empty() ? "'" : "");
    std::abort();
}

}  // namespace detail

}  // namespace weft
