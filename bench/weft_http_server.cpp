// SPDX-License-Identifier: MIT
// weft's side of the http_server benchmark: the hello-world server a weft
// user would write, http::server with a handler that answers every request
// "Hello, world!" (13 bytes, text/plain), over keep-alive. Nothing tuned: the
// library's server and its default limits, but for the listen backlog (4096,
// as the nginx and Go peers get: a thousand connections come at once).
//
// usage: weft_http_server PORT [MAX_SECONDS=60 [THREADS=1]]
//   PORT 0 picks a free port; it prints "PORT n" once every thread listens on
//   127.0.0.1, and exits by itself after MAX_SECONDS (run() then cancels the
//   connections' fibers). THREADS > 1 runs run(run_options{.threads = N})
//   with a server on every thread, each its own SO_REUSEPORT listener on the
//   one port (server_options::reuse_port): the kernel spreads the
//   connections among them, and a connection stays on its thread.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <vector>

#include "common.hpp"
#include "weft/errors.hpp"
#include "weft/http/server.hpp"
#include "weft/run.hpp"
#include "weft/shared_task.hpp"
#include "weft/this_fiber.hpp"
#include "weft/timeout.hpp"

namespace {

weft::http::response hello(const weft::http::request&) {
    weft::http::response res(200, "Hello, world!");
    res.headers.add("Content-Type", "text/plain");
    return res;
}

}  // namespace

int main(int argc, char** argv) {
    auto port = static_cast<std::uint16_t>(bench::arg_long(argc, argv, 1, 0));
    long max_seconds = bench::arg_long(argc, argv, 2, 60);
    long threads = bench::arg_long(argc, argv, 3, 1);
    if (threads < 1) threads = 1;

    weft::http::server_options opts;
    opts.backlog = 4096;
    opts.reuse_port = threads > 1;

    weft::run(weft::run_options{.threads = static_cast<std::size_t>(threads)}, [&] {
        // Thread 0's server binds first (port 0: the kernel picks), the
        // others bind that port; each serves in a fiber of its own thread.
        auto first = weft::http::server::bind(weft::net::address::loopback(port), hello, opts);
        const auto at = first.local_address();
        std::atomic<long> ready{1};
        std::vector<weft::shared_task<void>> others;
        for (long i = 1; i < threads; ++i)
            others.push_back(weft::spawn_on(static_cast<std::size_t>(i), [&] {
                auto srv = weft::http::server::bind(at, hello, opts);
                ++ready;
                srv.serve();
            }));
        while (ready < threads) weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
        std::printf("PORT %u\n", static_cast<unsigned>(at.port()));
        std::fflush(stdout);
        try {
            weft::with_timeout(std::chrono::seconds(max_seconds), [&] { first.serve(); });
        } catch (const weft::timeout_error&) {
            // MAX_SECONDS passed: returning ends run(), which cancels every
            // thread's servers and their connections
        }
    });
    return 0;
}
