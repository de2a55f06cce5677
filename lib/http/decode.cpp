// SPDX-License-Identifier: MIT
// Content decoding: zlib's inflate for gzip and deflate, Brotli's decoder
// for br, each behind a small `coding` layer; a list of codings is a chain of
// layers with a fixed buffer between each two.
//
// Invariants:
// - A layer's run() returns once its output is full or all its input is used
//   (inflate and BrotliDecoderDecompressStream both stop only there, at the
//   stream's end, or at an error), so an unfinished layer whose input is used
//   up and whose output has room, told that no more input comes, is looking
//   at a truncated stream.
// - Nothing is allocated per byte decoded: the libraries allocate their state
//   and window through counting functions (memory()), and the buffers between
//   layers are allocated once, with the decoder.
#include "http/decode.hpp"

#include <zlib.h>
#ifdef WEFT_HAVE_BROTLI
#include <brotli/decode.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "detail/sys_error.hpp"
#include "weft/http/errors.hpp"

namespace weft::http::detail {

namespace {

using step = decoder::step;

// The libraries allocate through these, so that the decoder knows what it
// holds. Each block starts with its size, kept in a header as wide as
// malloc's alignment.
constexpr std::size_t block_header = alignof(std::max_align_t);

void* counted_alloc(std::size_t& held, std::size_t size) noexcept {
    if (size > std::numeric_limits<std::size_t>::max() - block_header) return nullptr;
    auto* p = static_cast<unsigned char*>(std::malloc(block_header + size));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &size, sizeof size);
    held += size;
    return p + block_header;
}

void counted_free(std::size_t& held, void* address) noexcept {
    if (address == nullptr) return;
    auto* p = static_cast<unsigned char*>(address) - block_header;
    std::size_t size;
    std::memcpy(&size, p, sizeof size);
    held -= size;
    std::free(p);
}

[[noreturn]] void out_of_memory(std::string_view coding) {
    throw std::system_error(std::make_error_code(std::errc::not_enough_memory),
                            std::string(coding) + ": cannot allocate the decoder's state");
}

// unsupported(coding) names a coding this build does not decode, cut short
// when a peer sent something long.
[[noreturn]] void unsupported(std::string_view coding) {
    constexpr std::size_t most = 64;
    std::string what(coding.substr(0, most));
    if (coding.size() > most) what += "...";
    throw std::system_error(errc::unsupported_content_encoding, what);
}

// coding is one content coding being undone. It owns its library state.
class coding {
public:
    explicit coding(std::string_view name) noexcept : name_(name) {}
    virtual ~coding() = default;
    coding(const coding&) = delete;
    coding& operator=(const coding&) = delete;

    // run(in, out, last) decodes what it can of `in` into `out`; `last` says
    // no input follows `in`. Throws bad_content_encoding for what is wrong.
    virtual step run(std::span<const char> in, std::span<char> out, bool last) = 0;
    // finished() is whether the stream has ended (an empty one too).
    bool finished() const noexcept { return ended_; }

protected:
    [[noreturn]] void fail(std::string_view what) const {
        throw std::system_error(errc::bad_content_encoding, std::string(name_) + ": " + std::string(what));
    }
    // check_end() is the rule at the end of the body: a stream that got no
    // byte at all is an empty body, one that stopped before its end is
    // truncated. Called after a run() that used all of `in` with room left.
    void check_end(bool last, std::size_t unused_out) {
        if (!last || ended_ || unused_out == 0) return;
        if (!any_input_) {
            ended_ = true;
            return;
        }
        fail("truncated stream");
    }

    std::string_view name_;
    bool ended_ = false;      // the stream (the last gzip member) has ended
    bool any_input_ = false;  // some byte of the stream was seen
};

// zlib_coding is gzip (windowBits 16 + 15, members one after another) or
// deflate (zlib-wrapped, windowBits 15, or raw, -15: the first two bytes say).
class zlib_coding final : public coding {
public:
    enum class kind { gzip, deflate };

    zlib_coding(kind k, std::size_t& held) : coding(k == kind::gzip ? "gzip" : "deflate"), kind_(k) {
        z_.zalloc = [](voidpf opaque, uInt items, uInt size) -> voidpf {
            if (size != 0 && items > std::numeric_limits<std::size_t>::max() / size) return Z_NULL;
            return counted_alloc(*static_cast<std::size_t*>(opaque), std::size_t{items} * size);
        };
        z_.zfree = [](voidpf opaque, voidpf address) { counted_free(*static_cast<std::size_t*>(opaque), address); };
        z_.opaque = &held;
        if (k == kind::gzip) start(16 + MAX_WBITS);
    }

