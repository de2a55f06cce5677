// SPDX-License-Identifier: MIT
// What the layers above the scheduler reach through the running weft::run():
// defined in run.cpp, which composes the runtime.
#pragma once

#include "detail/reactor.hpp"

namespace weft::detail {

// current_reactor() is this thread's reactor. Throws
// std::system_error(errc::no_scheduler) with `what` outside a fiber.
reactor& current_reactor(const char* what);

// running_reactor() is this thread's reactor while weft::run() is running
// (fiber or loop), nullptr otherwise; it never throws.
reactor* running_reactor() noexcept;

}  // namespace weft::detail
