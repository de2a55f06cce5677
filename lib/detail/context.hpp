// SPDX-License-Identifier: MIT
// The only place a stack switch happens. weft drives Boost.Context's fcontext
// layer directly (make_fcontext, jump_fcontext for a fiber's first run,
// ontop_fcontext for every later one: the resumed side lands in a function
// whose ret pairs with the suspending side's call, so the return-stack buffer
// stays in step), the layer under boost::context::fiber: a fiber is never
// destroyed while suspended here, so fiber's forced-unwind destructor would
// only be a hazard, and the scheduler's own transfer protocol (below) needs
// exactly one jump per switch.
//
// Transfer protocol: a switch passes the suspending fiber's control block as
// the jump's data; the side that lands stores the returned fcontext into it.
// A finishing fiber passes its block with the low bit set: the side that lands
// releases that fiber's stack, which is safe only once nobody runs on it.
//
// ASan: Boost 1.74's fcontext has no sanitizer hooks, so every switch is
// announced with __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber.
// TSan: each fiber is a TSan fiber (__tsan_create_fiber at spawn,
// __tsan_switch_to_fiber just before every jump, __tsan_destroy_fiber once it
// has ended), so TSan keeps a shadow stack and a clock per fiber; switches
// synchronize (flags 0), since fibers of one thread never run at once.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace weft::detail {

using fcontext = boost::context::detail::fcontext_t;
using transfer = boost::context::detail::transfer_t;
using entry_fn = void (*)(transfer);

// make_context() prepares a context that starts entry() on the stack whose
// highest address is `top`.
inline fcontext make_context(void* top, std::size_t size, entry_fn entry) noexcept {
    return boost::context::detail::make_fcontext(top, size, entry);
}

// jump() suspends the caller and resumes `to`, passing `data`; it returns when
// someone resumes the caller, with that someone's context and data.
inline transfer jump(fcontext to, void* data) noexcept { return boost::context::detail::jump_fcontext(to, data); }

// jump_ontop() suspends the caller and resumes `to`, but first calls
// fn({caller's context, data}) on `to`'s stack; what fn returns is what the
// jump that suspended `to` returns. `to` must have been suspended by jump()
// or jump_ontop(), not be fresh from make_context().
//
// Why it is the scheduler's switch: jump_fcontext resumes with an indirect
// jmp, so the call that entered it is never matched by a ret, and the CPU's
// return-stack buffer, off by one from then on, mispredicts the next ret of
// the resumed code (the return from the switch): some 8 ns on every switch
// on AMD EPYC. ontop_fcontext reaches `fn` with the resumed side's return
// address on the stack, so fn's ret pairs with the suspending side's call,
// and every ret after it is predicted as well as plain calls and returns.
inline transfer jump_ontop(fcontext to, void* data, transfer (*fn)(transfer)) noexcept {
    return boost::context::detail::ontop_fcontext(to, data, fn);
}

// asan_switch records what ASan needs across one switch.
struct asan_switch {
#if defined(WEFT_ASAN)
    void* fake_stack = nullptr;
    // start() is called just before jumping to the stack [bottom, bottom+size);
    // `dying` destroys the caller's fake stack (it never comes back).
    void start(const void* bottom, std::size_t size, bool dying) noexcept {
        __sanitizer_start_switch_fiber(dying ? nullptr : &fake_stack, bottom, size);
    }
    // finish() is called just after landing; it reports the stack we came from.
    void finish(const void** from_bottom, std::size_t* from_size) noexcept {
        __sanitizer_finish_switch_fiber(fake_stack, from_bottom, from_size);
    }
#else
    void start(const void*, std::size_t, bool) noexcept {}
    void finish(const void**, std::size_t*) noexcept {}
#endif
};

// tsan_fiber is a fiber's identity for ThreadSanitizer; empty without it.
struct tsan_fiber {
#if defined(WEFT_TSAN)
    void* ctx = nullptr;
    // create() makes a new TSan fiber for a new weft fiber.
    void create() noexcept { ctx = __tsan_create_fiber(0); }
    // adopt_thread() stands for the thread's own stack (the loop's block).
    void adopt_thread() noexcept { ctx = __tsan_get_current_fiber(); }
    // enter() is called just before the jump that resumes this fiber.
    void enter() const noexcept { __tsan_switch_to_fiber(ctx, 0); }
    // destroy() is called once the fiber has ended, from another fiber.
    void destroy() noexcept {
        __tsan_destroy_fiber(ctx);
        ctx = nullptr;
    }
#else
    void create() noexcept {}
    void adopt_thread() noexcept {}
    void enter() const noexcept {}
    void destroy() noexcept {}
#endif
};

// asan_unpoison() clears stale poisoning from a reused stack.
inline void asan_unpoison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(WEFT_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

inline constexpr bool asan_enabled =
#if defined(WEFT_ASAN)
    true;
#else
    false;
#endif

inline constexpr bool tsan_enabled =
#if defined(WEFT_TSAN)
    true;
#else
    false;
#endif

}  // namespace weft::detail
