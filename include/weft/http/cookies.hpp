// SPDX-License-Identifier: MIT
// A cookie jar for the HTTP client (RFC 6265's storage model, its basics).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/message.hpp"
#include "weft/http/url.hpp"

namespace weft::http {

// cookie_jar keeps the cookies a client's responses set and says which go
// back on a request. (Implementation: lib/http/cookies.cpp.)
class cookie_jar {
public:
    using time_point = std::chrono::system_clock::time_point;

    // store() takes every Set-Cookie field of a response to `from`.
    void store(const url& from, const headers& response_headers, time_point now = std::chrono::system_clock::now());
    // store_one() takes one Set-Cookie value; false when it was ignored.
    bool store_one(const url& from, std::string_view set_cookie, time_point now = std::chrono::system_clock::now());
    // cookie_header() is the Cookie header's value for a request to `to`
    // ("a=1; b=2"), empty when no cookie matches.
    std::string cookie_header(const url& to, time_point now = std::chrono::system_clock::now()) const;

    std::size_t size() const noexcept;
    void clear() noexcept;

    static constexpr std::size_t max_cookies = 3000;
    static constexpr std::size_t max_cookies_per_domain = 50;
    static constexpr std::size_t max_cookie_bytes = 4096;

private:
    struct cookie {
        std::string name, value, domain, path;
        bool host_only = true, secure = false, persistent = false;
        time_point expires{}, created{};
    };
    std::vector<cookie> cookies_;
};

}  // namespace weft::http
