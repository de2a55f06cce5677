// SPDX-License-Identifier: MIT
// serving: a weft::http::server on 127.0.0.1:0 (or another address) whose
// serve() runs in a fiber of its own; stopped and joined when it goes out of scope.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <weft/weft.hpp>

namespace weft::test {

struct serving {
    http::server srv;
    task<void> fiber;

    explicit serving(http::server::handler h, http::server_options o = {}, net::address at = net::address::loopback())
        : srv(http::server::bind(at, std::move(h), o)), fiber(spawn([this] { srv.serve(); })) {}
    ~serving() {
        srv.stop();
        fiber.join();
    }
    std::string url(std::string_view path = "/") const {
        std::string base = srv.url();  // "http://host:port/" or "https://host:port/"
        return base.substr(0, base.size() - 1) + std::string(path);
    }
    // raw() is a plain TCP connection to the server, for exact bytes.
    net::tcp_stream raw() const { return net::tcp_stream::connect(srv.local_address(), std::chrono::seconds(5)); }
};

inline http::response hello(const http::request&) { return {200, "Hello!"}; }

}  // namespace weft::test
