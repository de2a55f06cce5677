// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <vector>

namespace weft::detail {

// stack is one fiber stack: usable bytes [bottom, bottom + size), with a guard
// region of stack_pool::guard_size just below `bottom`.
struct stack {
    char* bottom = nullptr;
    std::size_t size = 0;
    std::size_t size_class = 0;  // the pool's index for its size
    char* top() const noexcept { return bottom + size; }
    explicit operator bool() const noexcept { return bottom != nullptr; }
};

// How guard pages are made.
//  - madvise: MADV_GUARD_INSTALL (Linux >= 6.13). The guard lives in the page
//    tables, so a region of a thousand stacks stays one mapping: a million
//    guarded fibers fit under vm.max_map_count.
//  - mprotect: PROT_NONE on the guard. Each stack splits its region into two
//    mappings, so vm.max_map_count (65530 by default) caps guarded stacks at
//    about 32k; past that take() throws errc::no_stack with the reason.
//  - none: no guard at all (an overflow corrupts the stack below).
enum class guard_mode { automatic, madvise, mprotect, none };

// stack_pool hands out stacks carved from large mmap'd regions, committed on
// touch (MAP_NORESERVE), and keeps returned ones for reuse: a pooled stack
// costs a vector pop, a fresh one an madvise. Owned by the scheduler; every
// region is unmapped when it is destroyed.
//
// The scheduler gives a fiber its stack when it first runs, not when it is
// spawned (reserve() at spawn, take_reserved() at the first switch), so that a
// fiber that starts after others ended runs on a stack they warmed: a batch
// of short fibers touches a few stacks, not one fresh page each.
class stack_pool {
public:
    static constexpr std::size_t guard_size = 16 * 1024;
    static constexpr std::size_t default_stack_size = 64 * 1024;

    explicit stack_pool(guard_mode mode = guard_mode::automatic);
    ~stack_pool();
    stack_pool(const stack_pool&) = delete;
    stack_pool& operator=(const stack_pool&) = delete;

    // take() returns a stack of at least `size` bytes (0: the default; ×4 under
    // ASan or TSan, whose frames are larger). Throws std::system_error(errc::no_stack).
    stack take(std::size_t size);
    // reserve() promises a stack of at least `size` bytes to one later
    // take_reserved() and returns its size class. Whatever can fail (a new
    // region, a guard under mprotect) happens here: throws
    // std::system_error(errc::no_stack).
    std::size_t reserve(std::size_t size);
    // take_reserved() keeps a promise of reserve(): the most recently given
    // back stack of the class, else a never-used slot.
    stack take_reserved(std::size_t size_class) noexcept;
    // give() returns a stack taken from this pool.
    void give(stack s) noexcept;
    // trim() gives the memory of all but the `keep` most recently returned
    // free stacks back to the kernel (MADV_DONTNEED; guards survive it), at
    // most `most` stacks per call.
    void trim(std::size_t keep, std::size_t most = static_cast<std::size_t>(-1)) noexcept;
    // trim_settled() is trim() for the stacks that have stayed free since the
    // last settle() (the loop settles once a period): a stack given back a
    // moment ago is likely taken again soon, and one that ends in a region
    // about to be unmapped costs less there than in an madvise of its own.
    void trim_settled(std::size_t keep, std::size_t most) noexcept;
    void settle() noexcept;

    guard_mode mode() const noexcept { return mode_; }
    std::size_t in_use() const noexcept { return in_use_; }

private:
    struct size_class {
        std::size_t size = 0;     // usable bytes per stack
        std::size_t stride = 0;   // guard + size
        std::vector<char*> free;  // bottoms of returned stacks, most recent last
        std::size_t trimmed = 0;  // free[0, trimmed) hold no memory
        // free[0, low_water) have stayed free since the last settle(), and
        // free[0, settled) since the one before it.
        std::size_t low_water = 0;
        std::size_t settled = 0;
        // Bottoms of slots carved for reserve() and never used; the low bit
        // set: its guard is still to be installed (madvise mode installs it
        // when the slot is first taken: nothing about it can fail but memory).
        std::vector<char*> fresh;
        std::size_t reserved = 0;  // promised by reserve(), not yet taken
        char* next = nullptr;      // next never-used slot in the newest region
        char* end = nullptr;
    };

    std::size_t class_for(std::size_t size);
    void trim_below(std::size_t keep, std::size_t most, bool settled_only) noexcept;
    void release(size_class& c, std::size_t from, std::size_t to) noexcept;
    char* carve(size_class& c, bool guard);
    bool install_guard(char* guard) noexcept;
    [[noreturn]] void throw_no_guard(int err);

    guard_mode mode_;
    std::vector<size_class> classes_;                           // few, looked up by size once per take()
    std::size_t default_class_ = static_cast<std::size_t>(-1);  // index of size 0, once known
    std::vector<std::pair<void*, std::size_t>> regions_;
    std::vector<unsigned> valgrind_ids_;  // stacks registered with Valgrind
    std::size_t in_use_ = 0;
};

std::size_t page_size() noexcept;

}  // namespace weft::detail
