// SPDX-License-Identifier: MIT
// pieces.hpp: what the socket-level fuzz targets share. Their input is one
// control byte, then the bytes to deliver; the control byte's low four bits
// choose how those bytes are cut into pieces, so a parser sees a message in
// one read, a byte at a time, or anything between. The HTTP targets take a
// second byte, the repeat byte (write_repeated() below), so that a peer
// that never ends its message is an input too.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>
#include <weft/weft.hpp>

namespace weft::fuzz {

// split(bytes, seed) cuts bytes into pieces: one piece for seed 0, else
// pieces of 1 to 2^((seed - 1) % 8) bytes, their sizes drawn from `seed`.
inline std::vector<std::string_view> split(std::string_view bytes, unsigned seed) {
    std::vector<std::string_view> out;
    if (seed == 0) {
        out.push_back(bytes);
        return out;
    }
    std::minstd_rand rng(seed);
    const std::size_t most = std::size_t{1} << ((seed - 1) % 8);
    while (!bytes.empty()) {
        std::size_t n = std::min<std::size_t>(bytes.size(), 1 + rng() % most);
        out.push_back(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
    return out;
}

// write_pieces() writes bytes to s piece by piece, letting the loop run
// between pieces so the peer reads each one on its own. Stops at an error.
inline void write_pieces(net::tcp_stream& s, std::string_view bytes, unsigned seed, std::error_code& ec) {
    using namespace std::chrono_literals;
    for (std::string_view piece : split(bytes, seed)) {
        s.write_all(piece, 1s, ec);
        if (ec) return;
        this_fiber::sleep_for(1us);  // a real park: the loop polls, the reader wakes
    }
}

// The repeat byte n asks for a peer that never finishes: 0 sends the bytes
// once; n > 0 sends them, then their last n bytes (all of them when fewer)
// again and again, so a line, a chunk extension, a trailer section or a
// stream of interim responses that never ends is an input the fuzzer can
// make. A run pours at most repeat_cap bytes, for at most repeat_time: far
// past every limit of the code under test, so a buffer that keeps growing
// trips libFuzzer's -malloc_limit_mb (fuzz/run_one.sh sets it, and
// -rss_limit_mb, for these targets).
inline constexpr std::uint64_t repeat_cap = std::uint64_t{64} << 20;
inline constexpr std::chrono::milliseconds repeat_time{300};

// repeat_unit(bytes, n) is what repeat byte n repeats after `bytes`.
inline std::string_view repeat_unit(std::string_view bytes, unsigned n) {
    return n == 0 ? std::string_view() : bytes.substr(bytes.size() - std::min<std::size_t>(n, bytes.size()));
}

// write_repeated() writes `unit` to s again and again, in writes of about
// 64 KiB, until repeat_cap bytes went, repeat_time passed, or a write failed
// (the other side closed, reset, or stopped reading).
inline void write_repeated(net::tcp_stream& s, std::string_view unit, std::error_code& ec) {
    if (unit.empty()) return;
    std::string block;
    while (block.size() < 64 * 1024) block.append(unit);
    const auto until = clock::now() + repeat_time;
    for (std::uint64_t sent = 0; sent < repeat_cap && !ec;) {
        const auto left = until - clock::now();
        if (left <= left.zero()) return;
        sent += s.write_all(block, left, ec);
    }
}

}  // namespace weft::fuzz
