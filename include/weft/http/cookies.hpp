// SPDX-License-Identifier: MIT
// A cookie jar for the HTTP client (RFC 6265's storage model, its basics).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/message.hpp"
#include "weft/http/url.hpp"

namespace weft::http {

// cookie_jar keeps the cookies a client's responses set and says which go
// back on a request, as RFC 6265 section 5 has a user agent do: Domain
// (host-only without it), Path (the default path without it), Secure (set
// from and sent over https only), Expires and Max-Age (Max-Age wins; a date
// in the past or Max-Age <= 0 deletes the cookie); HttpOnly is kept and
// changes nothing for a client. Unknown attributes are ignored, and so is a
// Set-Cookie that is malformed (no '=', an empty name, a control character
// in the name or value). (Implementation: lib/http/cookies.cpp.)
//
// Limits: there is no public suffix list. A Domain of one label ("com",
// "localhost") is refused unless it is the request's host itself (then the
// cookie is host-only), so "example.com" cannot set cookies for all of
// ".com" — but "example.co.uk" can still set one for ".co.uk". A Domain on
// a host that is an IP address must be that address. Cookies set by an
// http:// response do not replace a Secure cookie of the same name (RFC
// 6265bis' rule). Nothing is kept on disk.
//
// No call parks, so fibers of one thread may share a jar; across threads
// the caller locks. Time is the system clock, passed in as `now` (tests
// pass their own).
class cookie_jar {
public:
    using time_point = std::chrono::system_clock::time_point;

    // store() takes every Set-Cookie field of a response to `from`.
    void store(const url& from, const headers& response_headers, time_point now = std::chrono::system_clock::now());
    // store_one() takes one Set-Cookie value; false when it was ignored
    // (malformed, longer than max_cookie_bytes, a Domain that `from` may
    // not set, Secure from http://). A cookie that arrives already expired
    // is not ignored: it deletes the one it names, and store_one() is true.
    bool store_one(const url& from, std::string_view set_cookie, time_point now = std::chrono::system_clock::now());
    // cookie_header() is the Cookie header's value for a request to `to`
    // ("a=1; b=2"), empty when no cookie matches: longer paths first, then
    // the earlier created (a replaced cookie keeps its creation time).
    std::string cookie_header(const url& to, time_point now = std::chrono::system_clock::now()) const;

    // size() is the number of cookies kept, counting any that expired
    // since the last store() (expired cookies are dropped there, lazily;
    // cookie_header() never sends them).
    std::size_t size() const noexcept;
    void clear() noexcept;

    // A Set-Cookie longer than max_cookie_bytes is ignored. A domain keeps
    // at most max_cookies_per_domain cookies and the jar max_cookies in all:
    // past either, expired cookies go first, then the earliest created.
    static constexpr std::size_t max_cookies = 3000;
    static constexpr std::size_t max_cookies_per_domain = 50;
    static constexpr std::size_t max_cookie_bytes = 4096;

private:
    struct cookie {
        std::string name, value;
        std::string domain;  // lower case, no leading dot; the host itself when host_only
        std::string path;    // starts with '/'
        bool host_only = true, secure = false, http_only = false;
        bool persistent = false;  // Expires or Max-Age was given; else expires is time_point::max()
        time_point expires{}, created{};
        // order breaks ties between equal creation times (cookies of one
        // response): the order they were first stored in. A replacement
        // keeps it, as it keeps `created`.
        std::uint64_t order = 0;
    };
    // purge() drops the cookies that have expired by `now`.
    void purge(time_point now);
    // evict_oldest() drops the earliest created cookie of `domain` (of any
    // domain when it is empty), never the one whose order is `keep`.
    void evict_oldest(std::string_view domain, std::uint64_t keep);

    std::vector<cookie> cookies_;  // in no particular order
    std::uint64_t next_order_ = 0;
};

}  // namespace weft::http
