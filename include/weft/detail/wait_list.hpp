// SPDX-License-Identifier: MIT
// An intrusive FIFO of parked fibers, used by channel<T> and the sync types.
#pragma once

#include "weft/detail/assert.hpp"
#include "weft/detail/park.hpp"

namespace weft::detail {

class wait_list;
struct waiter;

// destroyed_with_waiters() reports a channel, mutex, condition variable,
// semaphore or wait group destroyed while fibers are parked on it — each
// fiber by id, name and what it waits on — and aborts: those fibers would
// wake into freed memory.
[[noreturn, gnu::cold]] void destroyed_with_waiters(const waiter* first) noexcept;

// used_from_two_threads() reports a single-thread object (a channel, mutex,
// ...) that a fiber of another thread's run() waits on — the fiber by id and
// name — and aborts: its wait lists are not made for two threads at once,
// and what follows is lost values or a false deadlock report.
[[noreturn, gnu::cold]] void used_from_two_threads(const waiter& w) noexcept;

// this_thread_token() tells threads apart: its address is this thread's own.
inline const void* this_thread_token() noexcept {
    static thread_local const char token = 0;
    return &token;
}

// waiter is one parked fiber's entry; it lives on that fiber's stack for the
// length of the wait and unlinks itself when destroyed (timeout, cancel, throw).
struct waiter {
    explicit waiter(void* slot = nullptr) noexcept : slot(slot), fib(current_fiber()) {}
    explicit waiter(fiber* f, void* slot = nullptr) noexcept : slot(slot), fib(f) {}
    ~waiter();
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;

    void* slot;  // what the waker hands over (a channel value), owned by the waiter
    fiber* fib;  // the fiber to unpark
    waiter* prev = nullptr;
    waiter* next = nullptr;
    wait_list* list = nullptr;  // non-null while linked
};

class wait_list {
public:
    wait_list() = default;
    ~wait_list() {
        if (head_) [[unlikely]]
            destroyed_with_waiters(head_);
    }
    wait_list(const wait_list&) = delete;
    wait_list& operator=(const wait_list&) = delete;

    bool empty() const noexcept { return head_ == nullptr; }

    void push_back(waiter& w) noexcept {
        WEFT_ASSERT(w.list == nullptr, "a waiter is linked in one wait_list at a time");
#ifndef NDEBUG
        // Debug builds check that one thread's fibers use it (a shared_channel
        // is the type for two threads): the thread of the first wait owns it.
        if (!thread_)
            thread_ = this_thread_token();
        else if (thread_ != this_thread_token()) [[unlikely]]
            used_from_two_threads(w);
#endif
        w.list = this;
        w.prev = tail_;
        w.next = nullptr;
        (tail_ ? tail_->next : head_) = &w;
        tail_ = &w;
    }

    void remove(waiter& w) noexcept {
        WEFT_ASSERT(w.list == this, "a waiter is unlinked from the wait_list it is linked in");
        (w.prev ? w.prev->next : head_) = w.next;
        (w.next ? w.next->prev : tail_) = w.prev;
        w.prev = w.next = nullptr;
        w.list = nullptr;
    }

    // wake_one() unlinks waiters from the front until one of them is still
    // parked, unparks it and returns it; nullptr when none is. The returned
    // waiter is valid until the woken fiber runs, so the caller may hand it
    // something through `slot` right away.
    waiter* wake_one() noexcept {
        while (head_) {
            waiter* w = head_;
            remove(*w);
            if (unpark(w->fib)) return w;
        }
        return nullptr;
    }

    // wake_all() wakes every parked waiter; returns how many.
    int wake_all() noexcept {
        int n = 0;
        while (wake_one()) ++n;
        return n;
    }

private:
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
    const void* thread_ = nullptr;  // (in every build, so the layout does not depend on NDEBUG)
};

inline waiter::~waiter() {
    if (list) list->remove(*this);
}

}  // namespace weft::detail
