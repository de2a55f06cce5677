// SPDX-License-Identifier: MIT
// Invariants:
//  - ctx_ is null until the first call, then the side context suspended in
//    entry()'s loop, between two calls;
//  - busy_ is true exactly while a call runs on the side stack.
#include "detail/side_stack.hpp"

#include <cstddef>
#include <system_error>

namespace weft::detail {

void side_stack::entry(transfer t) {
    for (;;) {
        auto* r = static_cast<request*>(t.data);
        side_stack& self = *r->owner;
        const void* from_bottom = nullptr;
        std::size_t from_size = 0;
        self.asan_.finish(&from_bottom, &from_size);
        try {
            r->fn(r->arg);
        } catch (...) {
            r->error = std::current_exception();
        }
        self.asan_.start(from_bottom, from_size, false);
        t = jump(t.fctx, nullptr);
    }
}

bool side_stack::enter(request& r, stack_pool& pool) noexcept {
    if (busy_) return false;
    if (!stk_) {
        try {
            stk_ = pool.take(0);
        } catch (const std::system_error&) {
            return false;  // no memory for it: the caller's own stack will do
        }
        ctx_ = make_context(stk_.top(), stk_.size, &entry);
    }
    r.owner = this;
    busy_ = true;
    asan_switch caller;
    caller.start(stk_.bottom, stk_.size, false);
    ctx_ = jump(ctx_, &r).fctx;
    caller.finish(nullptr, nullptr);
    busy_ = false;
    return true;
}

void side_stack::release(stack_pool& pool) noexcept {
    if (!stk_) return;
    pool.give(stk_);
    stk_ = {};
    ctx_ = nullptr;
}

}  // namespace weft::detail
