// SPDX-License-Identifier: MIT
// An echo server written like blocking code: one fiber per connection, each
// reading with read_some() and writing back with write_all(). A thousand
// clients cost a thousand small fibers, not a thousand threads.
//
//   echo_server [PORT [SECONDS]]
//
// PORT 0 (the default) lets the kernel pick a port; the server prints it.
// With SECONDS it stops after that long; otherwise it runs until killed.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

namespace {

// serve() echoes everything the client sends until it closes or resets.
void serve(weft::net::tcp_stream conn) {
    std::string buf(16 * 1024, '\0');  // on the heap: a fiber's stack is small
    try {
        for (;;) {
            std::size_t n = conn.read_some(buf);
            if (n == 0) return;  // the client closed its side
            conn.write_all(std::string_view(buf.data(), n));
        }
    } catch (const std::exception& e) {  // weft::cancelled is none: stopping unwinds past here
        std::cerr << "echo_server: " << e.what() << '\n';
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 3) {
        std::cerr << "usage: echo_server [PORT [SECONDS]]\n";
        return 2;
    }
    auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    auto seconds = std::chrono::seconds(argc > 2 ? std::atoi(argv[2]) : 0);

    return weft::run([&] {
        auto listener = weft::net::tcp_listener::bind(weft::net::address::any(port));
        std::cout << "echo_server: listening on " << listener.local_address() << std::endl;
        auto accept_loop = [&] {
            for (;;) weft::spawn(serve, listener.accept()).detach();
        };
        if (seconds.count() <= 0) accept_loop();  // until killed
        try {
            // accept() throws timeout_error when the time is up.
            weft::with_timeout(seconds, accept_loop);
        } catch (const weft::timeout_error&) {
            std::cout << "echo_server: " << seconds.count() << " s are up, stopping" << std::endl;
        }
        return 0;  // run() cancels the connection fibers still alive
    });
}
