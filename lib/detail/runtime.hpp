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

class dns_glue;
// current_dns() is this run's c-ares glue (lib/dns/ares_glue.hpp), made on
// first use and destroyed when run() ends, before the reactor and the
// scheduler. Throws std::system_error(errc::no_scheduler) with `what` outside a fiber.
dns_glue& current_dns(const char* what);

}  // namespace weft::detail

namespace weft::http::detail {
class pool;
}

namespace weft::detail {

// current_http_pool() is this run's HTTP keep-alive pool (lib/http/pool.hpp),
// made on first use and destroyed when run() ends, like the DNS glue. Throws
// std::system_error(errc::no_scheduler) with `what` outside a fiber.
http::detail::pool& current_http_pool(const char* what);

}  // namespace weft::detail
