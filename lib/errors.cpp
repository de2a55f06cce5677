// SPDX-License-Identifier: MIT
// weft's error category, its exceptions, and the public edge
// (detail/sys_error.hpp): where error codes become exceptions.
#include "weft/errors.hpp"

#include <cstdio>

#include "detail/fiber.hpp"
#include "detail/sys_error.hpp"
#include "weft/detail/park.hpp"
#include "weft/timeout.hpp"

namespace weft {

namespace {

class weft_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::cancelled: return "fiber cancelled";
            case errc::timed_out: return "deadline passed";
            case errc::deadlock: return "deadlock: every fiber is parked";
            case errc::channel_closed: return "channel closed";
            case errc::no_scheduler: return "not inside weft::run";
            case errc::nested_run: return "weft::run called inside a running weft::run on this thread";
            case errc::no_stack: return "no fiber stack available";
        }
        return "unknown weft error " + std::to_string(ev);
    }
    // So that `ec == std::errc::timed_out` holds for weft's timeouts, and
    // `ec == std::errc::operation_canceled` for its cancellations.
    std::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<errc>(ev)) {
            case errc::cancelled: return std::errc::operation_canceled;
            case errc::timed_out: return std::errc::timed_out;
            default: return {ev, *this};
        }
    }
};

// A fiber that is told `cancelled` this many times has been swallowing it
// (a catch (...) around a blocking call, in a loop): say so, once. weft
// cannot end such a fiber; run() waits for it.
constexpr std::uint32_t swallowed_cancels_reported_at = 10'000;

void count_cancel() noexcept {
    detail::fiber* f = detail::current_fiber();
    if (!f || !f->task || ++f->task->cancels_thrown != swallowed_cancels_reported_at) return;
    const detail::task_base* t = f->task;
    std::string name = t->name.empty() ? std::string() : " '" + t->name + "'";
    std::fprintf(stderr,
                 "weft: fiber #%llu%s was cancelled and has been told so %u times, yet it keeps making blocking "
                 "calls: something catches weft::cancelled and carries on (a catch (...) around a blocking call in "
                 "a loop?). Let weft::cancelled propagate, or end the loop when "
                 "this_fiber::cancellation_requested() is true; run() cannot end while this fiber lives\n",
                 static_cast<unsigned long long>(t->id), name.c_str(), swallowed_cancels_reported_at);
}

std::string with_operation(std::string_view operation, const char* text) {
    std::string s(operation);
    return s.empty() ? text : s.append(": ").append(text);
}

}  // namespace

const std::error_category& error_category() noexcept {
    static const weft_category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

cancelled::cancelled() : cancelled(std::string_view()) {}
cancelled::cancelled(std::string_view operation) : text_(with_operation(operation, "fiber cancelled")) {
    count_cancel();
}

timeout_error::timeout_error() : std::system_error(make_error_code(errc::timed_out)) {}
// The whole text goes into std::system_error's own what(), so that a copy
// sliced to std::system_error still says it.
timeout_error::timeout_error(std::string_view operation, std::string_view detail)
    : std::system_error(make_error_code(errc::timed_out), [&] {
          std::string s = operation.empty() ? std::string("weft") : std::string(operation);
          if (!detail.empty()) s.append(" (").append(detail).append(")");
          return s;
      }()) {}

deadlock::deadlock(const std::string& report) : std::system_error(make_error_code(errc::deadlock), report) {}
channel_closed::channel_closed() : std::system_error(make_error_code(errc::channel_closed)) {}

namespace detail {

namespace {
bool scope_passed() noexcept { return scope_deadline() <= clock::now(); }
}  // namespace

std::string format_duration(std::chrono::nanoseconds d) {
    using namespace std::chrono;
    if (d == no_timeout) return "no limit";
    if (d == d.zero()) return "0 s";
    struct unit {
        nanoseconds size;
        const char* name;
    };
    for (unit u : {unit{hours(1), "h"}, unit{minutes(1), "min"}, unit{seconds(1), "s"}, unit{milliseconds(1), "ms"},
                   unit{microseconds(1), "us"}}) {
        if (d % u.size == d.zero()) return std::to_string(d / u.size) + " " + u.name;
    }
    return std::to_string(d.count()) + " ns";
}

std::string timeout_detail(std::chrono::nanoseconds timeout, std::string_view name) {
    if (timeout == no_timeout || scope_passed()) return "an enclosing with_timeout";
    return std::string(name) + " " + format_duration(timeout);
}

void throw_error(std::error_code ec, std::string_view what) {
    if (ec == make_error_code(errc::cancelled)) throw cancelled(what);
    if (ec == make_error_code(errc::timed_out))
        throw timeout_error(what, scope_passed() ? "an enclosing with_timeout" : "");
    if (ec == make_error_code(errc::no_scheduler))  // worded as throw_outside_fiber() words it
        throw std::system_error(ec, std::string(what) + " must be called inside a fiber");
    throw std::system_error(ec, std::string(what));
}

void throw_error(std::error_code ec, std::string_view what, std::chrono::nanoseconds timeout) {
    if (ec == make_error_code(errc::timed_out)) throw timeout_error(what, timeout_detail(timeout));
    throw_error(ec, what);
}

std::string exception_text(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (const cancelled& x) {
        return x.what();
    } catch (...) {
        return "an exception not derived from std::exception";
    }
}

}  // namespace detail

}  // namespace weft
