// SPDX-License-Identifier: MIT
// when_any / when_all: one fiber parked on several tasks' joiner lists at
// once. A waiter is linked into each unfinished task's list; the first task
// to end unparks the fiber, and the others' wake_all() finds it no longer
// parked and just unlinks their waiter (unpark() is the single door). The
// waiters stay linked across wakes; the array's destructor unlinks the rest.
#include <memory>
#include <system_error>

#include "detail/scheduler.hpp"
#include "weft/when.hpp"

namespace weft::detail {

namespace {

constexpr std::size_t none = static_cast<std::size_t>(-1);

std::size_t scan(task_base* const* ts, std::size_t n, bool all) noexcept {
    bool all_done = true;
    for (std::size_t i = 0; i < n; ++i) {
        if (!ts[i]->done) {
            all_done = false;
        } else if (!all || ts[i]->error) {
            return i;
        }
    }
    return all && all_done ? n : none;
}

}  // namespace

std::size_t wait_tasks(task_base* const* ts, std::size_t n, bool all) {
    const char* what = all ? "weft::when_all" : "weft::when_any";
    if (n == 0 && !all)
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "weft::when_any: no tasks to wait for");
    if (std::size_t i = scan(ts, n, all); i != none) return i;
    fiber* self = current_fiber();
    if (!self) throw_outside_fiber(what);
    for (std::size_t i = 0; i < n; ++i)
        if (ts[i]->fib == self)
            throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                    std::string(what) + ": a fiber cannot wait for its own task");
    std::unique_ptr<waiter[]> ws(new waiter[n]);
    for (;;) {
        for (std::size_t i = 0; i < n; ++i)
            if (!ts[i]->done && !ws[i].list) ts[i]->joiners.push_back(ws[i]);
        park_or_throw({all ? "when_all" : "when_any", ts[0]}, never, what);
        if (std::size_t i = scan(ts, n, all); i != none) return i;
    }
}

}  // namespace weft::detail
