// SPDX-License-Identifier: MIT
// spawn_on() and shared_task<T>: a fiber on another thread of the run, and
// the handle any thread's fiber may join.
// Invariants:
//  - a shared_task_base is done exactly once (finish()), on its target
//    thread, whatever happens: it ran, it was cancelled before it started,
//    or its loop had ended; every joiner is woken then;
//  - `fib` and `cancel_pending` are touched only on the target thread;
//    `done`, `final_state`, `error`, the result and the joiners change only
//    under `m` (the result and error before `done`);
//  - refs: the handle and the target side; whoever lets go last frees it.
#include "weft/shared_task.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "detail/runtime.hpp"
#include "detail/scheduler.hpp"
#include "detail/thread_group.hpp"
#include "weft/errors.hpp"
#include "weft/run.hpp"
#include "weft/task.hpp"

namespace weft::detail {

namespace {

// finish() records the outcome and wakes every joiner (target thread).
void finish(shared_task_base* t, task_state state, std::exception_ptr error) noexcept {
    t->fib = nullptr;
    cross_waiter* woken = nullptr;
    {
        std::lock_guard lock(t->m);
        t->error = std::move(error);
        t->final_state = state;
        t->done = true;
        while (cross_waiter* w = t->joiners.take_front()) {
            w->next = woken;
            woken = w;
        }
    }
    while (woken) {
        cross_waiter* w = woken;
        woken = static_cast<cross_waiter*>(w->next);
        w->next = nullptr;
        cross_wake(w);
    }
    release_shared(t);
}

void finish_cancelled(shared_task_base* t) noexcept {
    finish(t, task_state::cancelled, std::make_exception_ptr(cancelled()));
}

// runner is the callable of the local fiber that runs a shared task. If the
// fiber never runs its body (cancelled before it started, or torn down),
// the runner's destructor still finishes the task, as cancelled.
struct runner {
    shared_task_base* t;
    explicit runner(shared_task_base* t) noexcept : t(t) {}
    runner(runner&& o) noexcept : t(std::exchange(o.t, nullptr)) {}
    runner& operator=(runner&&) = delete;
    ~runner() {
        if (t) finish_cancelled(t);
    }
    void operator()() {
        shared_task_base* s = std::exchange(t, nullptr);
        try {
            s->run_body();
        } catch (const cancelled&) {
            return finish(s, task_state::cancelled, std::current_exception());
        } catch (...) {
            return finish(s, task_state::failed, std::current_exception());
        }
        finish(s, task_state::finished, nullptr);
    }
};

// start_here() starts t on this thread's loop.
void start_here(shared_task_base* t, spawn_options&& opts) noexcept {
    if (t->cancel_pending || loop_closing()) return finish_cancelled(t);
    // If spawn() throws (no stack), the runner it was given has been
    // destroyed, and that finished t as cancelled.
    try {
        task<void> local = spawn(std::move(opts), runner(t));
        t->fib = task_access(local)->fib;
        local.detach();
    } catch (...) {
    }
}

// cancel_here() cancels t's fiber on this (its target) thread.
void cancel_here(shared_task_base* t) noexcept {
    {
        std::lock_guard lock(t->m);
        if (t->done) return;
    }
    if (t->fib)
        scheduler::current()->cancel(t->fib);
    else
        t->cancel_pending = true;  // the spawn request has not come yet
}

struct spawn_request final : remote_work {
    shared_task_base* t;
    spawn_options opts;
    static void fire(remote_work* w) noexcept {
        auto* r = static_cast<spawn_request*>(w);
        start_here(r->t, std::move(r->opts));
        delete r;
    }
};

struct cancel_request final : remote_work {
    shared_task_base* t;
    static void fire(remote_work* w) noexcept {
        auto* r = static_cast<cancel_request*>(w);
        cancel_here(r->t);
        release_shared(r->t);
        delete r;
    }
};

}  // namespace

void start_shared(shared_task_base* t, std::size_t index, spawn_options&& opts) {
    std::unique_ptr<shared_task_base> owned(t);
    if (!current_fiber()) throw_outside_fiber("weft::spawn_on");
    thread_group* g = running_group();
    const std::size_t n = g ? g->size() : 1;
    if (index >= n)
        throw std::out_of_range("weft::spawn_on: thread " + std::to_string(index) + " of a run of " +
                                std::to_string(n));
    t->thread = index;
    t->group = g;
    owned.release();
    if (index == thread_index()) return start_here(t, std::move(opts));
    auto* r = new spawn_request;
    r->run = &spawn_request::fire;
    r->t = t;
    r->opts = std::move(opts);
    if (!g->post_to(index, r)) {  // that loop has ended: the task never runs
        delete r;
        finish_cancelled(t);
    }
}

bool wait_shared(shared_task_base* t, deadline at) {
    std::unique_lock lock(t->m);
    if (t->done) return true;
    if (running_group() == t->group && thread_index() == t->thread && t->fib && t->fib == current_fiber())
        throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                "weft::shared_task::join: a fiber cannot join itself");
    cross_waiter w;
    t->joiners.push_back(w);
    wake_reason why = cross_wait(w, lock, at, "join of shared_task");
    lock.unlock();
    if (why == wake_reason::ready) return true;
    throw_if_interrupted(why);
    return false;
}

void cancel_shared(shared_task_base* t) noexcept {
    {
        std::lock_guard lock(t->m);
        if (t->done) return;
    }
    auto* g = static_cast<thread_group*>(t->group);
    if (thread_count() > 0 && running_group() == g && thread_index() == t->thread) return cancel_here(t);
    // Another thread's: its loop cancels it. It is not done, so its loop
    // still takes posts, or has them drained (which finishes it anyway).
    auto* r = new (std::nothrow) cancel_request;
    if (!r) return;
    r->run = &cancel_request::fire;
    r->t = t;
    t->refs.fetch_add(1, std::memory_order_relaxed);
    if (!g || !g->post_to(t->thread, r)) {
        t->refs.fetch_sub(1, std::memory_order_relaxed);
        delete r;
    }
}

void drop_shared(shared_task_base* t) noexcept {
    bool done;
    {
        std::lock_guard lock(t->m);
        done = t->done;
    }
    if (!done && running_group() == t->group && thread_index() == t->thread && t->fib && t->fib == current_fiber()) {
        // The fiber drops its own handle: it just lets go (task<T>'s rule),
        // it cannot wait for itself to end.
        done = true;
    }
    if (!done) {
        cancel_shared(t);
        // Wait, uninterruptibly, for the fiber to unwind: its captures may
        // point into the frame that held the handle (task<T>'s rule).
        std::unique_lock lock(t->m);
        if (!t->done) {
            cross_waiter w;
            t->joiners.push_back(w);
            cross_wait(w, lock, never, "shared_task dropped: its end", false);
        }
    }
    release_shared(t);
}

void release_shared(shared_task_base* t) noexcept {
    if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
}

void destroyed_with_cross_waiters(const char* what) noexcept {
    std::fprintf(stderr,
                 "weft: a %s was destroyed while fibers or threads waited on it; they would wake into freed "
                 "memory. Aborting\n",
                 what);
    std::abort();
}

}  // namespace weft::detail
