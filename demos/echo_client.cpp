// SPDX-License-Identifier: MIT
// The echo server's client: sends numbered lines, reads each echo back with
// read_until() and checks it.
//
//   echo_client HOST PORT [MESSAGES]
//
// HOST is a numeric IP for now ("127.0.0.1", "::1"). Exits 0 when every echo
// matched, 1 otherwise.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: echo_client HOST PORT [MESSAGES]\n";
        return 2;
    }
    std::string host = argv[1];
    auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    int messages = argc > 3 ? std::atoi(argv[3]) : 10;

    try {
        return weft::run([&] {
            auto conn = weft::net::tcp_stream::connect(host, port, 5s);
            std::cout << "echo_client: connected to " << conn.remote_address() << std::endl;
            std::string line, echo;
            for (int i = 0; i < messages; ++i) {
                line = "message " + std::to_string(i) + "\n";
                conn.write_all(line);
                // A silent server ends it with timeout_error.
                conn.read_until(echo, "\n", 1024, 5s);
                if (echo != line) {
                    std::cerr << "echo_client: sent '" << line << "' got back '" << echo << "'\n";
                    return 1;
                }
            }
            conn.shutdown();
            std::cout << "echo_client: " << messages << " echoes matched" << std::endl;
            return 0;
        });
    } catch (const std::exception& e) {
        std::cerr << "echo_client: " << e.what() << '\n';
        return 1;
    }
}
