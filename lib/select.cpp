// SPDX-License-Identifier: MIT
// select's out-of-line half: the fiber check and the random order of cases.
#include "weft/select.hpp"

#include <cstdint>

#include "detail/scheduler.hpp"

namespace weft::detail {

namespace {

// splitmix64: small, fast, and good enough to pick among a handful of cases.
// Seeded per thread from its own address and the clock, so runs differ, as
// Go's select order does.
std::uint64_t next_random() noexcept {
    thread_local std::uint64_t state = 0;
    if (state == 0) {
        state = static_cast<std::uint64_t>(clock::now().time_since_epoch().count()) ^
                reinterpret_cast<std::uintptr_t>(&state) ^ 0x9e3779b97f4a7c15ULL;
    }
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// below(n) is uniform in [0, n) (Lemire's multiply; the bias for n < 256 is
// below 2^-24).
std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(((next_random() >> 32) * n) >> 32); }

}  // namespace

void select_begin() {
    if (!current_fiber()) throw_outside_fiber("weft::select");
}

void select_shuffle(std::uint8_t* order, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint8_t>(i);
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates
        std::size_t j = below(i);
        std::uint8_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

}  // namespace weft::detail
