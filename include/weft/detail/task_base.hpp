// SPDX-License-Identifier: MIT
// The shared state behind task<T>: one heap block per spawn, owned jointly by
// the fiber (until it finishes) and the task<T> handle (until it is dropped).
// Internal: the public types (task_state, spawn_options) are in weft/task.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <iomanip>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/detail/wait_list.hpp"

namespace weft {

// Public types, defined in weft/task.hpp; the task's shared state needs only
// their names. (task_state's underlying type makes it complete here: its
// zero is `pending`.)
enum class task_state : unsigned char;
struct spawn_options;

}  // namespace weft

namespace weft::detail {

class task_base {
public:
    task_base() = default;
    task_base(const task_base&) = delete;
    task_base& operator=(const task_base&) = delete;
    virtual ~task_base() = default;

    // run_body() calls the user's function and stores its result; it runs on the
    // task's own fiber and lets every exception out to the fiber entry.
    virtual void run_body() = 0;
    // print_result() writes " result=..." when the result type is printable.
    virtual void print_result(std::ostream&) const {}

    std::uint64_t id = 0;
    std::string name;
    fiber* fib = nullptr;      // the running fiber; null before spawn and after it ends
    task_state final_state{};  // pending; meaningful once done
    bool done = false;
    bool detached = false;
    bool retrieved = false;            // join() has observed the outcome
    unsigned refs = 2;                 // the fiber + the handle
    std::uint32_t cancels_thrown = 0;  // weft::cancelled thrown in this fiber (one that swallows them is reported)
    std::exception_ptr error;          // set when failed or cancelled
    wait_list joiners;                 // fibers parked in join()
    // stop is made by the first this_fiber::stop_token() call (until then it
    // holds no state and costs nothing) and requested when the task is cancelled.
    std::stop_source stop{std::nostopstate};
};

// The functions task<T> calls, defined in lib/task.cpp.
void start_task(task_base* t, spawn_options&& opts);  // throws on stack failure (and frees t)
void wait_task(task_base* t);                         // parks until t is done; throws as park does
bool wait_task_until(task_base* t, deadline at);      // wait_task() that gives up at `at`: false then
void cancel_task(task_base* t) noexcept;              // also requests t->stop
// request_stop() requests t->stop if a stop_token was ever handed out for it.
void request_stop(task_base* t) noexcept;
void detach_task(task_base* t) noexcept;
void drop_task(task_base* t) noexcept;  // the handle's destructor
task_state state_of(const task_base* t) noexcept;
void print_task(std::ostream& os, const task_base* t);
// report_failure() writes "weft: task #3 'name' <how>: <what()>" to stderr.
void report_failure(const task_base* t, const char* how) noexcept;

template <class T>
concept printable = requires(std::ostream& os, const T& v) {
    os << v;
};

// task_result<R> stores what the fiber returned; task<R> reads it.
template <class R>
class task_result : public task_base {
public:
    void print_result(std::ostream& os) const override {
        if constexpr (std::is_convertible_v<const R&, std::string_view>) {
            if (result) os << " result=" << std::quoted(std::string_view(*result));
        } else if constexpr (printable<R>) {
            if (result) os << " result=" << *result;
        }
    }
    std::optional<R> result;
};

template <>
class task_result<void> : public task_base {};

template <class R, class Fn, class... Args>
class task_impl final : public task_result<R> {
public:
    template <class F, class... A>
    explicit task_impl(F&& f, A&&... a) : call_(std::in_place, std::forward<F>(f), std::forward<A>(a)...) {}

    void run_body() override {
        // The callable and its arguments die when the fiber's work ends, not
        // when the handle is dropped.
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

}  // namespace weft::detail
