// SPDX-License-Identifier: MIT
// fetch_five [--sequential] [--tls] [URL]: the asyncio lesson, in C++. Five
// fibers each fetch a URL whose server takes 3 s to answer; together they
// take 3 s, not 15, and the code reads like the blocking version.
//
// With no URL it starts the lesson's slow server (slow_handler.hpp) in this
// process, on a free port. --sequential fetches one at a time, for contrast.
// --tls serves and fetches over HTTPS, with a certificate made at start-up
// that the fetches trust (and verify: host name and signature).
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "slow_handler.hpp"

int failures = 0;
weft::http::options opts;

void fetch(const std::string& url) {
    std::cout << "Waiting for " << url << std::endl;
    try {
        weft::http::response r = weft::http::get(url, opts);  // parks this fiber only
        std::cout << "Get response from " << url << " Result: " << r.body << std::endl;
    } catch (const std::exception& e) {
        std::cout << "Failed to get " << url << ": " << e.what() << std::endl;
        ++failures;
    }
}

int main(int argc, char** argv) {
    bool sequential = false, tls = false;
    std::string url;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--sequential") {
            sequential = true;
        } else if (arg == "--tls") {
            tls = true;
        } else if (arg.starts_with("-")) {
            std::cerr << "usage: fetch_five [--sequential] [--tls] [URL]\n";
            return 2;
        } else {
            url = arg;
        }
    }
    try {
        weft::run([&] {
            std::optional<weft::http::server> server;
            std::optional<weft::task<void>> serving;
            if (url.empty()) {  // the lesson's server, in this process
                weft::http::server_options so;
                if (tls) {
                    so.tls = weft::tls::context::self_signed({"127.0.0.1", "localhost"});
                    opts.tls = weft::tls::context::client({.ca_pem = so.tls->certificate_pem()});
                }
                server = weft::http::server::bind(weft::net::address::loopback(0), slow_hello, so);
                serving = weft::spawn([&] { server->serve(); });
                url = server->url();
            }

            auto start = std::chrono::steady_clock::now();
            if (sequential) {
                for (int i = 0; i < 5; ++i) fetch(url);
            } else {
                std::vector<weft::task<void>> fetches;
                for (int i = 0; i < 5; ++i) fetches.push_back(weft::spawn(fetch, url));
                for (auto& f : fetches) f.join();
            }
            std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            std::cout << "Cost time: " << took.count() << " s" << std::endl;

            if (server) server->stop();
        });
    } catch (const std::exception& e) {
        std::cerr << "fetch_five: " << e.what() << '\n';
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
