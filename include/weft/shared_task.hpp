// SPDX-License-Identifier: MIT
// spawn_on(thread, fn, args...): start a fiber on another thread of the run,
// and shared_task<T>, its handle, which any thread's fiber may join.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/detail/cross_wait.hpp"
#include "weft/task.hpp"
#include "weft/timeout.hpp"

namespace weft {

namespace detail {

// shared_task_base is the state behind shared_task<T>: made by spawn_on() on
// the calling thread, run on the target thread, read by joiners on any.
class shared_task_base {
public:
    shared_task_base() = default;
    shared_task_base(const shared_task_base&) = delete;
    shared_task_base& operator=(const shared_task_base&) = delete;
    virtual ~shared_task_base() = default;
    // run_body() calls fn on the target thread's fiber and stores its result.
    virtual void run_body() = 0;

    std::mutex m;
    cross_list joiners;                            // under m
    bool done = false;                             // under m; result/error are set before it
    task_state final_state = task_state::pending;  // under m, meaningful once done
    std::exception_ptr error;                      // set when failed or cancelled
    std::atomic<unsigned> refs{2};                 // the handle + the target side
    std::size_t thread = 0;                        // the thread it runs on
    void* group = nullptr;                         // the run's thread group (null: a one-thread run)
    // The target thread's only:
    fiber* fib = nullptr;         // its fiber while it runs
    bool cancel_pending = false;  // cancel() came before the fiber did
};

template <class R>
class shared_task_result : public shared_task_base {
public:
    std::optional<R> result;
};
template <>
class shared_task_result<void> : public shared_task_base {};

template <class R, class Fn, class... Args>
class shared_task_impl final : public shared_task_result<R> {
public:
    template <class F, class... A>
    explicit shared_task_impl(F&& f, A&&... a) : call_(std::in_place, std::forward<F>(f), std::forward<A>(a)...) {}

    void run_body() override {
        struct reset_on_exit {
            std::optional<std::tuple<Fn, Args...>>& c;
            ~reset_on_exit() { c.reset(); }
        } guard{call_};
        auto call = [](Fn& f, Args&... a) -> R { return std::invoke(std::move(f), std::move(a)...); };
        if constexpr (std::is_void_v<R>)
            std::apply(call, *call_);
        else
            this->result.emplace(std::apply(call, *call_));
    }

private:
    std::optional<std::tuple<Fn, Args...>> call_;
};

// The functions shared_task<T> calls (lib/shared_task.cpp).
// start_shared() hands t to thread `index` of the running run(). Throws
// std::out_of_range for an index >= thread_count(), std::system_error(
// errc::no_scheduler) outside a fiber; t is freed then.
void start_shared(shared_task_base* t, std::size_t index, spawn_options&& opts);
// wait_shared() waits until t is done or `at`: true once done. Throws
// weft::cancelled / timeout_error when a waiting fiber is interrupted.
bool wait_shared(shared_task_base* t, deadline at);
void cancel_shared(shared_task_base* t) noexcept;
// drop_shared() is the handle's destructor: cancels t if it is not done and
// waits for it (uninterruptibly), then lets go of it.
void drop_shared(shared_task_base* t) noexcept;
void release_shared(shared_task_base* t) noexcept;

template <class Fn, class... Args>
using spawn_on_result_t = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>>;

}  // namespace detail

// shared_task<T> is the handle of a fiber started on another thread by
// spawn_on(): task<T>'s calls, usable from a fiber of any thread of the run
// (and from a plain thread, which blocks). The fiber itself never leaves its
// thread. Move-only; dropping one that is neither joined nor detached cancels
// the fiber and waits for it to end, as task<T> does.
template <class T>
class shared_task {
public:
    shared_task() noexcept = default;
    explicit shared_task(detail::shared_task_base* s) noexcept : s_(s) {}
    shared_task(shared_task&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    shared_task& operator=(shared_task&& o) noexcept {
        if (this != &o) {
            reset();
            s_ = std::exchange(o.s_, nullptr);
        }
        return *this;
    }
    ~shared_task() { reset(); }

    bool valid() const noexcept { return s_ != nullptr; }
    // done() is true once the fiber finished, failed or was cancelled.
    bool done() const {
        std::lock_guard lock(base()->m);
        return s_->done;
    }
    // state() is finished, failed or cancelled once done; pending before
    // (another thread's fiber cannot be watched running).
    task_state state() const {
        std::lock_guard lock(base()->m);
        return s_->done ? s_->final_state : task_state::pending;
    }
    // thread() is the index of the thread the fiber runs on.
    std::size_t thread() const { return base()->thread; }

    // join() waits for the fiber and returns its result, or rethrows the
    // exception that ended it (weft::cancelled if it was cancelled). Throws
    // weft::cancelled / timeout_error if the *joining* fiber is interrupted
    // while it waits (the task keeps running then).
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
    // join_until(at) waits for the end, but not past `at`: true once done.
    bool join_until(deadline at) { return detail::wait_shared(base(), at); }
    template <class Rep, class Period>
    bool join_for(std::chrono::duration<Rep, Period> d) {
        return join_until(deadline_after(d));
    }

    // cancel() asks the fiber to stop, from any thread: its current or next
    // blocking call throws weft::cancelled; one that has not started never
    // runs. Does nothing once it is done.
    void cancel() { detail::cancel_shared(base()); }

    // detach() lets the fiber run on without a handle.
    void detach() {
        base();
        detail::release_shared(std::exchange(s_, nullptr));
    }

private:
    detail::shared_task_base* base() const {
        if (!s_) detail::throw_empty_task("shared_task");
        return s_;
    }
    auto* impl() const { return static_cast<detail::shared_task_result<T>*>(s_); }

    void finish_join() {
        detail::wait_shared(base(), never);
        if (s_->error) std::rethrow_exception(s_->error);
    }

    void reset() noexcept {
        if (s_) detail::drop_shared(std::exchange(s_, nullptr));
    }

    detail::shared_task_base* s_ = nullptr;
};

// spawn_on(index, opts, fn, args...) starts fn(args...) in a new fiber on
// thread `index` of the running run(run_options{.threads = N}) (0 is the
// thread that called run(); thread_index() says which one runs the caller)
// and returns its handle. fn and args are moved or copied there, as
// std::thread does. If that thread's loop has already ended (run() is
// ending), the task is cancelled without running. Throws std::out_of_range
// when index >= thread_count(), std::system_error(errc::no_scheduler)
// outside a fiber.
template <class Fn, class... Args>
[[nodiscard]] shared_task<detail::spawn_on_result_t<Fn, Args...>> spawn_on(std::size_t index, spawn_options opts,
                                                                           Fn&& fn, Args&&... args) {
    using R = detail::spawn_on_result_t<Fn, Args...>;
    auto* s = new detail::shared_task_impl<R, std::decay_t<Fn>, std::decay_t<Args>...>(std::forward<Fn>(fn),
                                                                                       std::forward<Args>(args)...);
    detail::start_shared(s, index, std::move(opts));
    return shared_task<R>(s);
}

// spawn_on(index, fn, args...) is spawn_on(index, {}, fn, args...).
template <class Fn, class... Args>
requires(!std::is_same_v<std::decay_t<Fn>, spawn_options>)
    [[nodiscard]] shared_task<detail::spawn_on_result_t<Fn, Args...>> spawn_on(std::size_t index, Fn&& fn,
                                                                               Args&&... args) {
    return spawn_on(index, spawn_options{}, std::forward<Fn>(fn), std::forward<Args>(args)...);
}

}  // namespace weft
