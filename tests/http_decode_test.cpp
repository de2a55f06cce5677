// SPDX-License-Identifier: MIT
// http::detail::decoder (lib/http/decode.cpp): bodies compressed here, at
// test time, with zlib (gzip, zlib-wrapped and raw deflate) and, when weft
// decodes br, with Brotli's encoder; decoded through pieces of every size.
#include <zlib.h>
#ifdef WEFT_TEST_BROTLI
#include <brotli/encode.h>
#endif
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/errors.hpp>

#include "http/decode.hpp"
#include "support/error_of.hpp"

using weft::http::errc;
using weft::http::detail::decoder;
using weft::test::error_of;

namespace {

// compress(data, window_bits, level) is data through zlib's deflate: window
// bits 15 wraps it in zlib's header (RFC 1950), -15 leaves it raw (RFC 1951),
// 31 makes a gzip member (RFC 1952).
std::string compress(std::string_view data, int window_bits, int level = 6) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string gzip(std::string_view data) { return compress(data, 16 + MAX_WBITS); }
std::string zlib_wrapped(std::string_view data) { return compress(data, MAX_WBITS); }
std::string raw_deflate(std::string_view data) { return compress(data, -MAX_WBITS); }

#ifdef WEFT_TEST_BROTLI
std::string brotli(std::string_view data) {
    std::string out(BrotliEncoderMaxCompressedSize(data.size()), '\0');
    std::size_t size = out.size();
    REQUIRE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                                  reinterpret_cast<const uint8_t*>(data.data()), &size,
                                  reinterpret_cast<uint8_t*>(out.data())) == BROTLI_TRUE);
    out.resize(size);
    return out;
}
#endif

// encode(coding, data) is data through one coding, by name.
std::string encode(std::string_view coding, std::string_view data) {
    if (coding == "gzip") return gzip(data);
    if (coding == "deflate") return zlib_wrapped(data);
    if (coding == "raw deflate") return raw_deflate(data);
#ifdef WEFT_TEST_BROTLI
    if (coding == "br") return brotli(data);
#endif
    FAIL("no encoder for " << coding);
    return {};
}

// The codings this build can make test data for and decode, as the
// Content-Encoding value a server sends (raw deflate is sent as "deflate").
std::vector<std::string> codings() {
    std::vector<std::string> all = {"gzip", "deflate", "raw deflate"};
#ifdef WEFT_TEST_BROTLI
    all.push_back("br");
#endif
    return all;
}

std::string field_of(std::string_view coding) { return coding == "raw deflate" ? "deflate" : std::string(coding); }

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

// text(n): n bytes of words, compressible as a page of HTML is.
std::string text(std::size_t n) {
    static const char* words[] = {
        "<div class=\"item\">", "weft ", "fiber ", "reactor ", "the ", "of ", "decode ", "\n", "</div>",
        "content-encoding ",    "gzip ", "42 "};
    std::mt19937 rng(7);
    std::string s;
    while (s.size() < n) s += words[rng() % std::size(words)];
    s.resize(n);
    return s;
}

// decode(field, body, in_piece, out_piece) decodes body offered in pieces of
// in_piece bytes into an output buffer of out_piece bytes (0: sizes drawn
// at random, 1 to 8 KiB), checking feed()'s promise on every call: it
// returns once `out` is full or all of `in` is used.
std::string decode(std::string_view field, std::string_view body, std::size_t in_piece, std::size_t out_piece) {
    auto d = decoder::make(field);
    REQUIRE(d != nullptr);
    std::mt19937 rng(static_cast<unsigned>(body.size()));
    auto size = [&](std::size_t piece) { return piece != 0 ? piece : 1 + rng() % 8192; };
    std::string result;
    std::vector<char> out(std::max<std::size_t>(out_piece, 8192));
    std::size_t at = 0;
    while (at < body.size()) {
        std::string_view piece = body.substr(at, size(in_piece));
        std::span<char> room(out.data(), size(out_piece));
        decoder::step s = d->feed(piece, room, false);
        REQUIRE(s.used <= piece.size());
        REQUIRE(s.made <= room.size());
        REQUIRE((s.used == piece.size() || s.made == room.size()));
        result.append(out.data(), s.made);
        at += s.used;
    }
    while (!d->finished()) {
        std::span<char> room(out.data(), size(out_piece));
        decoder::step s = d->feed({}, room, true);
        REQUIRE((s.made > 0 || d->finished()));
        result.append(out.data(), s.made);
    }
    // Finished stays finished: the end again makes nothing.
    decoder::step again = d->feed({}, std::span<char>(out), true);
    CHECK(again.made == 0);
    return result;
}

