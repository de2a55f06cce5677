// SPDX-License-Identifier: MIT
#include "weft/errors.hpp"

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

}  // namespace

const std::error_category& error_category() noexcept {
    static const weft_category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

namespace detail {
void throw_error(std::error_code ec, const char* what) {
    if (ec == make_error_code(errc::cancelled)) throw cancelled();
    if (ec == make_error_code(errc::timed_out)) throw timeout_error();
    throw std::system_error(ec, what);
}
}  // namespace detail

cancelled::cancelled() : std::system_error(make_error_code(errc::cancelled)) {}
timeout_error::timeout_error() : std::system_error(make_error_code(errc::timed_out)) {}
deadlock::deadlock(const std::string& report) : std::system_error(make_error_code(errc::deadlock), report) {}
channel_closed::channel_closed() : std::system_error(make_error_code(errc::channel_closed)) {}

}  // namespace weft
