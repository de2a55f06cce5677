// SPDX-License-Identifier: MIT
// pieces.hpp: what the socket-level fuzz targets share. Their input is one
// control byte, then the bytes to deliver; the control byte's low four bits
// choose how those bytes are cut into pieces, so a parser sees a message in
// one read, a byte at a time, or anything between.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
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
inline void write_pieces(net::tcp_stream& s, std::string_view bytes, unsigned seed,
                         std::error_code& ec) {
    using namespace std::chrono_literals;
    for (std::string_view piece : split(bytes, seed)) {
        s.write_all(piece, 1s, ec);
        if (ec) return;
        this_fiber::sleep_for(1us);  // a real park: the loop polls, the reader wakes
    }
}

}  // namespace weft::fuzz
