// SPDX-License-Identifier: MIT
// Waiting across threads (weft/detail/cross_wait.hpp).
// Invariants:
//  - `taken`, `slot`, `status` and the list links change only under the
//    shared object's mutex; `arrived` only on the waiter's own thread (a
//    fiber's loop runs on_arrive) or, for a plain thread, before the release
//    of its semaphore, which orders it;
//  - a taken waiter gets exactly one wake, and does not leave cross_wait()
//    before it (the waker may still hold a pointer to it until then).
#include "weft/detail/cross_wait.hpp"

#include "detail/reactor.hpp"
#include "detail/runtime.hpp"
#include "detail/scheduler.hpp"

namespace weft::detail {

namespace {

// on_arrive runs on the waiting fiber's loop: the wake has come.
void on_arrive(remote_work* r) noexcept {
    auto* w = static_cast<cross_waiter*>(r);
    w->arrived = true;
    scheduler::current()->unpark(w->fib, wake_reason::ready);
}

wake_reason wait_as_thread(cross_waiter& w, std::unique_lock<std::mutex>& lock, deadline until) {
    std::binary_semaphore sem{0};
    w.sem = &sem;
    lock.unlock();
    bool got = true;
    if (until == never)
        sem.acquire();
    else
        got = sem.try_acquire_until(until);
    lock.lock();
    if (w.taken) {
        if (!got) {  // taken as the time ran out: the release is on its way
            lock.unlock();
            sem.acquire();
            lock.lock();
        }
        return wake_reason::ready;
    }
    w.list->remove(w);
    return wake_reason::timed_out;
}

}  // namespace

wake_reason cross_wait(cross_waiter& w, std::unique_lock<std::mutex>& lock, deadline until, const char* what,
                       bool interruptible) {
    scheduler* s = scheduler::current();
    fiber* self = s ? s->running() : nullptr;
    if (!self) return wait_as_thread(w, lock, until);

    reactor& io = current_reactor(what);
    try {
        io.open_remote();  // the first cross-thread wait of a loop makes its eventfd
    } catch (...) {
        w.list->remove(w);
        throw;
    }
    w.loop = &io;
    w.fib = self;
    w.run = &on_arrive;
    const void* object = w.list;  // for the deadlock report; w.list is the waker's once unlocked
    wake_reason why = wake_reason::ready;
    while (!w.taken) {
        lock.unlock();
        why = io.wait_remote({what, object}, until, interruptible);
        lock.lock();
        if (w.taken) break;
        if (why != wake_reason::ready) {
            w.list->remove(w);
            return why;
        }
    }
    if (!w.arrived) {  // taken, wake in flight: it must land before w's frame goes
        lock.unlock();
        while (!w.arrived) io.wait_remote({what, object}, never, false);
        lock.lock();
    }
    return wake_reason::ready;
}

void cross_wake(cross_waiter* w) noexcept {
    if (!w->loop) {
        w->sem->release();
        return;
    }
    auto* loop = static_cast<reactor*>(w->loop);
    if (loop == running_reactor()) {  // a waiter of this very loop: no need to post
        on_arrive(w);
        return;
    }
    loop->post(w);
}

}  // namespace weft::detail
