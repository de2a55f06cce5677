// SPDX-License-Identifier: MIT
// to_thread(fn, args...): run a blocking call on a worker thread while the
// calling fiber parks (asyncio's to_thread, gevent's threadpool).
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/timeout.hpp"

namespace weft {

namespace detail {

// thread_job is the work of one to_thread() call, type-erased: execute() runs
// on a worker thread, calls fn(args...), keeps its result or exception, and
// destroys fn and args there. Everything else (the result, the job itself)
// is destroyed on the calling fiber's thread.
class thread_job {
public:
    thread_job() = default;
    thread_job(const thread_job&) = delete;
    thread_job& operator=(const thread_job&) = delete;
    virtual ~thread_job() = default;
    virtual void execute() noexcept = 0;

    std::exception_ptr error;  // what fn threw
};

template <class R, class Fn, class... Args>
class thread_job_impl final : public thread_job {
public:
    template <class F, class... A>
    explicit thread_job_impl(F&& f, A&&... a) : call_(std::in_place, std::forward<F>(f), std::forward<A>(a)...) {}

    void execute() noexcept override {
        try {
            auto call = [](Fn& f, Args&... a) -> R { return std::invoke(std::move(f), std::move(a)...); };
            if constexpr (std::is_void_v<R>)
                std::apply(call, *call_);
            else
                result.emplace(std::apply(call, *call_));
        } catch (...) {
            error = std::current_exception();
        }
        try {
            call_.reset();  // the callable's captures die on the worker, as std::thread's do
        } catch (...) {
            if (!error) error = std::current_exception();
        }
    }

    struct none {};
    std::conditional_t<std::is_void_v<R>, none, std::optional<R>> result;

private:
    std::optional<std::tuple<Fn, Args...>> call_;
};

// run_on_pool() hands `job` to this run's thread pool and parks the calling
// fiber until it is done (job then holds the finished job) or until `until`,
// the enclosing with_timeout() or cancellation: then it throws
// weft::timeout_error / weft::cancelled, and job is empty (the pool frees the
// abandoned job once its worker is done with it). Throws
// std::system_error(errc::no_scheduler) outside a fiber, std::system_error
// when no worker thread can be started.
void run_on_pool(std::unique_ptr<thread_job>& job, deadline until);

template <class Fn, class... Args>
using to_thread_result_t = std::decay_t<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>>;

template <class T>
inline constexpr bool is_duration_v = false;
template <class Rep, class Period>
inline constexpr bool is_duration_v<std::chrono::duration<Rep, Period>> = true;

}  // namespace detail

// to_thread_until(at, fn, args...) is to_thread(fn, args...) that gives up at
// `at`: it throws weft::timeout_error then.
template <class Fn, class... Args>
detail::to_thread_result_t<Fn, Args...> to_thread_until(deadline at, Fn&& fn, Args&&... args) {
    using R = detail::to_thread_result_t<Fn, Args...>;
    using job_t = detail::thread_job_impl<R, std::decay_t<Fn>, std::decay_t<Args>...>;
    std::unique_ptr<detail::thread_job> job =
        std::make_unique<job_t>(std::forward<Fn>(fn), std::forward<Args>(args)...);
    detail::run_on_pool(job, at);
    auto& done = static_cast<job_t&>(*job);
    if (done.error) std::rethrow_exception(done.error);
    if constexpr (!std::is_void_v<R>) return std::move(*done.result);
}

// to_thread(fn, args...) runs fn(args...) on one of this run()'s worker
// threads and parks the calling fiber (only it: the others run on) until it
// returns; then returns its result or rethrows its exception. fn and args are
// copied or moved to the worker, as std::thread does; pass std::ref to share.
//
// For what would stall every fiber of the thread: file I/O, a CPU-heavy step,
// a library call that blocks (getaddrinfo, a database client, compression).
// Not for sockets: weft's own calls already park only the fiber.
//
// An enclosing with_timeout() or cancel() wakes the fiber at once, which
// throws weft::timeout_error or weft::cancelled. A job that had not started
// then never runs; one that had runs to completion on its thread (a thread
// cannot be interrupted) and its result is dropped, destroyed on the loop's
// thread. run() waits for such jobs when it returns.
//
// The pool belongs to the run: at most run_options::thread_pool_size threads
// (default_thread_pool_size(): min(32, cores + 4)), started on demand, joined
// when run() returns. Jobs beyond that wait in FIFO order. fn runs outside any
// fiber: weft's blocking calls throw errc::no_scheduler there (a worker may
// call weft::run() for a loop of its own). Throws std::system_error(
// errc::no_scheduler) outside a fiber, std::system_error when no worker
// thread can be started.
template <class Fn, class... Args>
requires(!detail::is_duration_v<std::decay_t<Fn>>) detail::to_thread_result_t<Fn, Args...> to_thread(Fn&& fn,
                                                                                                     Args&&... args) {
    return to_thread_until(never, std::forward<Fn>(fn), std::forward<Args>(args)...);
}

// to_thread(timeout, fn, args...) is to_thread(fn, args...) that gives up
// after `timeout`: it throws weft::timeout_error then, as above.
template <class Rep, class Period, class Fn, class... Args>
detail::to_thread_result_t<Fn, Args...> to_thread(std::chrono::duration<Rep, Period> timeout, Fn&& fn, Args&&... args) {
    return to_thread_until(deadline_after(timeout), std::forward<Fn>(fn), std::forward<Args>(args)...);
}

}  // namespace weft
