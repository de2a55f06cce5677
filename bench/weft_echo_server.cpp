// SPDX-License-Identifier: MIT
// weft's side of the echo benchmark: the plain server a weft user would write,
// a fiber per connection that reads what comes and writes it back. Nothing
// tuned: no batching, no yield, the library's tcp_stream as it is.
//
// usage: weft_echo_server PORT [MAX_SECONDS=60 [BUFFER_BYTES=16384 [THREADS=1]]]
//   PORT 0 picks a free port; it prints "PORT n" once every thread listens on
//   127.0.0.1, and exits by itself after MAX_SECONDS (run() then cancels the
//   connections' fibers). BUFFER_BYTES (512..16384) is each connection's read
//   buffer: 16 KiB like the C and Go servers'. Above 8 KiB it lives on the
//   heap, not on the fiber's stack, so a fiber still touches one or two pages
//   of stack. THREADS > 1 runs run(run_options{.threads = N}) with a
//   listener on every thread, each its own SO_REUSEPORT socket on the one
//   port: the kernel spreads the connections among them, and a connection's
//   fiber stays on the thread that accepted it.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "common.hpp"
#include "weft/errors.hpp"
#include "weft/net/tcp_listener.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/run.hpp"
#include "weft/shared_task.hpp"
#include "weft/task.hpp"
#include "weft/this_fiber.hpp"
#include "weft/timeout.hpp"

namespace {

constexpr std::size_t stack_buffer_max = 8192;

void echo(weft::net::tcp_stream& conn, std::span<char> buf) {
    for (;;) {
        std::size_t n = conn.read_some(buf);
        if (n == 0) break;
        conn.write_all(std::string_view(buf.data(), n));
    }
}

// serve() is one connection's fiber. A peer that resets or goes away ends it
// quietly; cancellation (the end of run()) goes on up.
void serve(weft::net::tcp_stream conn, std::size_t buf_bytes) {
    try {
        conn.set_nodelay(true);  // as the C and Go servers do
        if (buf_bytes > stack_buffer_max) {
            auto heap = std::make_unique_for_overwrite<char[]>(buf_bytes);
            echo(conn, {heap.get(), buf_bytes});
        } else {
            char local[stack_buffer_max];
            echo(conn, {local, buf_bytes});
        }
    } catch (const weft::cancelled&) {
        throw;
    } catch (const std::system_error&) {
        // connection reset, broken pipe: the load generator went away
    }
}

// accept_loop() gives every connection of one listener a fiber of its own, on
// the listener's thread.
void accept_loop(weft::net::tcp_listener& listener, std::size_t buf_bytes) {
    for (;;) weft::spawn(serve, listener.accept(), buf_bytes).detach();
}

}  // namespace

int main(int argc, char** argv) {
    auto port = static_cast<std::uint16_t>(bench::arg_long(argc, argv, 1, 0));
    long max_seconds = bench::arg_long(argc, argv, 2, 60);
    long buf_bytes = bench::arg_long(argc, argv, 3, 16384);
    if (buf_bytes < 512) buf_bytes = 512;
    if (buf_bytes > 16384) buf_bytes = 16384;

    long threads = bench::arg_long(argc, argv, 4, 1);
    if (threads < 1) threads = 1;
    const auto buf = static_cast<std::size_t>(buf_bytes);
    const weft::net::bind_options bind_opts{.reuse_port = threads > 1};

    weft::run(weft::run_options{.threads = static_cast<std::size_t>(threads)}, [&] {
        // Thread 0's listener binds first (port 0: the kernel picks), the
        // others bind that port; each accepts in a fiber of its own thread.
        auto listener = weft::net::tcp_listener::bind(weft::net::address::loopback(port), 4096, bind_opts);
        const auto at = listener.local_address();
        std::atomic<long> ready{1};
        std::vector<weft::shared_task<void>> others;
        for (long i = 1; i < threads; ++i)
            others.push_back(weft::spawn_on(static_cast<std::size_t>(i), [&] {
                auto own = weft::net::tcp_listener::bind(at, 4096, bind_opts);
                ++ready;
                accept_loop(own, buf);
            }));
        while (ready < threads) weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
        std::printf("PORT %u\n", static_cast<unsigned>(at.port()));
        std::fflush(stdout);
        try {
            weft::with_timeout(std::chrono::seconds(max_seconds), [&] { accept_loop(listener, buf); });
        } catch (const weft::timeout_error&) {
            // MAX_SECONDS passed: returning ends run(), which cancels every
            // thread's listeners and connections
        }
    });
    return 0;
}
