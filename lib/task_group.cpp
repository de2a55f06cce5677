// SPDX-License-Identifier: MIT
// task_group's out-of-line half.
//
// Invariants:
//  - children_ holds one entry per child whose token has not been destroyed;
//    an entry's task is valid while it is there (the token lives inside the
//    task's callable, so it dies, and unlinks the entry, no later than the
//    task's block);
//  - with a limit, slots_ counts the slots held by tokens; a slot is handed
//    straight to the first parked spawner (granted), never raced for, as
//    semaphore does;
//  - joiners_ is woken when children_ becomes empty; a woken joiner looks
//    again, since a child may have spawned another before it ran.
#include "weft/task_group.hpp"

#include <cstdio>
#include <string>
#include <system_error>

#include "detail/scheduler.hpp"
#include "detail/sys_error.hpp"

namespace weft {

namespace {

std::string summary(const std::vector<std::exception_ptr>& errors) {
    std::string s = "weft::task_group: " + std::to_string(errors.size()) +
                    (errors.size() == 1 ? " child failed: " : " children failed: ");
    constexpr std::size_t shown = 3;
    for (std::size_t i = 0; i < errors.size() && i < shown; ++i) {
        if (i > 0) s += "; ";
        s += detail::exception_text(errors[i]);
    }
    if (errors.size() > shown) s += "; and " + std::to_string(errors.size() - shown) + " more";
    return s;
}

// throw_group_error() throws task_group_error from inside a handler of the
// first failure, so that it is the nested exception.
[[noreturn]] void throw_group_error(std::vector<std::exception_ptr> errors) {
    try {
        std::rethrow_exception(errors.front());
    } catch (...) {
        throw task_group_error(std::move(errors));
    }
}

}  // namespace

task_group_error::task_group_error(std::vector<std::exception_ptr> errors)
    : std::runtime_error(summary(errors)), errors_(std::move(errors)) {}

task_group::~task_group() {
    if (!children_.empty()) {
        // An exception leaving the group's scope: its children are not wanted.
        bool unwinding = std::uncaught_exceptions() > uncaught_;
        if (unwinding) cancel();
        if (join(!unwinding) != detail::wake_reason::ready) {
            // Cancelled, or the with_timeout() passed: that stays requested
            // (or passed) for the fiber's next blocking call to throw.
            cancel();
            join(false);
        }
    }
    report_lost("the task_group was destroyed before wait() collected it");
}

void task_group::wait() {
    detail::fiber* self = detail::current_fiber();
    if (!self) detail::throw_outside_fiber("weft::task_group::wait");
    for (const child& c : children_)
        if (c.task && c.task->fib == self)
            throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                    "weft::task_group::wait: a child cannot wait for its own group");
    detail::wake_reason why = join(true);
    if (why != detail::wake_reason::ready) {
        cancel();
        join(false);
        cancelling_ = false;
        report_lost(why == detail::wake_reason::cancelled ? "wait() was cancelled, so it cannot rethrow it"
                                                          : "wait() timed out, so it cannot rethrow it");
        detail::throw_if_interrupted(why, "weft::task_group::wait");
    }
    cancelling_ = false;
    if (!errors_.empty()) throw_group_error(std::exchange(errors_, {}));
}

void task_group::cancel() noexcept {
    cancelling_ = true;
    detail::fiber* self = detail::current_fiber();
    for (const child& c : children_)
        // Not the running fiber: a child failing cancels its siblings, and
        // its own remaining clean-up (freeing its captures) must not throw.
        if (c.task && !c.task->done && c.task->fib != self) detail::cancel_task(c.task);
}

// join() parks until no child is left; returns `ready` then, or the
// interruption (cancelled, scope_expired) that ended an interruptible wait.
detail::wake_reason task_group::join(bool interruptible) {
    if (children_.empty()) return detail::wake_reason::ready;
    detail::scheduler& s = *detail::scheduler::current();
    while (!children_.empty()) {
        detail::waiter w;
        joiners_.push_back(w);
        detail::wake_reason why = s.park({"task_group wait", this}, never, interruptible);
        if (why == detail::wake_reason::cancelled || why == detail::wake_reason::scope_expired) return why;
    }
    return detail::wake_reason::ready;
}

void task_group::acquire_slot() {
    if (limit_ == 0) return;
    if (slots_ < limit_) {  // free slots mean nobody is parked: ended() hands a slot to a parked spawner first
        ++slots_;
        return;
    }
    if (!detail::current_fiber()) detail::throw_outside_fiber("weft::task_group::spawn");
    for (;;) {
        bool granted = false;
        detail::waiter w(&granted);
        slot_waiters_.push_back(w);
        detail::park_or_throw({"task_group spawn at its limit", this}, never, "weft::task_group::spawn");
        if (granted) return;
    }
}

bool task_group::try_acquire_slot() noexcept {
    if (limit_ == 0) return true;
    if (slots_ == limit_) return false;
    ++slots_;
    return true;
}

void task_group::release_slot() noexcept {
    if (limit_ == 0) return;
    if (detail::waiter* w = slot_waiters_.wake_one())
        *static_cast<bool*>(w->slot) = true;  // the slot goes straight to it
    else
        --slots_;
}

void task_group::ended(child_iter it) noexcept {
    children_.erase(it);
    release_slot();
    if (children_.empty()) joiners_.wake_all();
}

void task_group::failed(std::exception_ptr e) {
    errors_.push_back(std::move(e));
    if (!supervise_) cancel();
}

void task_group::report_lost(const char* why) noexcept {
    for (const std::exception_ptr& e : errors_)
        std::fprintf(stderr, "weft: a task_group child failed (%s): %s\n", why, detail::exception_text(e).c_str());
    errors_.clear();
}

}  // namespace weft