    ~zlib_coding() override {
        if (started_) inflateEnd(&z_);
    }

    step run(std::span<const char> in, std::span<char> out, bool last) override {
        step s;
        if (!in.empty()) any_input_ = true;
        if (!started_ && !take_head(in, s, last)) return s;
        // The two bytes deflate was told apart by go in first.
        if (head_used_ < head_.size()) {
            step h = pump(std::span(head_).subspan(head_used_), out);
            head_used_ += h.used;
            s.made += h.made;
            if (head_used_ < head_.size()) return s;  // out is full
        }
        for (;;) {
            if (ended_) {
                if (s.used == in.size()) break;
                if (kind_ != kind::gzip) fail("bytes after the end of the compressed stream");
                next_member();
            }
            if (members_ > 0) check_magic(in.subspan(s.used));
            step p = pump(in.subspan(s.used), out.subspan(s.made));
            s.used += p.used;
            s.made += p.made;
            if (!ended_) break;  // input used up or out full
        }
        if (s.used == in.size()) check_end(last, out.size() - s.made);
        return s;
    }

private:
    void start(int window_bits) {
        int rc = inflateInit2(&z_, window_bits);
        if (rc == Z_MEM_ERROR) out_of_memory(name_);
        if (rc != Z_OK) fail("zlib cannot start (inflateInit2 returned " + std::to_string(rc) + ")");
        started_ = true;
        watch_header();
    }

    // watch_header() has zlib fill gz_ while it reads a gzip header, so that
    // an error there is known to be the header's (gz_.done is 1 once it has
    // been read, -1 when the bytes are no gzip header).
    void watch_header() {
        if (kind_ != kind::gzip) return;
        gz_ = gz_header{};
        if (inflateGetHeader(&z_, &gz_) != Z_OK) fail("zlib cannot read the gzip header");
    }

    // take_head() collects deflate's first two bytes from `in` (counting them
    // in s.used) and starts inflate for the wrapping they show. Returns false
    // while fewer than two have come.
    bool take_head(std::span<const char> in, step& s, bool last) {
        while (head_have_ < head_.size() && s.used < in.size()) head_[head_have_++] = in[s.used++];
        if (head_have_ < head_.size()) {
            if (head_have_ == 0)
                check_end(last, 1);
            else if (last)
                fail("truncated stream");
            return false;
        }
        // RFC 1950: CM 8 (deflate), CINFO at most 7 (a 32 KiB window), and
        // CMF * 256 + FLG a multiple of 31. A raw stream's first byte has CM 8
        // only when it opens with a stored block whose padding bits are not
        // zero, which no encoder writes.
        auto cmf = static_cast<unsigned char>(head_[0]);
        auto flg = static_cast<unsigned char>(head_[1]);
        bool wrapped = (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
        start(wrapped ? MAX_WBITS : -MAX_WBITS);
        head_used_ = 0;
        return true;
    }

    // next_member() starts the gzip member that follows one that ended.
    void next_member() {
        if (inflateReset(&z_) != Z_OK) fail("zlib cannot start the next member");
        watch_header();
        ended_ = false;
    }

    // check_magic() checks that what follows a gzip member begins as a
    // member does (1f 8b); anything else is bytes after the stream's end.
    // `in` starts at the member's byte z_.total_in (inflateReset zeroes it).
    void check_magic(std::span<const char> in) {
        static constexpr unsigned char magic[2] = {0x1f, 0x8b};
        for (std::size_t at = z_.total_in; at < 2 && at - z_.total_in < in.size(); ++at) {
            if (static_cast<unsigned char>(in[at - z_.total_in]) != magic[at])
                fail("bytes after the end of the compressed stream");
        }
    }

    // pump() runs inflate once over in and out (each cut to what uInt holds).
    step pump(std::span<const char> in, std::span<char> out) {
        constexpr std::size_t most = std::size_t{1} << 30;
        uInt in_size = static_cast<uInt>(std::min(in.size(), most));
        uInt out_size = static_cast<uInt>(std::min(out.size(), most));
        // inflate refuses a null next_out even with avail_out 0.
        static Bytef no_room;
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = in_size;
        z_.next_out = out_size != 0 ? reinterpret_cast<Bytef*>(out.data()) : &no_room;
        z_.avail_out = out_size;
        int rc = inflate(&z_, Z_NO_FLUSH);
        step s{in_size - z_.avail_in, out_size - z_.avail_out};
        switch (rc) {
            case Z_OK:
            case Z_BUF_ERROR:  // no progress was possible: input used up or no room; not an error
                break;
            case Z_STREAM_END:
                ended_ = true;
                ++members_;
                break;
            case Z_NEED_DICT: fail("the stream needs a preset dictionary");
            case Z_DATA_ERROR: fail(data_error());
            case Z_MEM_ERROR: out_of_memory(name_);
            default: fail("zlib failed (inflate returned " + std::to_string(rc) + ")");
        }
        return s;
    }

    // data_error() words zlib's Z_DATA_ERROR: its message says which.
    std::string data_error() const {
        std::string_view msg = z_.msg != nullptr ? z_.msg : "no detail";
        std::string detail = " (" + std::string(msg) + ")";
        if (msg == "incorrect data check" || msg == "incorrect length check") return "checksum mismatch" + detail;
        if (kind_ == kind::gzip && gz_.done != 1) return "bad gzip header" + detail;
        return "corrupt deflate data" + detail;
    }

    kind kind_;
    z_stream z_{};
    gz_header gz_{};              // what zlib read of the current gzip header
    bool started_ = false;        // inflateInit2 was called (deflate waits for two bytes)
    std::array<char, 2> head_{};  // deflate's first two bytes
    std::size_t head_have_ = 0;   // how many of them have come
    std::size_t head_used_ = 2;   // how many of them inflate has taken
    std::size_t members_ = 0;     // gzip members ended so far
};

#ifdef WEFT_HAVE_BROTLI
// brotli_coding is br (RFC 7932) through BrotliDecoderDecompressStream.
class brotli_coding final : public coding {
public:
    explicit brotli_coding(std::size_t& held) : coding("br") {
        state_ = BrotliDecoderCreateInstance(
            [](void* opaque, size_t size) { return counted_alloc(*static_cast<std::size_t*>(opaque), size); },
            [](void* opaque, void* address) { counted_free(*static_cast<std::size_t*>(opaque), address); }, &held);
        if (state_ == nullptr) out_of_memory(name_);
    }

