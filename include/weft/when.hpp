// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <iterator>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "weft/task.hpp"

namespace weft {

namespace detail {

// wait_tasks(ts, n, all) parks until one of the n tasks is done (all =
// false: returns the lowest index of a done one) or, with all = true, until
// every task finished (returns n) or one of them failed or was cancelled
// (returns its index). Throws weft::cancelled / timeout_error when the
// waiting fiber is interrupted, errc::no_scheduler when it would park outside
// a fiber, resource_deadlock_would_occur when a task is the caller's own.
std::size_t wait_tasks(task_base* const* ts, std::size_t n, bool all);

template <class T>
task_base* task_of(const task<T>& t, const char* what) {
    task_base* b = task_access(t);
    if (!b) throw_empty_task(what);
    return b;
}

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

template <class R>
concept task_range =
    std::ranges::forward_range<R> && is_task<std::remove_cvref_t<std::ranges::range_reference_t<R>>>::value;

// joined_t<T> is what when_all() gives back for a task<T>: a reference to
// its result, or std::monostate for task<void>.
template <class T>
struct joined {
    using type = T&;
};
template <>
struct joined<void> {
    using type = std::monostate;
};
template <class T>
using joined_t = typename joined<T>::type;

template <class T>
joined_t<T> join_ref(task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        t.join();
        return {};
    } else {
        return t.join();
    }
}

template <task_range R>
std::vector<task_base*> tasks_of(R& tasks, const char* what) {
    std::vector<task_base*> v;
    for (auto& t : tasks) v.push_back(task_of(t, what));
    return v;
}

}  // namespace detail

// when_any(t...) waits until one of the tasks is done (finished, failed or
// cancelled) and returns its index; when several are done already, the
// lowest. It takes the tasks by reference and owns none of them, so it
// cancels nothing: the others keep running, and their handles decide what
// happens to them (join them, cancel() them, or drop them, which cancels and
// waits). It neither rethrows a task's exception nor marks it retrieved; the
// winner's join() does. Throws weft::cancelled or weft::timeout_error when the
// waiting fiber is interrupted (the tasks keep running), and
// std::system_error for an empty handle, outside a fiber, or for the
// caller's own task.
template <class... T>
std::size_t when_any(task<T>&... tasks) {
    static_assert(sizeof...(T) > 0, "weft::when_any needs at least one task");
    detail::task_base* b[] = {detail::task_of(tasks, "when_any")...};
    return detail::wait_tasks(b, sizeof...(T), false);
}

// when_any(range) is when_any() over a container of tasks (a
// std::vector<weft::task<T>>); each wake costs a pass over the range.
template <detail::task_range R>
std::size_t when_any(R&& tasks) {
    std::vector<detail::task_base*> b = detail::tasks_of(tasks, "when_any");
    return detail::wait_tasks(b.data(), b.size(), false);
}

// when_all(t...) waits until every task has finished and returns references
// to their results in a tuple (std::monostate for a task<void>):
//
//     auto [page, count] = weft::when_all(fetch, counter);
//
// As soon as one of them fails or is cancelled it stops waiting and
// rethrows that exception (asyncio.gather's rule); it owns none of the
// tasks, so it cancels none: the others keep running until their handles
// are joined, cancelled or dropped. Throws as when_any() does.
template <class... T>
std::tuple<detail::joined_t<T>...> when_all(task<T>&... tasks) {
    static_assert(sizeof...(T) > 0, "weft::when_all needs at least one task");
    detail::task_base* b[] = {detail::task_of(tasks, "when_all")...};
    std::size_t i = detail::wait_tasks(b, sizeof...(T), true);
    if (i < sizeof...(T)) {
        std::size_t k = 0;
        ((k++ == i ? (tasks.join(), true) : false) || ...);  // rethrows the failure
    }
    return std::tuple<detail::joined_t<T>...>(detail::join_ref(tasks)...);
}

// when_all(range) is when_all() over a container of tasks; it returns nothing
// (each join() then returns at once). Each wake costs a pass over the range.
template <detail::task_range R>
void when_all(R&& tasks) {
    std::vector<detail::task_base*> b = detail::tasks_of(tasks, "when_all");
    std::size_t i = detail::wait_tasks(b.data(), b.size(), true);
    if (i < b.size()) std::ranges::next(std::ranges::begin(tasks), static_cast<std::ptrdiff_t>(i))->join();
}

}  // namespace weft
