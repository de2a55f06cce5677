// SPDX-License-Identifier: MIT
// Invariants:
//  - every stack handed out lies inside one of regions_, preceded by its guard;
//  - a slot's guard is installed once, before the slot is first handed out,
//    and stays for the pool's lifetime (MADV_DONTNEED in trim() keeps guards);
//  - in_use_ counts stacks taken and not yet given back;
//  - per class, free.size() + fresh.size() >= reserved: every promise of
//    reserve() can be kept without a call that may fail.
#include "detail/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "detail/context.hpp"
#include "weft/errors.hpp"

#if defined(WEFT_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13; Debian 12's headers predate it
#endif

namespace weft::detail {

std::size_t page_size() noexcept {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

namespace {

constexpr std::size_t region_bytes = 64 * 1024 * 1024;  // per mmap, rounded to whole stacks
constexpr std::size_t min_slots = 16;

[[noreturn]] void throw_no_stack(const std::string& why) {
    throw std::system_error(make_error_code(errc::no_stack), "weft::spawn: " + why);
}

}  // namespace

stack_pool::stack_pool(guard_mode mode) : mode_(mode) {}

stack_pool::~stack_pool() {
#if defined(WEFT_HAVE_VALGRIND)
    for (unsigned id : valgrind_ids_) VALGRIND_STACK_DEREGISTER(id);
#endif
    // ASan keeps a region's shadow past munmap, so a later pool's stack at
    // the same address would start with the stale redzones of these stacks'
    // last frames (those of a fiber's end, which never return): clear them.
    // Only the top of each used stack, where those frames are: clearing whole
    // regions would commit their untouched shadow (GBs at a million fibers).
    if (asan_enabled)
        for (auto& c : classes_)
            for (char* bottom : c.free) {
                const std::size_t top_part = std::min(c.size, std::size_t{32 * 1024});
                asan_unpoison(bottom + c.size - top_part, top_part);
            }
    for (auto [p, n] : regions_) ::munmap(p, n);
}

std::size_t stack_pool::class_for(std::size_t size) {
    if (size == 0 && default_class_ < classes_.size()) return default_class_;
    const bool is_default = size == 0;
    if (is_default) size = asan_enabled || tsan_enabled ? 4 * default_stack_size : default_stack_size;
    const std::size_t page = page_size();
    size = (size + page - 1) / page * page;
    std::size_t i = 0;
    while (i < classes_.size() && classes_[i].size != size) ++i;
    if (i == classes_.size()) {
        auto& c = classes_.emplace_back();
        c.size = size;
        c.stride = size + (mode_ == guard_mode::none ? 0 : guard_size);
    }
    if (is_default) default_class_ = i;
    return i;
}

bool stack_pool::install_guard(char* guard) noexcept {
    if (mode_ == guard_mode::automatic || mode_ == guard_mode::madvise) {
        if (::madvise(guard, guard_size, MADV_GUARD_INSTALL) == 0) {
            mode_ = guard_mode::madvise;
            return true;
        }
        if (errno != EINVAL || mode_ == guard_mode::madvise) return false;
        mode_ = guard_mode::mprotect;  // an older kernel: fall back for good
    }
    if (mode_ == guard_mode::mprotect) return ::mprotect(guard, guard_size, PROT_NONE) == 0;
    return true;
}

void stack_pool::throw_no_guard(int err) {
    if (err == ENOMEM)
        throw_no_stack(
            "cannot install a stack guard page: the process reached "
            "vm.max_map_count (each mprotect-guarded stack costs two "
            "mappings; Linux >= 6.13 guards without them)");
    throw_no_stack("cannot install a stack guard page: " + std::generic_category().message(err));
}

// carve() cuts the next slot of c's newest region (mapping one when it is
// full) and returns its bottom; with `guard`, its guard installed, else the
// bottom tagged with the low bit (the guard is owed).
char* stack_pool::carve(size_class& c, bool guard) {
    if (c.next == c.end) {
        std::size_t slots = std::max(min_slots, region_bytes / c.stride);
        std::size_t bytes = slots * c.stride;
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            throw_no_stack("cannot map " + std::to_string(bytes >> 20) +
                           " MiB for fiber stacks: " + std::generic_category().message(errno));
        regions_.emplace_back(p, bytes);
        c.next = static_cast<char*>(p);
        c.end = c.next + bytes;
    }
    char* slot = c.next;
    if (guard && mode_ != guard_mode::none && !install_guard(slot)) throw_no_guard(errno);
    c.next += c.stride;
    char* bottom = slot + (c.stride - c.size);
#if defined(WEFT_HAVE_VALGRIND)
    if (RUNNING_ON_VALGRIND) valgrind_ids_.push_back(VALGRIND_STACK_REGISTER(bottom, bottom + c.size));
#endif
    return guard ? bottom : bottom + 1;
}

std::size_t stack_pool::reserve(std::size_t size) {
    const std::size_t index = class_for(size);
    size_class& c = classes_[index];
    if (c.free.size() + c.fresh.size() <= c.reserved) {
        // Only MADV_GUARD_INSTALL, once known to work, can be left for later.
        c.fresh.push_back(carve(c, mode_ != guard_mode::madvise));
    }
    ++c.reserved;
    return index;
}

stack stack_pool::take_reserved(std::size_t index) noexcept {
    size_class& c = classes_[index];
    char* bottom;
    if (!c.free.empty()) {
        bottom = c.free.back();
        c.free.pop_back();
        c.trimmed = std::min(c.trimmed, c.free.size());
        c.low_water = std::min(c.low_water, c.free.size());
        c.settled = std::min(c.settled, c.free.size());
        asan_unpoison(bottom, c.size);  // the last fiber's frames
    } else {
        bottom = c.fresh.back();
        c.fresh.pop_back();
        if (reinterpret_cast<std::uintptr_t>(bottom) & 1) {
            bottom -= 1;
            if (!install_guard(bottom - (c.stride - c.size))) {
                // The kernel could not allocate a page table: the stack's
                // first touch would not have fared better.
                std::fprintf(stderr, "weft: cannot install a fiber stack's guard page: %s; aborting\n",
                             std::generic_category().message(errno).c_str());
                std::abort();
            }
        }
    }
    --c.reserved;
    ++in_use_;
    return {bottom, c.size, index};
}

stack stack_pool::take(std::size_t size) { return take_reserved(reserve(size)); }

void stack_pool::give(stack s) noexcept {
    classes_[s.size_class].free.push_back(s.bottom);  // grows to the peak; a failure here is not survivable
    --in_use_;
}

void stack_pool::trim(std::size_t keep, std::size_t most) noexcept { trim_below(keep, most, false); }

void stack_pool::trim_settled(std::size_t keep, std::size_t most) noexcept { trim_below(keep, most, true); }

void stack_pool::settle() noexcept {
    for (auto& c : classes_) {
        c.settled = c.low_water;
        c.low_water = c.free.size();
    }
}

void stack_pool::trim_below(std::size_t keep, std::size_t most, bool settled_only) noexcept {
    for (auto& c : classes_) {
        if (c.free.size() <= keep) continue;
        std::size_t cold = c.free.size() - keep;
        if (settled_only) cold = std::min(cold, c.settled);
        if (cold > c.trimmed && cold - c.trimmed > most) cold = c.trimmed + most;
        if (cold > c.trimmed) release(c, c.trimmed, cold);
        most -= cold > c.trimmed ? cold - c.trimmed : 0;
        c.trimmed = std::max(c.trimmed, cold);
    }
}

// release() gives the memory of the free stacks c.free[from, to) back to the
// kernel. Stacks that lie next to each other in their region go in one
// madvise, guards between them included (MADV_DONTNEED keeps guards; slots
// a stride apart have no hole between them, even across two regions): fibers
// that started together mostly end together, so a batch is a few calls, not
// one per stack, each with its TLB flush.
void stack_pool::release(size_class& c, std::size_t from, std::size_t to) noexcept {
    constexpr std::size_t batch = 64;
    char* bottoms[batch];
    while (from < to) {
        const std::size_t n = std::min(batch, to - from);
        std::copy_n(c.free.begin() + static_cast<std::ptrdiff_t>(from), n, bottoms);
        std::sort(bottoms, bottoms + n);
        for (std::size_t i = 0; i < n;) {
            std::size_t j = i + 1;
            while (j < n && bottoms[j] == bottoms[j - 1] + c.stride) ++j;
            ::madvise(bottoms[i], static_cast<std::size_t>(bottoms[j - 1] - bottoms[i]) + c.size, MADV_DONTNEED);
            i = j;
        }
        from += n;
    }
}

}  // namespace weft::detail