    ~brotli_coding() override { BrotliDecoderDestroyInstance(state_); }

    step run(std::span<const char> in, std::span<char> out, bool last) override {
        step s;
        if (!in.empty()) any_input_ = true;
        for (;;) {
            if (ended_) {
                if (s.used < in.size()) fail("bytes after the end of the compressed stream");
                break;
            }
            std::size_t avail_in = in.size() - s.used;
            auto* next_in = reinterpret_cast<const uint8_t*>(in.data() + s.used);
            std::size_t avail_out = out.size() - s.made;
            auto* next_out = reinterpret_cast<uint8_t*>(out.data() + s.made);
            BrotliDecoderResult r =
                BrotliDecoderDecompressStream(state_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
            s.used = in.size() - avail_in;
            s.made = out.size() - avail_out;
            if (r == BROTLI_DECODER_RESULT_ERROR) fail_with(BrotliDecoderGetErrorCode(state_));
            if (r != BROTLI_DECODER_RESULT_SUCCESS) break;  // more input or more room needed
            ended_ = true;
        }
        if (s.used == in.size()) check_end(last, out.size() - s.made);
        return s;
    }

private:
    // fail_with(code) words Brotli's error: "_ERROR_FORMAT_PADDING_1" reads
    // "corrupt brotli data (format padding 1)".
    [[noreturn]] void fail_with(BrotliDecoderErrorCode code) const {
        std::string_view name = BrotliDecoderErrorString(code);
        if (name.starts_with("_ERROR_")) name.remove_prefix(7);
        if (name.starts_with("ALLOC_")) out_of_memory(name_);
        std::string words;
        for (char c : name) words += c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        fail("corrupt brotli data (" + words + ")");
    }

    BrotliDecoderState* state_ = nullptr;
};
#endif

// coding_named(element) is the coding a list element names (case does not
// matter); throws unsupported_content_encoding for one this build lacks.
enum class coding_id { identity, gzip, deflate, br };

coding_id coding_named(std::string_view element) {
    auto is = [&](std::string_view name) {
        return std::equal(element.begin(), element.end(), name.begin(), name.end(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    };
    if (is("gzip") || is("x-gzip")) return coding_id::gzip;
    if (is("deflate")) return coding_id::deflate;
    if (is("identity")) return coding_id::identity;
#ifdef WEFT_HAVE_BROTLI
    if (is("br")) return coding_id::br;
#endif
    unsupported(element);
}

// between is the buffer from one layer to the next: a fixed array, its
// unread bytes at [begin, end).
struct between {
    static constexpr std::size_t size = 16 * 1024;
    std::unique_ptr<char[]> bytes = std::make_unique<char[]>(size);
    std::size_t begin = 0;
    std::size_t end = 0;

    std::span<const char> unread() const noexcept { return {bytes.get() + begin, end - begin}; }
    bool empty() const noexcept { return begin == end; }
    // room() is where the layer before writes. Unread bytes move to the
    // front only once half the buffer is read, so a reader that takes a
    // byte at a time never makes each byte cost a copy of the whole buffer.
    std::span<char> room() noexcept {
        if (begin == end) {
            begin = end = 0;
        } else if (begin >= size / 2) {
            std::memmove(bytes.get(), bytes.get() + begin, end - begin);
            end -= begin;
            begin = 0;
        }
        return {bytes.get() + end, size - end};
    }
};

}  // namespace

// state holds the layers, outermost (the coding applied last) first.
struct decoder::state {
    std::size_t held = 0;  // bytes the libraries hold (counted_alloc)
    std::vector<std::unique_ptr<coding>> layers;
    std::vector<between> buffers;  // buffers[k]: from layers[k] to layers[k + 1]
    std::string error;             // what the decoder threw, once it has
};

std::string_view accept_encoding() noexcept {
#ifdef WEFT_HAVE_BROTLI
    return "gzip, deflate, br";
#else
    return "gzip, deflate";
#endif
}

decoder::decoder(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
decoder::~decoder() = default;

std::unique_ptr<decoder> decoder::make(std::string_view content_encoding) {
    // The field is a comma-separated list with optional whitespace around
    // elements, empty elements allowed (RFC 9110 5.6.1).
    std::vector<coding_id> applied;
    while (!content_encoding.empty()) {
        std::size_t comma = content_encoding.find(',');
        std::string_view element = content_encoding.substr(0, comma);
        content_encoding.remove_prefix(comma == std::string_view::npos ? content_encoding.size() : comma + 1);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
        if (element.empty()) continue;
        coding_id id = coding_named(element);
        if (id == coding_id::identity) continue;
        if (applied.size() == max_codings) unsupported("more than " + std::to_string(max_codings) + " content codings");
        applied.push_back(id);
    }
    if (applied.empty()) return nullptr;

    auto s = std::make_unique<state>();
    for (auto id = applied.rbegin(); id != applied.rend(); ++id) {
        switch (*id) {
            case coding_id::gzip:
                s->layers.push_back(std::make_unique<zlib_coding>(zlib_coding::kind::gzip, s->held));
                break;
            case coding_id::deflate:
                s->layers.push_back(std::make_unique<zlib_coding>(zlib_coding::kind::deflate, s->held));
                break;
            case coding_id::br:
#ifdef WEFT_HAVE_BROTLI
                s->layers.push_back(std::make_unique<brotli_coding>(s->held));
#endif
                break;
            case coding_id::identity: break;
        }
    }
    s->buffers.resize(s->layers.size() - 1);
    return std::unique_ptr<decoder>(new decoder(std::move(s)));
}

decoder::step decoder::feed(std::span<const char> in, std::span<char> out, bool at_end) {
    state& s = *s_;
    if (!s.error.empty()) throw std::system_error(errc::bad_content_encoding, s.error);
    const std::size_t n = s.layers.size();
    step total;
    try {
        // Each pass runs every layer once, outermost first, each writing
        // into the buffer the next one reads; passes go on while any layer
        // moves and `out` has room.
        for (;;) {
            bool moved = false;
            bool last = at_end;  // no input follows what layer k is given
            for (std::size_t k = 0; k < n; ++k) {
                std::span<const char> src = k == 0 ? in.subspan(total.used) : s.buffers[k - 1].unread();
                std::span<char> dst = k + 1 == n ? out.subspan(total.made) : s.buffers[k].room();
                step st = s.layers[k]->run(src, dst, last);
                if (k == 0)
                    total.used += st.used;
                else
                    s.buffers[k - 1].begin += st.used;
                if (k + 1 == n)
                    total.made += st.made;
                else
                    s.buffers[k].end += st.made;
                moved = moved || st.used != 0 || st.made != 0;
                bool all_used = k == 0 ? total.used == in.size() : s.buffers[k - 1].empty();
                last = last && all_used && s.layers[k]->finished();
            }
            if (!moved || total.made == out.size()) return total;
        }
    } catch (const std::system_error& e) {
        if (e.code() == errc::bad_content_encoding) s.error = weft::detail::without_message(e);  // the decoder's part
        throw;
    }
}

bool decoder::finished() const noexcept {
    for (const auto& layer : s_->layers)
        if (!layer->finished()) return false;
    for (const auto& b : s_->buffers)
        if (!b.empty()) return false;
    return true;
}

std::size_t decoder::memory() const noexcept { return s_->held + s_->buffers.size() * between::size; }

}  // namespace weft::http::detail
