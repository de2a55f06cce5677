// SPDX-License-Identifier: MIT
// download, weft's side (issue 12): one large body over loopback, streamed
// to nothing, as a weft user would write it: client::open() and read_some()
// into a 64 KiB buffer, max_body_bytes raised to the body's size, every
// other option the client's default. The same program is also a server,
// weft's http::server answering with a body_source, so that the benchmark
// can compare it with nginx as the server the clients are timed against.
//
// usage: weft_download get URL SIZE [BUFFER=65536]
//   GETs URL (http://) and reads its body in BUFFER-sized read_some()s,
//   checking status 200 and that the body is SIZE bytes. Prints RESULT
//   bytes, wall_ms, cpu_ms, user_ms and sys_ms (getrusage, around run()),
//   and an INFO line with the number of reads and the max RSS.
// usage: weft_download serve PORT SIZE [MAX_SECONDS=300]
//   Serves GET / with SIZE bytes of 'x' and a Content-Length, and GET
//   /chunked with the same bytes chunked (no length), on 127.0.0.1:PORT (0:
//   the kernel picks); prints "PORT n" and stops by itself after MAX_SECONDS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "weft/errors.hpp"
#include "weft/http/client.hpp"
#include "weft/http/server.hpp"
#include "weft/run.hpp"
#include "weft/timeout.hpp"

namespace {

double ms(const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; }

int get(const std::string& url, std::uint64_t size, std::size_t buffer) {
    rusage r0{}, r1{};
    getrusage(RUSAGE_SELF, &r0);
    const double t0 = bench::now_ns();
    std::uint64_t got = 0, reads = 0;
    int status = 0;
    std::string error;
    weft::run([&] {
        weft::http::client client;
        weft::http::options opts = client.settings().defaults;
        opts.max_body_bytes = size;
        std::vector<char> buf(buffer);
        try {
            weft::http::request req;
            req.target = url;
            weft::http::response_stream body = client.open(req, opts);
            status = body.status();
            for (std::size_t n; (n = body.read_some(buf)) > 0;) {
                got += n;
                ++reads;
            }
        } catch (const std::system_error& e) {
            error = e.what();
        }
    });
    const double wall = (bench::now_ns() - t0) / 1e6;
    getrusage(RUSAGE_SELF, &r1);
    const double user = ms(r1.ru_utime) - ms(r0.ru_utime);
    const double sys = ms(r1.ru_stime) - ms(r0.ru_stime);
    const bool ok = error.empty() && status == 200 && got == size;
    if (!ok)
        std::printf("NOTE weft_download: status %d, %llu of %llu bytes%s%s\n", status,
                    static_cast<unsigned long long>(got), static_cast<unsigned long long>(size),
                    error.empty() ? "" : ": ", error.c_str());
    std::printf("INFO weft_download: %llu read_some calls of up to %zu bytes; max RSS %ld kB\n",
                static_cast<unsigned long long>(reads), buffer, r1.ru_maxrss);
    std::printf("RESULT bytes=%llu\n", static_cast<unsigned long long>(got));
    std::printf("RESULT wall_ms=%.2f\n", wall);
    std::printf("RESULT cpu_ms=%.2f\n", user + sys);
    std::printf("RESULT user_ms=%.2f\n", user);
    std::printf("RESULT sys_ms=%.2f\n", sys);
    return ok ? 0 : 1;
}

int serve(long port, std::uint64_t size, long max_seconds) {
    // Every piece is copied from one block of 'x's: what a body_source of
    // data already in memory costs.
    auto block = std::make_shared<std::vector<char>>(1 << 20, 'x');
    auto answer = [block, size](const weft::http::request& req) {
        weft::http::response res;
        res.headers.add("Content-Type", "application/octet-stream");
        if (req.path() != "/" && req.path() != "/chunked") return weft::http::response(404, "no such file\n");
        auto left = std::make_shared<std::uint64_t>(size);
        res.body_source = [block, left](std::span<char> room) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>({*left, room.size(), block->size()}));
            std::memcpy(room.data(), block->data(), n);
            *left -= n;
            return n;
        };
        if (req.path() == "/") res.body_length = size;
        return res;
    };
    weft::run([&] {
        auto srv = weft::http::server::bind(weft::net::address::loopback(static_cast<std::uint16_t>(port)), answer);
        std::printf("PORT %u\n", static_cast<unsigned>(srv.local_address().port()));
        std::fflush(stdout);
        try {
            weft::with_timeout(std::chrono::seconds(max_seconds), [&] { srv.serve(); });
        } catch (const weft::timeout_error&) {
            // MAX_SECONDS passed: run() cancels what is left
        }
    });
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = bench::arg_str(argc, argv, 1, "");
    if (mode == "get" && argc >= 4)
        return get(argv[2], std::strtoull(argv[3], nullptr, 10),
                   static_cast<std::size_t>(std::max(1L, bench::arg_long(argc, argv, 4, 65536))));
    if (mode == "serve" && argc >= 4)
        return serve(bench::arg_long(argc, argv, 2, 0), std::strtoull(argv[3], nullptr, 10),
                     bench::arg_long(argc, argv, 4, 300));
    std::fprintf(stderr, "usage: %s get URL SIZE [BUFFER] | serve PORT SIZE [MAX_SECONDS]\n", argv[0]);
    return 2;
}
