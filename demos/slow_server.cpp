// SPDX-License-Identifier: MIT
// slow_server [PORT]: the lesson's server. GET / sleeps 3 s and answers
// "Hello!" (?delay=MS to change it), to any number of clients at once: each
// connection is a fiber, and a sleeping request parks only its own.
#include <cstdlib>
#include <iostream>

#include <weft/weft.hpp>

#include "slow_handler.hpp"

int main(int argc, char** argv) {
    int port = argc > 1 ? std::atoi(argv[1]) : 5000;
    if (port < 0 || port > 65535) {
        std::cerr << "usage: slow_server [PORT]   (default 5000; 0 picks a free one)\n";
        return 2;
    }
    try {
        weft::run([&] {
            auto at = weft::net::address::loopback(static_cast<std::uint16_t>(port));
            auto server = weft::http::server::bind(at, slow_hello);
            std::cout << "Serving " << server.url() << " (GET / answers Hello! after 3 s; ?delay=MS)\n" << std::flush;
            server.serve();
        });
    } catch (const std::exception& e) {
        std::cerr << "slow_server: " << e.what() << '\n';
        return 1;
    }
}
