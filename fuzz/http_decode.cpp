// SPDX-License-Identifier: MIT
// Fuzz target: the HTTP client's content decoder (lib/http/decode.cpp).
//
// Input: a control byte, an output-size byte, then a body. Control bits 0-2
// pick the Content-Encoding (below), 3 the mode, 4-7 how the body is cut
// into pieces (fuzz/pieces.hpp). The output-size byte n gives the room of
// each feed(): 1 to 16 bytes for n < 128, else 2^(n % 17) bytes.
// Mode 0 decodes the body as it is: any bytes must decode or fail with
// bad_content_encoding, feed() keeps its promises (it returns with `out`
// full or `in` used; at the end it makes output, finishes or throws), and
// the decoder's memory stays bounded. Mode 1 compresses the body with zlib
// first (bits 0-1: gzip, zlib-wrapped or raw deflate; bit 2: gzip as two
// members, else level 1 instead of 9) and the decoded bytes must be the body.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <weft/http/errors.hpp>

#include "http/decode.hpp"
#include "pieces.hpp"

namespace {

using weft::http::errc;
using weft::http::detail::decoder;

void check(bool ok) {
    if (!ok) std::abort();
}

constexpr const char* fields[8] = {"gzip",       "deflate",  "br",          "deflate, gzip",
                                   "gzip, gzip", "gzip, br", "br, deflate", "X-Gzip, identity"};

// At most this much is decoded from one input, as a caller's max_body_bytes
// would stop it; and at most this many calls, so 1-byte outputs stay quick.
constexpr std::uint64_t output_cap = std::uint64_t{64} << 20;
constexpr std::size_t call_cap = 1 << 18;
// A decoder's memory: zlib's state and window per layer, a 16 KiB buffer
// between layers, and Brotli's window (16 MiB at most) and tables.
constexpr std::size_t memory_cap = (std::size_t{17} << 20) + (std::size_t{1} << 20);

std::string deflate_with(std::string_view data, int window_bits, int level) {
    z_stream z{};
    check(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    check(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// decode() feeds body to d in the pieces `seed` cuts, into outputs of
// `room` bytes, and returns what it made (stopping at output_cap). Throws
// what the decoder throws.
std::string decode(decoder& d, std::string_view body, unsigned seed, std::size_t room, bool keep) {
    std::vector<char> out(room);
    std::string made;
    std::uint64_t total = 0;
    std::size_t calls = 0;
    auto take = [&](decoder::step s, std::size_t offered) {
        check(s.used <= offered && s.made <= out.size());
        check(d.memory() <= memory_cap);
        total += s.made;
        if (keep) made.append(out.data(), s.made);
        return total < output_cap && ++calls < call_cap;
    };
    for (std::string_view piece : weft::fuzz::split(body, seed)) {
        while (!piece.empty()) {
            decoder::step s = d.feed(piece, out, false);
            check(s.used == piece.size() || s.made == out.size());
            if (!take(s, piece.size())) return made;
            piece.remove_prefix(s.used);
        }
    }
    while (!d.finished()) {
        decoder::step s = d.feed({}, out, true);
        check(s.made > 0 || d.finished());
        if (!take(s, 0)) return made;
    }
    return made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned control = data[0], room_byte = data[1];
    const std::size_t room = room_byte < 128 ? 1 + room_byte % 16 : std::size_t{1} << (room_byte % 17);
    const unsigned seed = control >> 4;
    std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

    if (control & 8) {
        // Round trip through zlib.
        static constexpr int window_bits[4] = {16 + MAX_WBITS, MAX_WBITS, -MAX_WBITS, 16 + MAX_WBITS};
        const int bits = window_bits[control & 3];
        const bool two = bits > MAX_WBITS && (control & 4);
        std::string packed = two ? deflate_with(body.substr(0, body.size() / 2), bits, 6) +
                                       deflate_with(body.substr(body.size() / 2), bits, 6)
                                 : deflate_with(body, bits, (control & 4) ? 1 : 9);
        auto d = decoder::make(bits > MAX_WBITS ? "gzip" : "deflate");
        check(d != nullptr);
        check(decode(*d, packed, seed, room, true) == body);
        check(d->finished());
        return 0;
    }

    const std::string_view field = fields[control & 7];
    std::unique_ptr<decoder> d;
    try {
        d = decoder::make(field);
    } catch (const std::system_error& e) {
        // Only br, in a build without Brotli.
        check(e.code() == errc::unsupported_content_encoding && field.find("br") != field.npos);
        return 0;
    }
    check(d != nullptr);
    try {
        decode(*d, body, seed, room, false);
    } catch (const std::system_error& e) {
        check(e.code() == errc::bad_content_encoding);
        // A decoder that threw throws the same again.
        std::vector<char> out(16);
        try {
            d->feed({}, out, true);
            check(false);
        } catch (const std::system_error& again) {
            check(again.code() == e.code() && std::string_view(again.what()) == e.what());
        }
    }
    return 0;
}
