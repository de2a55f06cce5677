// SPDX-License-Identifier: MIT
// Waiting across threads: what the types that may cross threads
// (shared_channel<T>, shared_task<T>) build on. Users never include this
// header directly.
//
// The protocol. An object shared between threads has a std::mutex and lists
// of cross_waiters. A waiter links itself in under the mutex and calls
// cross_wait(), which unlocks, parks the fiber (or blocks a plain thread),
// and relocks. A waker, under the mutex, unlinks a waiter, hands it what it
// waits for (`slot`, `status`) and marks it `taken`; after unlocking it calls
// cross_wake(), which posts the wake to the waiter's loop (reactor::post: an
// eventfd write only if that loop sleeps) or releases the thread's semaphore.
// A waiter that gives up (timeout, cancel) relocks: if it was not taken it
// unlinks itself and leaves; if it was, the wake is on its way and it waits
// for that (the waiter lives on its stack), then reports success: the waker
// won the race and what it handed over is there.
#pragma once

#include <mutex>
#include <semaphore>

#include "weft/detail/park.hpp"
#include "weft/detail/remote_work.hpp"

namespace weft::detail {

class cross_list;

// cross_waiter is one fiber or thread waiting on a shared object; it lives on
// the waiter's stack for the length of the wait.
struct cross_waiter : remote_work {
    cross_waiter* prev_w = nullptr;  // links in a cross_list, under the object's mutex
    cross_waiter* next_w = nullptr;
    cross_list* list = nullptr;  // non-null while linked
    void* slot = nullptr;        // what the waker hands over (a value, a place to take one from)
    int status = 0;              // the waker's word on the outcome (e.g. closed), 0 by default
    bool taken = false;          // a waker unlinked it and set slot/status (under the mutex)
    // Set by cross_wait(), for cross_wake():
    bool arrived = false;                  // the wake reached the waiter (its thread only)
    void* loop = nullptr;                  // the waiting fiber's reactor; null for a plain thread
    fiber* fib = nullptr;                  // the waiting fiber
    std::binary_semaphore* sem = nullptr;  // a plain thread's
};

// cross_list is an intrusive FIFO of cross_waiters; the owner's mutex guards it.
class cross_list {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    cross_waiter* front() const noexcept { return head_; }

    void push_back(cross_waiter& w) noexcept {
        w.list = this;
        w.prev_w = tail_;
        w.next_w = nullptr;
        (tail_ ? tail_->next_w : head_) = &w;
        tail_ = &w;
    }

    void remove(cross_waiter& w) noexcept {
        (w.prev_w ? w.prev_w->next_w : head_) = w.next_w;
        (w.next_w ? w.next_w->prev_w : tail_) = w.prev_w;
        w.prev_w = w.next_w = nullptr;
        w.list = nullptr;
    }

    // take_front() unlinks the first waiter and marks it taken; nullptr if none.
    cross_waiter* take_front() noexcept {
        cross_waiter* w = head_;
        if (w) {
            remove(*w);
            w->taken = true;
        }
        return w;
    }

private:
    cross_waiter* head_ = nullptr;
    cross_waiter* tail_ = nullptr;
};

// cross_wait() waits on w, which the caller linked into a list under `lock`
// (held on entry and on return). It returns `ready` once a waker took w (its
// slot and status are set then), or timed_out / scope_expired / cancelled
// when it gave up first: w is unlinked then. In a fiber it parks only the
// fiber; outside one it blocks the thread (cancellation and with_timeout do
// not apply there). `what` names the wait in a deadlock report. An
// uninterruptible wait ignores cancellation and with_timeout.
wake_reason cross_wait(cross_waiter& w, std::unique_lock<std::mutex>& lock, deadline until, const char* what,
                       bool interruptible = true);

// cross_wake() delivers the wake of a waiter that a waker took (under the
// mutex); call it after unlocking. Never throws.
void cross_wake(cross_waiter* w) noexcept;

}  // namespace weft::detail
