// SPDX-License-Identifier: MIT
// event: a flag set once. The flag is sticky, so a woken waiter needs no
// hand-over: it finds the flag set, or it timed out.
#include "weft/event.hpp"

#include "detail/scheduler.hpp"

namespace weft {

void event::set() noexcept {
    set_ = true;
    waiters_.wake_all();
}

bool event::wait_until(deadline at) {
    if (!detail::current_fiber()) detail::throw_outside_fiber("weft::event::wait");
    while (!set_) {
        detail::waiter w;
        waiters_.push_back(w);
        if (detail::park_or_throw({"event wait", this}, at, "weft::event::wait") == detail::wake_reason::timed_out)
            return set_;
    }
    return true;
}

}  // namespace weft
