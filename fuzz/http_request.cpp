// SPDX-License-Identifier: MIT
// Fuzz target: the HTTP server reading requests. In a fresh weft::run, a
// weft::http::server listens on 127.0.0.1; a raw client connects, writes the
// input's bytes in pieces, shuts down its side and reads every answer until
// the server closes. Pipelined requests, bodies and keep-alive all follow
// from the bytes.
//
// Input: a control byte, a repeat byte, then the request bytes. Control
// bits: 0-3 how the bytes are cut (fuzz/pieces.hpp); 4 small limits. The
// repeat byte n > 0 sends the last n bytes again and again after them (a
// request that never ends, or a flood of them; fuzz/pieces.hpp).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include <weft/weft.hpp>

#include "pieces.hpp"

namespace {

using namespace std::chrono_literals;
using namespace weft;

// The handler touches what a handler would: path, query, headers, body; it
// echoes X-Echo back as a header of the response.
http::response handle(const http::request& req) {
    std::string body = req.method + ' ' + std::string(req.path()) + '?' + std::string(req.query()) + ' ' +
                       std::string(req.query_param("a").value_or("-")) + ' ' + std::to_string(req.body.size());
    http::response res(200, std::move(body));
    if (auto echo = req.headers.get("X-Echo")) res.headers.add("X-Echo", std::string(*echo));
    return res;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned ctl = data[0];
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::string_view unit = fuzz::repeat_unit(bytes, data[1]);

    http::server_options opts;
    opts.header_timeout = 500ms;
    opts.body_timeout = 500ms;
    opts.idle_timeout = 500ms;
    opts.stop_grace = 100ms;
    if (ctl & 0x10) {
        opts.max_header_bytes = 200;
        opts.max_body_bytes = 50;
    }

    weft::run([&] {
        // A run serves at most max_served requests: a repeated request is a
        // flood the server answers one by one, as it should, and without an
        // end of its own it would outlast the run's time; stop() closes the
        // connection after the answer in progress.
        constexpr int max_served = 1000;
        int served = 0;
        http::server* self = nullptr;
        auto srv = http::server::bind(
            net::address::loopback(0),
            [&](const http::request& req) {
                if (++served == max_served && self) self->stop();
                return handle(req);
            },
            opts);
        self = &srv;
        auto serving = spawn([&] { srv.serve(); });
        std::error_code ec;
        auto s = net::tcp_stream::connect(srv.local_address(), 1s, ec);
        if (ec) std::abort();
        auto reader = spawn([&] {
            std::string got;  // the first 64 KiB: a flood of requests gets a flood of answers
            char buf[4096];
            std::error_code rec;
            while (std::size_t n = s.read_some(buf, 3s, rec))
                if (got.size() < 64 * 1024) got.append(buf, n);
            // Every limit of the server is under a second: it must have closed by now.
            if (rec == std::errc::timed_out) {
                std::fprintf(stderr, "the server did not close the connection within 3 s\n");
                std::abort();
            }
            // Whatever the server said starts as a response does.
            if (!got.empty() && !got.starts_with("HTTP/1.")) std::abort();
            if (std::getenv("WEFT_FUZZ_VERBOSE")) std::fprintf(stderr, "%s\n", got.c_str());
        });
        fuzz::write_pieces(s, bytes, ctl & 15, ec);
        if (!ec) fuzz::write_repeated(s, unit, ec);
        s.shutdown(ec);
        reader.join();
        srv.stop();
        serving.join();
    });
    return 0;
}
