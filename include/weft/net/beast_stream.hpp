// SPDX-License-Identifier: MIT
// beast_stream: Boost.Beast's (and Asio's) synchronous algorithms over a
// weft tcp_stream. Beast's blocking calls then park only the calling fiber:
//
//     weft::net::tcp_stream s = weft::net::tcp_stream::connect(to);
//     weft::net::beast_stream bs(s);
//     boost::beast::http::write(bs, req);
//     boost::beast::http::read(bs, buffer, res);
//
// This header includes Boost.Asio's buffer and error headers, so weft.hpp
// leaves it out; include it where Beast is used.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "weft/net/tcp_stream.hpp"

namespace weft::net {

// basic_beast_stream models Beast's SyncReadStream and SyncWriteStream over
// a stream it does not own: a tcp_stream (beast_stream), a tls::stream, or
// any type with tcp_stream's read_some(span) and write_all(string_view).
// End of stream is reported the Asio way
// (boost::asio::error::eof in ec). Socket errors, timeouts and cancellation
// are thrown as weft throws them (std::system_error, weft::timeout_error,
// weft::cancelled) even from the error_code forms, because Boost's
// error_code cannot carry them; Beast's synchronous algorithms pass them
// through untouched.
template <class Stream>
class basic_beast_stream {
public:
    explicit basic_beast_stream(Stream& s) noexcept : s_(&s) {}

    Stream& next_layer() noexcept { return *s_; }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        boost::system::error_code ec;
        std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    // read_some() fills the first non-empty buffer with what one read gives.
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        auto end = boost::asio::buffer_sequence_end(buffers);
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
            boost::asio::mutable_buffer b(*it);
            if (b.size() == 0) continue;
            std::size_t n = s_->read_some(std::span<char>(static_cast<char*>(b.data()), b.size()));
            if (n == 0) ec = boost::asio::error::eof;
            return n;
        }
        return 0;
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        boost::system::error_code ec;
        return write_some(buffers, ec);
    }

    // write_some() writes every buffer. Up to 64 KiB in all they are gathered
    // into one send, so that a header and a small body leave in one segment.
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        std::size_t total = boost::asio::buffer_size(buffers);
        auto end = boost::asio::buffer_sequence_end(buffers);
        auto it = boost::asio::buffer_sequence_begin(buffers);
        while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
        if (it == end) return 0;
        boost::asio::const_buffer first(*it);
        if (first.size() == total || total > gather_limit) {
            for (; it != end; ++it) {
                boost::asio::const_buffer b(*it);
                s_->write_all(std::string_view(static_cast<const char*>(b.data()), b.size()));
            }
            return total;
        }
        gather_.clear();
        gather_.reserve(total);
        for (; it != end; ++it) {
            boost::asio::const_buffer b(*it);
            gather_.append(static_cast<const char*>(b.data()), b.size());
        }
        s_->write_all(gather_);
        return total;
    }

private:
    static constexpr std::size_t gather_limit = 64 * 1024;
    Stream* s_;
    std::string gather_;
};

using beast_stream = basic_beast_stream<tcp_stream>;

}  // namespace weft::net
