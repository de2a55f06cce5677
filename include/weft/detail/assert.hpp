// SPDX-License-Identifier: MIT
// WEFT_ASSERT(condition, "invariant"): an invariant a comment states, checked.
// On whenever NDEBUG is not defined (meson leaves it undefined in every build
// type unless b_ndebug says otherwise) or WEFT_ASSERTIONS is (meson
// -Dassertions=true, for an NDEBUG build of the library). A broken one
// aborts with its file:line, the condition and the invariant in words: it
// is a bug in weft, or memory corrupted around it. Every check is a compare
// or two on data the code at hand already has in cache. Internal: public
// templates (wait_list) use it; users do not.
#pragma once

namespace weft::detail {

// assert_failed() reports a broken invariant on stderr and aborts.
// Defined in lib/detail/scheduler.cpp.
[[noreturn, gnu::cold]] void assert_failed(const char* condition, const char* invariant, const char* file,
                                           int line) noexcept;

}  // namespace weft::detail

#if !defined(NDEBUG) || defined(WEFT_ASSERTIONS)
#define WEFT_ASSERTIONS_ON 1
#define WEFT_ASSERT(condition, invariant)              \
    (__builtin_expect(static_cast<bool>(condition), 1) \
         ? static_cast<void>(0)                        \
         : ::weft::detail::assert_failed(#condition, invariant, __FILE__, __LINE__))
#else
#define WEFT_ASSERTIONS_ON 0
// Off: the condition is still compiled (so it cannot rot), never evaluated.
#define WEFT_ASSERT(condition, invariant) static_cast<void>(sizeof(static_cast<bool>(condition)))
#endif
