// SPDX-License-Identifier: MIT
// Fuzz target: the HTTP client reading a response. In a fresh weft::run, a
// listener on 127.0.0.1 plays the server: on each connection it reads the
// request head, writes the input's bytes in pieces and shuts down its side.
// The client sends two requests, so the second may take a kept-alive
// connection from the pool, or retry on a new one when that went stale.
//
// Input: a control byte, a repeat byte, then the response bytes. Control
// bits: 0-3 how the bytes are cut (fuzz/pieces.hpp); 4-5 the request (GET,
// HEAD, POST, GET that may follow a redirect); 6 small limits; 7 no
// keep-alive. The repeat byte n > 0 sends the last n bytes again and again
// after them (a response that never ends; fuzz/pieces.hpp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <weft/weft.hpp>

#include "pieces.hpp"

namespace {

using namespace std::chrono_literals;
using namespace weft;

void serve(net::tcp_stream s, std::string_view bytes, std::string_view unit, unsigned seed) {
    std::error_code ec;
    std::string head;
    s.read_until(head, "\r\n\r\n", 64 * 1024, 1s, ec);
    if (ec) return;
    fuzz::write_pieces(s, bytes, seed, ec);
    if (!ec) fuzz::write_repeated(s, unit, ec);
    if (ec) return;
    s.shutdown(ec);
    // Read what else comes (a POST's body, a second request) until the client
    // closes: closing with unread bytes would reset the connection instead.
    char buf[4096];
    while (s.read_some(buf, 1s, ec) > 0 && !ec) {
    }
}

void fetch(const std::string& url, unsigned mode, const http::options& opts) {
    http::request req;
    req.target = url;
    if (mode == 1) req.method = "HEAD";
    if (mode == 2) {
        req.method = "POST";
        req.body = "a=1&b=2";
    }
    // WEFT_FUZZ_VERBOSE=1 says what each input did.
    static const bool verbose = std::getenv("WEFT_FUZZ_VERBOSE") != nullptr;
    try {
        http::response res = http::send(req, opts);
        if (res.status < 0 || res.status > 999) std::abort();  // Beast reads three digits
        if (mode == 1 && !res.body.empty()) std::abort();      // a HEAD response has no body
        if (res.body.size() > opts.max_body_bytes) std::abort();
        // Nor more memory: a body's string grows up to the limit, not past it.
        if (res.body.capacity() > std::max<std::size_t>(opts.max_body_bytes, 30)) std::abort();
        if (verbose)
            std::fprintf(stderr, "%d, %zu header fields, %zu body bytes\n", res.status, res.headers.size(),
                         res.body.size());
    } catch (const std::system_error& e) {
        // http::errc, socket errors, timeout_error: all fine, as long as they are errors
        if (verbose) std::fprintf(stderr, "error: %s\n", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned ctl = data[0];
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::string_view unit = fuzz::repeat_unit(bytes, data[1]);
    const unsigned mode = (ctl >> 4) & 3;

    http::options opts;
    opts.timeout = 1s;
    opts.connect_timeout = 1s;
    // Below -malloc_limit_mb (fuzz/run_one.sh) and what a repeat pours: an endless body ends here.
    opts.max_body_bytes = 4 * 1024 * 1024;
    if (ctl & 0x40) {
        opts.max_header_bytes = 200;
        opts.max_body_bytes = 50;
    }
    opts.keep_alive = !(ctl & 0x80);
    opts.follow_redirects = mode == 3;
    opts.max_redirects = 0;  // never leaves 127.0.0.1: a redirect is too_many_redirects

    weft::run([&] {
        auto listener = net::tcp_listener::bind(net::address::loopback(0));
        auto acceptor = spawn([&] {
            std::vector<task<void>> conns;  // cancelled when the acceptor is
            for (;;) {
                std::error_code ec;
                net::tcp_stream s = listener.accept(ec);
                if (ec) return;
                conns.push_back(spawn(serve, std::move(s), bytes, unit, ctl & 15));
            }
        });
        const std::string url = "http://" + listener.local_address().to_string() + "/fuzz";
        fetch(url, mode, opts);
        fetch(url, mode, opts);
    });
    return 0;
}
