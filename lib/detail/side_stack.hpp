// SPDX-License-Identifier: MIT
#pragma once

#include <exception>
#include <utility>

#include "detail/context.hpp"
#include "detail/stack_pool.hpp"

namespace weft::detail {

// side_stack is a stack of the thread's own, shared by all its fibers, for
// calls that are deep but never switch: Beast's header parser keeps a 4 KiB
// buffer (for obs-folded lines) in its frame, which would otherwise take every
// connection's fiber a page of stack deeper — a page fault and 4 KiB of
// memory for each of 10,000 concurrent GETs, each idle keep-alive connection.
// On the side stack those frames stay on a few warm pages.
//
// A call is two plain context jumps (the side context never ends: it loops,
// taking one call per jump). Whatever the call throws comes back on the
// caller's stack. The call must not switch fibers (park, yield, I/O): another
// fiber's call would overwrite its frames; the scheduler checks this in
// builds with assertions.
class side_stack {
public:
    side_stack() = default;
    side_stack(const side_stack&) = delete;
    side_stack& operator=(const side_stack&) = delete;

    // call() runs f() on the side stack, taking it from `pool` first time;
    // returns false, having run nothing, when no stack can be had or a side
    // call is already running (then the caller runs f itself).
    template <class F>
    bool call(F& f, stack_pool& pool) {
        request r{[](void* p) { (*static_cast<F*>(p))(); }, &f, {}};
        if (!enter(r, pool)) return false;
        if (r.error) [[unlikely]]
            std::rethrow_exception(std::move(r.error));
        return true;
    }
    bool busy() const noexcept { return busy_; }
    // release() gives the stack back to `pool` (the pool that gave it).
    void release(stack_pool& pool) noexcept;

private:
    struct request {
        void (*fn)(void*);
        void* arg;
        std::exception_ptr error;
        side_stack* owner = nullptr;
    };
    bool enter(request& r, stack_pool& pool) noexcept;
    static void entry(transfer t);

    stack stk_;
    fcontext ctx_ = nullptr;  // the side context, waiting for its next call
    bool busy_ = false;
    asan_switch asan_;  // the side context's fake stack (ASan)
};

}  // namespace weft::detail
