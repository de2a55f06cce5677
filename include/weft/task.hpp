// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/task_base.hpp"
#include "weft/timeout.hpp"

namespace weft {

// task_state is where a task is in its life, as asyncio's Task would say it.
enum class task_state : unsigned char {
    pending,    // spawned, has not run yet
    running,    // it is the fiber running now
    suspended,  // has run, and is parked or waiting in the run queue
    finished,   // returned a value
    failed,     // ended with an exception
    cancelled,  // ended by cancellation (weft::cancelled escaped it, or it never started)
};

std::ostream& operator<<(std::ostream& os, task_state s);

// spawn_options names a fiber and sizes its stack (0: the default, 64 KiB,
// rounded up to whole pages).
struct spawn_options {
    std::string name;
    std::size_t stack_size = 0;
};

template <class T>
class task;

namespace detail {
[[noreturn]] void throw_empty_task(const char* what);
template <class T>
task_base* task_access(const task<T>& t) noexcept;
// make_task() is the handle of a task just started: spawn()'s alone.
template <class T>
task<T> make_task(task_base* s) noexcept;
}  // namespace detail

// task<T> is the handle of a spawned fiber that returns T, like asyncio's Task.
//
// It is move-only. Dropping a task that is neither joined nor detached cancels
// the fiber and waits for it to unwind (std::jthread's rule): a fiber never
// outlives a handle whose scope its captures may point into. A failure that was
// never joined is reported on stderr then, as asyncio reports "Task exception
// was never retrieved". Call detach() to let the fiber run on its own.
template <class T>
class task {
public:
    task() noexcept = default;
    task(task&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            reset();
            s_ = std::exchange(o.s_, nullptr);
        }
        return *this;
    }
    ~task() { reset(); }

    // valid() is false for a default-made, moved-from or detached handle.
    bool valid() const noexcept { return s_ != nullptr; }
    task_state state() const { return detail::state_of(base("state")); }
    // done() is true once the fiber finished, failed or was cancelled.
    bool done() const { return base("done")->done; }
    std::uint64_t id() const { return base("id")->id; }
    const std::string& name() const { return base("name")->name; }

    // join() waits for the fiber and returns its result, or rethrows the
    // exception that ended it (weft::cancelled if it was cancelled). It may be
    // called from any fiber, and again later; the lvalue form returns a
    // reference to the stored result, the rvalue form moves it out.
    // Throws std::system_error(resource_deadlock_would_occur) when a fiber
    // joins itself, and weft::cancelled / timeout_error if the *joining* fiber
    // is interrupted while it waits (the task keeps running then).
    decltype(auto) join() & {
        finish_join();
        if constexpr (!std::is_void_v<T>)
            return static_cast<T&>(*impl()->result);
        else
            return;
    }
    T join() && {
        finish_join();
        if constexpr (!std::is_void_v<T>) return std::move(*impl()->result);
    }

    // join_until(at) waits for the fiber to end, but not past `at`: true once
    // it is done (join() then returns or rethrows at once), false when `at`
    // came first; the task keeps running either way. It neither returns the
    // result nor rethrows the fiber's exception: join() does. Throws as join()
    // does when the joining fiber is cancelled or its with_timeout() passes.
    bool join_until(deadline at) { return detail::wait_task_until(base("join_until"), at); }

    // join_for(d) is join_until(now + d).
    template <class Rep, class Period>
    bool join_for(std::chrono::duration<Rep, Period> d) {
        return join_until(deadline_after(d));
    }

    // cancel() asks the fiber to stop: its current or next blocking call throws
    // weft::cancelled. A pending task is cancelled without running at all.
    // Does nothing once the task is done.
    void cancel() { detail::cancel_task(base("cancel")); }

    // detach() lets the fiber run on without a handle; the handle becomes empty.
    // An exception that ends a detached fiber is reported on stderr.
    void detach() {
        base("detach");
        detail::detach_task(std::exchange(s_, nullptr));
    }

    friend std::ostream& operator<<(std::ostream& os, const task& t) {
        if (!t.s_) return os << "<task empty>";
        detail::print_task(os, t.s_);
        return os;
    }

private:
    friend detail::task_base* detail::task_access<T>(const task<T>&) noexcept;
    friend task detail::make_task<T>(detail::task_base*) noexcept;

    explicit task(detail::task_base* s) noexcept : s_(s) {}

    detail::task_base* base(const char* what) const {
        if (!s_) detail::throw_empty_task(what);
        return s_;
    }
    auto* impl() const { return static_cast<detail::task_result<T>*>(s_); }

    void finish_join() {
        detail::task_base* s = base("join");
        detail::wait_task(s);
        s->retrieved = true;
        if (s->error) std::rethrow_exception(s->error);
    }

    void reset() noexcept {
        if (s_) detail::drop_task(std::exchange(s_, nullptr));
    }

    detail::task_base* s_ = nullptr;
};

namespace detail {
template <class T>
task_base* task_access(const task<T>& t) noexcept {
    return t.s_;
}

template <class T>
task<T> make_task(task_base* s) noexcept {
    return task<T>(s);
}

template <class Fn, class... Args>
using spawn_result_t = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>>;
}  // namespace detail

// spawn(opts, fn, args...) starts fn(args...) in a new fiber and returns its
// task. The fiber is queued, not run: it first runs when the caller next
// blocks or yields. fn and args are copied or moved into the fiber, as
// std::thread does. Throws std::system_error(errc::no_scheduler) outside
// weft::run() and std::system_error(errc::no_stack) when no stack can be had.
//
// The task must be kept, joined or detached: dropping it cancels the fiber
// (see task<T>). A handle dropped before its fiber ever ran — the body then
// never runs — is reported on stderr in debug builds (NDEBUG not defined),
// unless cancel() was called first.
template <class Fn, class... Args>
[[nodiscard(
    "dropping the task cancels it; call detach() to let it run on its own")]] task<detail::spawn_result_t<Fn, Args...>>
spawn(spawn_options opts, Fn&& fn, Args&&... args) {
    using R = detail::spawn_result_t<Fn, Args...>;
    auto* s = new detail::task_impl<R, std::decay_t<Fn>, std::decay_t<Args>...>(std::forward<Fn>(fn),
                                                                                std::forward<Args>(args)...);
    detail::start_task(s, std::move(opts));
    return detail::make_task<R>(s);
}

// spawn(fn, args...) is spawn({}, fn, args...): an unnamed fiber, default stack.
template <class Fn, class... Args>
requires(!std::is_same_v<std::decay_t<Fn>, spawn_options>)
    [[nodiscard("dropping the task cancels it; call detach() to let it run on its own")]] task<
        detail::spawn_result_t<Fn, Args...>> spawn(Fn&& fn, Args&&... args) {
    return spawn(spawn_options{}, std::forward<Fn>(fn), std::forward<Args>(args)...);
}

}  // namespace weft
