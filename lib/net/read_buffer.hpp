// SPDX-License-Identifier: MIT
// read_buffer: what read_until() read past its delimiter, kept for the next
// read, and the two reads built on a stream's read_some (read_exact and
// read_until). tcp_stream and tls::stream share it; each brings its own
// "one read of the source" as a callable fill(char*, size, ec) -> size_t that
// returns 0 at a clean end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace weft::net::detail {

class read_buffer {
public:
    // pending() is what was read ahead and not handed out yet.
    std::string_view pending() const noexcept { return {buf_.data() + begin_, end_ - begin_}; }
    bool empty() const noexcept { return begin_ == end_; }
    void clear() noexcept { begin_ = end_ = 0; }

    // take() moves up to buf.size() pending bytes into buf and returns how many.
    std::size_t take(std::span<char> buf) noexcept {
        std::size_t n = std::min(buf.size(), end_ - begin_);
        std::memcpy(buf.data(), buf_.data() + begin_, n);
        consume(n);
        return n;
    }

    // read_until() puts the bytes up to and including `delim` in `out` and
    // keeps what came after; see tcp_stream::read_until() for the errors
    // (message_size past `max`, no_message_available at an end mid-message).
    template <class Fill>
    std::size_t read_until(std::string& out, std::string_view delim, std::size_t max, std::error_code& ec,
                           Fill&& fill) {
        ec.clear();
        out.clear();
        if (delim.empty()) {
            ec = std::make_error_code(std::errc::invalid_argument);
            return 0;
        }
        std::size_t scanned = 0;  // no delimiter starts before this offset of pending()
        for (;;) {
            std::string_view have = pending();
            std::size_t pos = have.find(delim, scanned);
            if (pos != std::string_view::npos) {
                std::size_t n = pos + delim.size();
                if (n > max) break;
                out.assign(have.data(), n);
                consume(n);
                return n;
            }
            if (have.size() >= max) break;  // any delimiter would now end past max
            scanned = have.size() >= delim.size() ? have.size() - delim.size() + 1 : 0;
            if (begin_ > 0) {  // move what is pending to the front, making room
                std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (buf_.size() - end_ < read_ahead) buf_.resize(std::max(buf_.size() * 2, end_ + read_ahead));
            std::size_t n = fill(buf_.data() + end_, buf_.size() - end_, ec);
            if (ec) return 0;
            if (n == 0) {
                if (!empty()) ec = std::make_error_code(std::errc::no_message_available);
                return 0;
            }
            end_ += n;
        }
        ec = std::make_error_code(std::errc::message_size);
        return 0;
    }

private:
    static constexpr std::size_t read_ahead = 16 * 1024;  // read_until()'s least free room per read

    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }

    std::string buf_;        // only its size grows, never shrinks
    std::size_t begin_ = 0;  // buf_[begin_, end_) is pending
    std::size_t end_ = 0;
};

// read_exact() calls read_some(span, ec) until buf is full; an end before
// that is std::errc::no_message_available. Returns the bytes read.
template <class ReadSome>
std::size_t read_exact(std::span<char> buf, std::error_code& ec, ReadSome&& read_some) {
    std::size_t got = 0;
    ec.clear();
    while (got < buf.size()) {
        std::size_t n = read_some(buf.subspan(got), ec);
        if (ec) return got;
        if (n == 0) {
            ec = std::make_error_code(std::errc::no_message_available);
            return got;
        }
        got += n;
    }
    return got;
}

}  // namespace weft::net::detail
