// SPDX-License-Identifier: MIT
// Content-Encoding: undoing a response body's content codings (gzip,
// deflate, br) as the body streams in, into buffers the caller owns.
// decode.cpp is the only file that includes zlib and Brotli.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace weft::http::detail {

// accept_encoding() is the Accept-Encoding value of a client that decodes
// bodies: "gzip, deflate", or "gzip, deflate, br" when built with Brotli.
std::string_view accept_encoding() noexcept;

// max_codings is how many content codings one body may have been through;
// a longer list is errc::unsupported_content_encoding.
inline constexpr std::size_t max_codings = 4;

// decoder undoes the content codings of one body. It streams both ways: it
// takes the body in pieces as they come and writes into whatever output
// buffer the caller gives it, so the caller bounds the memory and counts the
// decoded bytes against its own limit. A decoder holds the libraries' state
// and windows and, for a list of codings, one 16 KiB buffer between each two;
// nothing it holds grows with the decoded size (memory() says how much).
//
// Errors are std::system_error with weft::http::errc and a message that
// names the coding and what is wrong ("gzip: checksum mismatch (incorrect
// data check)"); a decoder that threw throws the same again if fed more.
class decoder {
public:
    // step is what one feed() did: bytes of `in` used, bytes of `out` made.
    struct step {
        std::size_t used = 0;
        std::size_t made = 0;
    };

    // make(content_encoding) is a decoder for a body whose Content-Encoding
    // field is content_encoding (several fields joined with ", "). Codings
    // are names without case: gzip (and x-gzip), deflate (zlib-wrapped as
    // RFC 9110 says, or raw deflate as some servers send; told apart by the
    // first two bytes), br (with Brotli), identity (nothing). A list names
    // the codings in the order they were applied; they are undone in reverse.
    // Returns nullptr when there is nothing to undo (empty or only identity).
    // Throws std::system_error(errc::unsupported_content_encoding, the
    // coding) for a coding this build cannot decode (compress, zstd, br
    // without Brotli, a malformed name) and for more than max_codings.
    static std::unique_ptr<decoder> make(std::string_view content_encoding);

    ~decoder();
    decoder(const decoder&) = delete;
    decoder& operator=(const decoder&) = delete;

    // feed(in, out, at_end) decodes from `in` into `out` and says how much
    // of each it used. It returns once `out` is full or all of `in` is used
    // (what is not used must be offered again, first, in the next call).
    // at_end says no byte follows `in`: the body has ended. Call it with
    // each piece of the body, then with empty `in` and at_end = true until
    // finished(); with at_end, a call either makes output, or the decoder is
    // finished, or it throws. An empty body decodes to nothing.
    // Throws std::system_error(errc::bad_content_encoding, what): a bad
    // header, corrupt data, a checksum mismatch, a truncated stream (at the
    // end, before the coding's own end), or bytes after the end of the
    // compressed stream (another gzip member is decoded, not an error).
    // Throws std::system_error(std::errc::not_enough_memory) when the
    // library cannot allocate its state.
    step feed(std::span<const char> in, std::span<char> out, bool at_end);

    // finished() is whether every coding's stream has ended and all its
    // output was given out: the body is complete (another gzip member may
    // still follow, until at_end).
    bool finished() const noexcept;

    // memory() is how many bytes the decoder holds now: zlib's or Brotli's
    // state and window (Brotli's as large as the stream asks, at most 16 MiB
    // and a little more) and the buffers between codings.
    std::size_t memory() const noexcept;

private:
    struct state;
    explicit decoder(std::unique_ptr<state> s) noexcept;
    std::unique_ptr<state> s_;
};

}  // namespace weft::http::detail
