// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string_view>

#include "weft/timeout.hpp"

namespace weft::detail {
// sleep(t, what) is sleep_until(t); its errors name `what`, the call the user made.
void sleep(deadline t, const char* what);
}  // namespace weft::detail

namespace weft::this_fiber {

// yield() moves the running fiber to the back of the run queue and runs the
// next ready one. Throws weft::cancelled if the fiber was cancelled.
void yield();

// sleep_until(t) parks the fiber until t (a time already passed: it returns
// at once). Throws weft::cancelled, weft::timeout_error when an enclosing
// with_timeout() deadline comes first, and std::system_error(
// errc::no_scheduler) outside a fiber, every time.
void sleep_until(deadline t);

// sleep_for(d) is sleep_until(now + d).
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
    detail::sleep(deadline_after(d), "weft::this_fiber::sleep_for");
}

// id() is the running fiber's task id (#1 is run()'s "main"), 0 outside a fiber.
std::uint64_t id() noexcept;

// name() is the running fiber's name, empty outside a fiber.
std::string_view name() noexcept;

// cancellation_requested() is true once the running fiber was cancelled (its
// task's cancel(), its handle dropped, its task_group cancelling it, or run()
// ending): its blocking calls throw weft::cancelled from then on. It never
// throws, so a loop that does not block can check it and wind up on its own
// terms. False outside a fiber.
bool cancellation_requested() noexcept;

// stop_token() is a std::stop_token that is stop-requested when the running
// fiber is cancelled, for code that speaks the standard's vocabulary: a
// std::stop_callback, or work handed to a std::jthread or another thread that
// checks stop_requested(). The first call makes the fiber's std::stop_source
// (one allocation; fibers that never ask pay nothing). A cancel through the
// task's handle (cancel(), dropping it) or a task_group requests stop at
// once. The cancellation of every fiber when run() ends (or unwinds a
// deadlock) comes through no handle: it reaches the token when the fiber
// next calls cancellation_requested() or one of its waits (sleep, join, a
// channel, a lock, select) throws weft::cancelled. Outside a fiber it is an
// empty token (stop_possible() is false).
std::stop_token stop_token();

}  // namespace weft::this_fiber
