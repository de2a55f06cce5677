// SPDX-License-Identifier: MIT
// task<T>'s out-of-line half: the task state machine, join, cancel, detach,
// what dropping a handle does, and printing.
#include "weft/task.hpp"

#include <cstdio>
#include <iomanip>
#include <memory>

#include "detail/scheduler.hpp"
#include "detail/sys_error.hpp"
#include "weft/errors.hpp"

namespace weft {

std::ostream& operator<<(std::ostream& os, task_state s) {
    switch (s) {
        case task_state::pending: return os << "pending";
        case task_state::running: return os << "running";
        case task_state::suspended: return os << "suspended";
        case task_state::finished: return os << "finished";
        case task_state::failed: return os << "failed";
        case task_state::cancelled: return os << "cancelled";
    }
    return os << "task_state(" << static_cast<int>(s) << ")";
}

namespace detail {

namespace {

void release(task_base* t) noexcept {
    if (--t->refs == 0) delete t;
}

void report_unretrieved(const task_base* t) {
    if (t->final_state == task_state::failed && !t->retrieved) report_failure(t, "failed and was never joined");
}

}  // namespace

void report_failure(const task_base* t, const char* how) noexcept {
    std::string name = t->name.empty() ? std::string() : " '" + t->name + "'";
    std::fprintf(stderr, "weft: task #%llu%s %s: %s\n", static_cast<unsigned long long>(t->id), name.c_str(), how,
                 exception_text(t->error).c_str());
}

void throw_empty_task(const char* what) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            std::string("weft::task::") + what + " on an empty task");
}

void start_task(task_base* t, spawn_options&& opts) {
    std::unique_ptr<task_base> owned(t);
    scheduler* s = scheduler::current();
    if (!s) throw std::system_error(make_error_code(errc::no_scheduler), "weft::spawn must be called inside weft::run");
    s->spawn(t, std::move(opts));
    owned.release();
}

void wait_task(task_base* t) { wait_task_until(t, never); }

bool wait_task_until(task_base* t, deadline at) {
    if (t->done) return true;
    scheduler* s = scheduler::current();
    fiber* self = s ? s->running() : nullptr;
    if (!self)
        throw std::system_error(make_error_code(errc::no_scheduler),
                                "weft::task::join of an unfinished task must be called inside a fiber");
    if (t->fib == self)
        throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                "weft::task::join: a fiber cannot join itself");
    while (!t->done) {
        waiter w(self);
        t->joiners.push_back(w);
        if (throw_if_interrupted(s->park({"join of task", t}, at, true), "weft::task::join") == wake_reason::timed_out)
            return t->done;
    }
    return true;
}

void request_stop(task_base* t) noexcept {
    if (t->stop.stop_possible()) t->stop.request_stop();
}

void cancel_task(task_base* t) noexcept {
    if (t->done) return;
    scheduler::current()->cancel(t->fib);
    request_stop(t);
}

void detach_task(task_base* t) noexcept {
    t->detached = true;
    if (t->done) report_unretrieved(t);
    release(t);
}

void drop_task(task_base* t) noexcept {
    scheduler* s = scheduler::current();
#ifndef NDEBUG
    // A handle dropped before its fiber ever ran: the body will never run.
    // Almost always a `spawn(...)` whose task was meant to be detached.
    if (!t->done && t->fib && !t->fib->started && !t->fib->cancel_requested) {
        std::string name = t->name.empty() ? std::string() : " '" + t->name + "'";
        std::fprintf(stderr,
                     "weft: task #%llu%s was dropped before it ever ran, so it never will: dropping a task cancels "
                     "it. Keep the task and join() it, or call detach() to let it run on its own\n",
                     static_cast<unsigned long long>(t->id), name.c_str());
    }
#endif
    if (!t->done && s && t->fib != s->running()) {
        s->cancel(t->fib);
        request_stop(t);
        if (s->running()) {
            // Wait for the unwinding even if this fiber is cancelled itself: its
            // frame may hold what the child's captures point to.
            while (!t->done) {
                waiter w(s->running());
                t->joiners.push_back(w);
                s->park({"the end of a dropped task", t}, never, false);
            }
        } else {
            t->detached = true;  // no fiber to wait in: the loop tears it down
        }
    } else if (!t->done) {
        t->detached = true;  // a fiber dropping its own handle just lets go of it
    }
    if (t->done) report_unretrieved(t);
    release(t);
}

task_state state_of(const task_base* t) noexcept {
    if (t->done) return t->final_state;
    if (t->fib == current_fiber()) return task_state::running;
    return t->fib->started ? task_state::suspended : task_state::pending;
}

void print_task(std::ostream& os, const task_base* t) {
    task_state st = state_of(t);
    os << "<task #" << t->id;
    if (!t->name.empty()) os << " '" << t->name << "'";
    os << ' ' << st;
    if (st == task_state::finished) t->print_result(os);
    if (st == task_state::failed) os << " error=" << std::quoted(exception_text(t->error));
    os << '>';
}

}  // namespace detail
}  // namespace weft