// failure(field, body, in_piece) is the error decoding body throws (its
// what()), offered in pieces of in_piece bytes, with 4 KiB of output room.
std::system_error failure(std::string_view field, std::string_view body, std::size_t in_piece = 4096) {
    return error_of([&] {
        auto d = decoder::make(field);
        REQUIRE(d != nullptr);
        std::vector<char> out(4096);
        std::size_t at = 0;
        while (at < body.size()) at += d->feed(body.substr(at, in_piece), out, false).used;
        for (int i = 0; i < 1'000'000 && !d->finished(); ++i) d->feed({}, out, true);
    });
}

// is_bad(e, what): e is bad_content_encoding and its message says `what`.
void check_bad(const std::system_error& e, std::string_view what) {
    CHECK(e.code() == errc::bad_content_encoding);
    CHECK_THAT(e.what(), Catch::Contains(std::string(what)));
}

std::size_t resident_bytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("accept_encoding names what this build decodes", "[decode]") {
#ifdef WEFT_TEST_BROTLI
    CHECK(weft::http::detail::accept_encoding() == "gzip, deflate, br");
#else
    CHECK(weft::http::detail::accept_encoding() == "gzip, deflate");
#endif
}

TEST_CASE("make() reads a Content-Encoding field", "[decode]"){SECTION("nothing to decode"){
    for (const char* field
         : {"", "identity", "IDENTITY", " , identity ,, ", "\t"}) CHECK(decoder::make(field) == nullptr);
}
SECTION("codings by any case, in lists, with whitespace") {
    for (const char* field : {"gzip", "x-gzip", "GZip", "X-GZIP", "deflate", "Deflate", " gzip ", "identity, gzip",
                              "deflate, gzip", "gzip,gzip,gzip,gzip", "\tgzip\t,"})
        CHECK(decoder::make(field) != nullptr);
}
SECTION("a coding this build cannot decode names it") {
    auto [field, named] = GENERATE(table<const char*, const char*>({
        {"compress", "compress"},
        {"x-compress", "x-compress"},
        {"zstd", "zstd"},
        {"gzip, zstd", "zstd"},
        {"gzip;q=1", "gzip;q=1"},
        {"gzip deflate", "gzip deflate"},
        {"gzip, gzip, gzip, gzip, gzip", "more than 4 content codings"},
    }));
    auto e = error_of([&] { decoder::make(field); });
    CHECK(e.code() == errc::unsupported_content_encoding);
    CHECK_THAT(e.what(), Catch::StartsWith(named));
}
SECTION("a long name is cut short in the message") {
    auto e = error_of([&] { decoder::make(std::string(10'000, 'z')); });
    CHECK(e.code() == errc::unsupported_content_encoding);
    CHECK(std::string_view(e.what()).size() < 200);
}
#ifndef WEFT_TEST_BROTLI
SECTION("br without Brotli") {
    auto e = error_of([&] { decoder::make("br"); });
    CHECK(e.code() == errc::unsupported_content_encoding);
    CHECK_THAT(e.what(), Catch::StartsWith("br"));
}
#endif
}

TEST_CASE("round trips through pieces of every size", "[decode]") {
    static const std::string random_data = random_bytes(3 << 20, 1);
    static const std::string text_data = text(4 << 20);
    std::string coding = GENERATE(from_range(codings()));
    auto [in_piece, out_piece] = GENERATE(table<std::size_t, std::size_t>(
        {{1, 1}, {1, 65536}, {65536, 1}, {7, 13}, {0, 0}, {65536, 65536}, {1 << 20, 1 << 20}}));
    bool tiny = std::min(in_piece, out_piece) == 1;
    for (const std::string* data : {&random_data, &text_data}) {
        // A byte at a time, a few hundred KiB are enough (and fast enough).
        std::string_view original = tiny ? std::string_view(*data).substr(0, 256 << 10) : std::string_view(*data);
        std::string body = encode(coding, original);
        INFO(coding << ", " << original.size() << " bytes as " << body.size() << ", pieces in " << in_piece << " out "
                    << out_piece);
        CHECK(decode(field_of(coding), body, in_piece, out_piece) == original);
    }
}

TEST_CASE("a list of codings is undone in reverse", "[decode]") {
    std::string original = text(1 << 20) + random_bytes(256 << 10, 2);
    std::vector<std::vector<std::string>> lists = {
        {"gzip", "gzip"}, {"deflate", "gzip"}, {"gzip", "raw deflate"}, {"gzip", "deflate", "gzip", "deflate"}};
#ifdef WEFT_TEST_BROTLI
    lists.push_back({"gzip", "br"});
    lists.push_back({"br", "deflate"});
#endif
    auto [in_piece, out_piece] = GENERATE(table<std::size_t, std::size_t>({{1, 1}, {0, 0}, {65536, 65536}}));
    for (const auto& list : lists) {
        std::string body = original;
        std::string field;
        for (const auto& coding : list) {
            body = encode(coding, body);
            field += (field.empty() ? "" : ", ") + field_of(coding);
        }
        std::string_view expected = original;
        if (in_piece == 1) {
            // A byte at a time, a shorter body.
            expected = std::string_view(original).substr(0, 128 << 10);
            body = std::string(expected);
            for (const auto& coding : list) body = encode(coding, body);
        }
        INFO(field << ", pieces in " << in_piece << " out " << out_piece);
        CHECK(decode(field, body, in_piece, out_piece) == expected);
    }
}

TEST_CASE("gzip members one after another decode as one body", "[decode]") {
    std::string a = text(100'000), b = random_bytes(50'000, 3), c = text(1000);
    std::string body = gzip(a) + gzip(b) + gzip("") + gzip(c);
    std::size_t piece = GENERATE(1, 2, 3, 4096, 1 << 20);
    CHECK(decode("gzip", body, piece, piece) == a + b + c);
    CHECK(decode("x-gzip", body, piece, 0) == a + b + c);
}

TEST_CASE("an empty body decodes to nothing", "[decode]") {
    std::string coding = GENERATE(from_range(codings()));
    CHECK(decode(field_of(coding), "", 1, 1).empty());
    CHECK(decode(field_of(coding), encode(coding, ""), 1, 1).empty());
}

TEST_CASE("the whole body with at_end in one call", "[decode]") {
    std::string original = text(300'000);
    std::string body = gzip(original);
    auto d = decoder::make("gzip");
    std::string result;
    std::vector<char> out(1000);
    std::size_t at = 0;
    while (!d->finished()) {
        decoder::step s = d->feed(std::string_view(body).substr(at), out, true);
        REQUIRE((s.made > 0 || d->finished()));
        at += s.used;
        result.append(out.data(), s.made);
    }
    CHECK(at == body.size());
    CHECK(result == original);
}

TEST_CASE("deflate is zlib-wrapped or raw, told apart by its first bytes", "[decode]") {
    // Raw deflate streams whose first bytes come close to a zlib header:
    // stored blocks (first byte 0x00 or 0x01) and fixed-Huffman ones.
    for (int level : {0, 1, 9}) {
        for (std::string original : {std::string("x"), text(70'000), random_bytes(70'000, 4)}) {
            INFO("level " << level << ", " << original.size() << " bytes");
            CHECK(decode("deflate", compress(original, -MAX_WBITS, level), 1, 7) == original);
            CHECK(decode("deflate", compress(original, MAX_WBITS, level), 1, 7) == original);
        }
    }
    // The shortest raw stream, an empty fixed block, is two bytes.
    CHECK(decode("deflate", std::string("\x03\x00", 2), 1, 1).empty());
}

TEST_CASE("corrupt bodies are bad_content_encoding, saying what is wrong", "[decode]") {
    std::string original = text(200'000);
    std::size_t piece = GENERATE(1, 4096);

    SECTION("not gzip at all") {
        check_bad(failure("gzip", "<html>hello</html>", piece), "gzip: bad gzip header (incorrect header check)");
        std::string bad_method = gzip(original);
        bad_method[2] = 7;
        check_bad(failure("gzip", bad_method, piece), "gzip: bad gzip header (unknown compression method)");
    }
    SECTION("a flipped byte in the middle") {
        for (const std::string& coding : codings()) {
            std::string body = encode(coding, original);
            body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x55);
            INFO(coding);
            if (coding == "raw deflate" || coding == "br") {
                // Raw deflate and br have no checksum: a flip may decode to other bytes.
                std::string decoded;
                try {
                    decoded = decode(field_of(coding), body, piece, 4096);
                } catch (const std::system_error& e) {
                    CHECK(e.code() == errc::bad_content_encoding);
                    continue;
                }
                CHECK(decoded != original);
                continue;
            }
            auto e = failure(field_of(coding), body, piece);
            INFO(e.what());
            CHECK(e.code() == errc::bad_content_encoding);
            // gzip and zlib carry a checksum, so a flip never goes unseen.
            std::string_view what = e.what();
            CHECK((what.find("corrupt deflate data") != what.npos || what.find("checksum mismatch") != what.npos));
        }
    }
    SECTION("a wrong checksum") {
        std::string body = gzip(original);
        body[body.size() - 6] ^= 1;  // CRC-32
        check_bad(failure("gzip", body, piece), "gzip: checksum mismatch (incorrect data check)");
        body = gzip(original);
        body[body.size() - 1] ^= 1;  // ISIZE
        check_bad(failure("gzip", body, piece), "gzip: checksum mismatch (incorrect length check)");
        body = zlib_wrapped(original);
        body.back() ^= 1;  // Adler-32
        check_bad(failure("deflate", body, piece), "deflate: checksum mismatch (incorrect data check)");
    }
    SECTION("bytes after the end") {
        for (const std::string& coding : codings()) {
            INFO(coding);
            check_bad(failure(field_of(coding), encode(coding, original) + "x", piece),
                      field_of(coding) + ": bytes after the end of the compressed stream");
            check_bad(failure(field_of(coding), encode(coding, original) + std::string(100, '\0'), piece),
                      "bytes after the end of the compressed stream");
        }
        check_bad(failure("gzip", gzip(original) + "\x1f\x8c", piece),
                  "gzip: bytes after the end of the compressed stream");
        // What starts as a gzip member is one, and must be whole.
        check_bad(failure("gzip", gzip(original) + "\x1f", piece), "gzip: truncated stream");
        check_bad(failure("gzip", gzip(original) + std::string("\x1f\x8b\x63\x00", 4), piece),
                  "gzip: bad gzip header (unknown compression method)");
    }
    SECTION("a preset dictionary") {
        z_stream z{};
        REQUIRE(deflateInit(&z, 6) == Z_OK);
        REQUIRE(deflateSetDictionary(&z, reinterpret_cast<const Bytef*>("weft"), 4) == Z_OK);
        std::string body(256, '\0');
        z.next_in = reinterpret_cast<Bytef*>(original.data());
        z.avail_in = 100;
        z.next_out = reinterpret_cast<Bytef*>(body.data());
        z.avail_out = static_cast<uInt>(body.size());
        REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
        body.resize(z.total_out);
        deflateEnd(&z);
        check_bad(failure("deflate", body, piece), "deflate: the stream needs a preset dictionary");
    }
#ifdef WEFT_TEST_BROTLI
    SECTION("corrupt brotli names Brotli's error") {
        check_bad(failure("br", std::string(64, '\xff'), piece), "br: corrupt brotli data (");
    }
#endif
    SECTION("a decoder that threw throws the same again") {
        auto d = decoder::make("gzip");
        std::vector<char> out(64);
        auto first = error_of([&] { d->feed("not gzip", out, false); });
        auto second = error_of([&] { d->feed(gzip("x"), out, true); });
        CHECK(second.code() == first.code());
        CHECK(std::string_view(second.what()) == first.what());
    }
}

TEST_CASE("a body cut short anywhere is a truncated stream at its end", "[decode]") {
    std::string original = text(3000) + random_bytes(500, 5);
    std::string coding = GENERATE(from_range(codings()));
    std::string body = encode(coding, original);
    for (std::size_t cut = 1; cut < body.size(); ++cut) {
        INFO(coding << " cut at " << cut << " of " << body.size());
        check_bad(failure(field_of(coding), std::string_view(body).substr(0, cut), cut % 3 + 1),
                  field_of(coding) + ": truncated stream");
    }
    // Cut in the inner coding of a list: the outer stream is whole.
    std::string inner = gzip(original);
    inner.resize(inner.size() - 10);
    check_bad(failure("gzip, deflate", zlib_wrapped(inner)), "gzip: truncated stream");
}

// A gzip bomb: 1 GiB of zeros in about 1 MiB. Decoding it through a fixed
// 64 KiB buffer, every call fills the buffer and uses a sliver of input; the
// caller that counts against a 10 MiB limit stops there having used 10 KiB.
// Decoded to its end, the process's resident set and the decoder's memory
// stay where they were: nothing held grows with the output.
TEST_CASE("a gzip bomb decodes in bounded memory", "[decode]") {
    static const std::string bomb = [] {
        std::vector<char> zeros(1 << 20, 0);
        z_stream z{};
        REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
        std::string out;
        std::vector<char> buffer(64 << 10);
        for (int i = 0; i <= 1024; ++i) {
            bool last = i == 1024;
            z.next_in = reinterpret_cast<Bytef*>(zeros.data());
            z.avail_in = last ? 0 : static_cast<uInt>(zeros.size());
            int rc;
            do {
                z.next_out = reinterpret_cast<Bytef*>(buffer.data());
                z.avail_out = static_cast<uInt>(buffer.size());
                rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
                REQUIRE((rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR));
                out.append(buffer.data(), buffer.size() - z.avail_out);
            } while (z.avail_out == 0 || (last && rc != Z_STREAM_END));
        }
        deflateEnd(&z);
        return out;
    }();
    constexpr std::uint64_t decoded_size = std::uint64_t{1} << 30;
    REQUIRE(bomb.size() < (2 << 20));
    std::vector<char> out(64 << 10);

    SECTION("the caller stops at its limit") {
        constexpr std::size_t limit = 10 << 20;
        auto d = decoder::make("gzip");
        std::size_t used = 0, made = 0, calls = 0;
        while (made < limit) {
            decoder::step s = d->feed(std::string_view(bomb).substr(used, 16 << 10), out, false);
            REQUIRE(s.made == out.size());  // each call fills the buffer
            used += s.used;
            made += s.made;
            ++calls;
        }
        CHECK(made == limit);
        CHECK(calls == limit / out.size());
        CHECK(used < 16 << 10);
        CHECK(d->memory() < (64 << 10));
    }
    SECTION("to its end, nothing grows") {
        {
            auto d = decoder::make("gzip");
            std::uint64_t made = 0;
            std::size_t used = 0;
            std::size_t memory_after_first = 0, resident_before = 0;
            while (!d->finished()) {
                bool last = used == bomb.size();
                decoder::step s = d->feed(std::string_view(bomb).substr(used, 4096), out, last);
                for (std::size_t i = 0; i < s.made; i += 4093) REQUIRE(out[i] == 0);
                used += s.used;
                made += s.made;
                if (memory_after_first == 0) {
                    memory_after_first = d->memory();
                    resident_before = resident_bytes();
                }
                REQUIRE(d->memory() == memory_after_first);
            }
            CHECK(made == decoded_size);
            CHECK(used == bomb.size());
            std::size_t resident_after = resident_bytes();
            INFO("resident " << resident_before << " -> " << resident_after << " bytes");
            CHECK(resident_after < resident_before + (4 << 20));
        }
    }
    SECTION("a bomb in a bomb: gzip twice, through the buffer between") {
        std::string twice = gzip(bomb);
        INFO("1 GiB as " << twice.size() << " bytes");
        auto d = decoder::make("gzip, gzip");
        std::size_t used = 0;
        std::uint64_t made = 0;
        std::size_t memory_after_first = 0;
        while (made < (64 << 20)) {
            decoder::step s = d->feed(std::string_view(twice).substr(used, 512), out, false);
            REQUIRE(s.made == out.size());
            used += s.used;
            made += s.made;
            if (memory_after_first == 0) memory_after_first = d->memory();
            REQUIRE(d->memory() == memory_after_first);
        }
        CHECK(used < 4096);
        CHECK(memory_after_first < (128 << 10));
    }
}
