// SPDX-License-Identifier: MIT
// latch: a counter that only goes down. Zero is sticky, so a woken waiter
// needs no hand-over: it finds zero, or it timed out.
#include "weft/latch.hpp"

#include <system_error>

#include "detail/scheduler.hpp"

namespace weft {

latch::latch(std::ptrdiff_t expected) : count_(expected) {
    if (expected < 0)
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "weft::latch: negative expected count");
}

void latch::count_down(std::ptrdiff_t n) {
    if (n < 0 || n > count_)
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "weft::latch::count_down: n is negative or larger than the counter");
    count_ -= n;
    if (count_ == 0) waiters_.wake_all();
}

bool latch::wait_until(deadline at) {
    if (!detail::current_fiber()) detail::throw_outside_fiber("weft::latch::wait");
    while (count_ > 0) {
        detail::waiter w;
        waiters_.push_back(w);
        if (detail::park_or_throw({"latch wait", this}, at, "weft::latch::wait") == detail::wake_reason::timed_out)
            return count_ == 0;
    }
    return true;
}

}  // namespace weft
