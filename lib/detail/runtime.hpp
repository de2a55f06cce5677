// SPDX-License-Identifier: MIT
// What the layers above the scheduler reach through the running weft::run():
// defined in run.cpp, which composes the runtime.
#pragma once

#include <memory>

#include "detail/reactor.hpp"
#include "weft/run.hpp"

namespace weft::detail {

// current_reactor() is this thread's reactor. Throws
// std::system_error(errc::no_scheduler) with `what` outside a fiber.
reactor& current_reactor(const char* what);

// run_settings() are the run_options of the running run(). Throws
// std::system_error(errc::no_scheduler) with `what` outside a fiber.
const run_options& run_settings(const char* what);

// usable_cpus() is the number of CPUs this process may run on (its affinity
// mask), at least 1.
std::size_t usable_cpus() noexcept;

class thread_group;
// running_group() is the thread group of the running run() when it drives
// several threads, nullptr otherwise (or outside a run). loop_closing() is
// true once this thread's loop has ended and only drains what was posted to
// it: work that would start fibers must not.
thread_group* running_group() noexcept;
bool loop_closing() noexcept;

// running_reactor() is this thread's reactor while weft::run() is running
// (fiber or loop), nullptr otherwise; it never throws.
reactor* running_reactor() noexcept;

// service is per-run state that a layer above the loop keeps in the runtime
// (the c-ares glue, the TLS session cache, the HTTP keep-alive pool): made on
// first use, destroyed when run() ends — the last made first — while the
// reactor and the scheduler still work. The loop knows none of them by name.
class service {
public:
    virtual ~service() = default;
};

// find_service() is the service registered under `key` in the running run(),
// or nullptr; add_service() registers one and returns it. Both throw
// std::system_error(errc::no_scheduler) with `what` outside a fiber.
service* find_service(const void* key, const char* what);
service& add_service(const void* key, std::unique_ptr<service> s);

// current_service<T>(what, make) is this run's T, made by make() (returning
// std::unique_ptr<T>) on first use. T derives from service.
template <class T, class Make>
T& current_service(const char* what, Make&& make) {
    static const char key = 0;  // one address per T: the registry's key
    if (service* s = find_service(&key, what)) return static_cast<T&>(*s);
    return static_cast<T&>(add_service(&key, make()));
}

}  // namespace weft::detail
