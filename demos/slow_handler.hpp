// SPDX-License-Identifier: MIT
// The lesson's Flask view: GET / sleeps 3 s, then answers "Hello!".
// `?delay=MS` changes the sleep. Shared by slow_server and fetch_five.
#pragma once

#include <chrono>
#include <string>

#include <weft/weft.hpp>

inline weft::http::response slow_hello(const weft::http::request& req) {
    if (req.path() != "/") return {404, "Not Found\n"};
    long ms = 3000;
    if (auto delay = req.query_param("delay")) ms = std::stol(std::string(*delay));
    weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));  // parks this request only
    return {200, "Hello!"};
}
