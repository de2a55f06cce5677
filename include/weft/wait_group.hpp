// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>

#include "weft/detail/wait_list.hpp"
#include "weft/timeout.hpp"

namespace weft {

// wait_group waits for a set of fibers to finish, as Go's sync.WaitGroup does:
// add(n) before starting n pieces of work, done() as each ends, wait() until
// the counter is zero.
//
// It belongs to the fibers of one weft::run(); it is neither copyable nor
// movable, and destroying it while fibers wait on it is a bug.
class wait_group {
public:
    wait_group() noexcept = default;
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;

    // add(n) adds n (which may be negative) to the counter; when it reaches
    // zero every waiting fiber is woken. Throws std::system_error
    // (invalid_argument), leaving the counter as it was, if it would go below 0.
    void add(std::ptrdiff_t n = 1);

    // done() is add(-1).
    void done() { add(-1); }

    // count() is the counter's value.
    std::ptrdiff_t count() const noexcept { return count_; }

    // wait() parks the fiber until the counter is zero; returns at once if it
    // is. A waiter woken by the counter reaching zero returns even if add()
    // raised it again before the waiter ran. Throws weft::cancelled,
    // weft::timeout_error (an enclosing with_timeout()), and
    // std::system_error(errc::no_scheduler) outside a fiber — every time,
    // even at zero. (add() and done() never park and work anywhere.)
    void wait() { wait_impl(never, "weft::wait_group::wait"); }

    // wait_until(at) is wait() that gives up at `at`; returns false then, true
    // once the counter reached zero.
    bool wait_until(deadline at);

    // wait_for(d) is wait_until(now + d).
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) {
        return wait_impl(deadline_after(d), "weft::wait_group::wait_for");
    }

private:
    bool wait_impl(deadline at, const char* op);  // `op` is the call the user made, for errors

    std::ptrdiff_t count_ = 0;
    detail::wait_list waiters_;  // fibers parked in wait(), FIFO
};

}  // namespace weft
