// SPDX-License-Identifier: MIT
// this_fiber:: calls and the park/unpark door that public templates use.
#include "weft/this_fiber.hpp"

#include "detail/scheduler.hpp"
#include "weft/detail/park.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {

void throw_outside_fiber(const char* what) {
    throw std::system_error(make_error_code(errc::no_scheduler), std::string(what) + " must be called inside a fiber");
}

namespace {

scheduler& require_scheduler(const char* what) {
    scheduler* s = scheduler::current();
    if (!s || !s->running()) throw_outside_fiber(what);
    return *s;
}
}  // namespace

fiber* current_fiber() noexcept {
    scheduler* s = scheduler::current();
    return s ? s->running() : nullptr;
}

wake_reason park(wait_desc what, deadline until) {
    return require_scheduler("weft: a blocking call").park(what, until, true);
}

wake_reason throw_if_interrupted(wake_reason r, const char* op) {
    if (r == wake_reason::cancelled) {
        if (fiber* f = current_fiber()) request_stop(f->task);  // a cancel that came by cancel_all()
        throw cancelled(op ? op : "");
    }
    if (r == wake_reason::scope_expired) throw timeout_error(op ? op : "", "an enclosing with_timeout");
    return r;
}

wake_reason park_or_throw(wait_desc what, deadline until, const char* op) {
    return throw_if_interrupted(park(what, until), op);
}

void require_fiber(const char* what) {
    if (!current_fiber()) [[unlikely]]
        throw_outside_fiber(what);
}

void sleep(deadline t, const char* what) {
    require_scheduler(what);
    while (park_or_throw({"sleep"}, t, what) != wake_reason::timed_out) {
        // only the timer ends a sleep; nobody else unparks a sleeper
    }
}

bool unpark(fiber* f) noexcept { return scheduler::current()->unpark(f, wake_reason::ready); }

deadline scope_deadline() noexcept {
    fiber* f = current_fiber();
    return f ? f->scope : never;
}

deadline set_scope_deadline(deadline d) noexcept {
    fiber* f = current_fiber();
    return f ? std::exchange(f->scope, d) : never;
}

deadline enter_scope(deadline d, const char* what) {
    fiber* f = current_fiber();
    if (!f) throw_outside_fiber(what);
    return std::exchange(f->scope, std::min(d, f->scope));
}

}  // namespace detail

namespace this_fiber {

void yield() {
    detail::scheduler* s = detail::scheduler::current();
    if (!s) detail::throw_outside_fiber("weft::this_fiber::yield");
    s->yield();  // refuses the loop itself, and throws if cancelled
}

void sleep_until(deadline t) { detail::sleep(t, "weft::this_fiber::sleep_until"); }

std::uint64_t id() noexcept {
    detail::fiber* f = detail::current_fiber();
    return f ? f->task->id : 0;
}

std::string_view name() noexcept {
    detail::fiber* f = detail::current_fiber();
    return f ? std::string_view(f->task->name) : std::string_view();
}

bool cancellation_requested() noexcept {
    detail::fiber* f = detail::current_fiber();
    if (!f || !f->cancel_requested) return false;
    detail::request_stop(f->task);
    return true;
}

std::stop_token stop_token() {
    detail::fiber* f = detail::current_fiber();
    if (!f) return {};
    std::stop_source& src = f->task->stop;
    if (!src.stop_possible()) src = std::stop_source();
    if (f->cancel_requested) src.request_stop();
    return src.get_token();
}

}  // namespace this_fiber
}  // namespace weft
