// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "weft/timeout.hpp"

namespace weft::this_fiber {

// yield() moves the running fiber to the back of the run queue and runs the
// next ready one. Throws weft::cancelled if the fiber was cancelled.
void yield();

// sleep_until(t) parks the fiber until t. Throws weft::cancelled, or
// weft::timeout_error when an enclosing with_timeout() deadline comes first.
void sleep_until(deadline t);

// sleep_for(d) is sleep_until(now + d).
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
    sleep_until(deadline_after(d));
}

// id() is the running fiber's task id (#1 is run()'s "main"), 0 outside a fiber.
std::uint64_t id() noexcept;

// name() is the running fiber's name, empty outside a fiber.
std::string_view name() noexcept;

}  // namespace weft::this_fiber
