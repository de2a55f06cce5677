// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>

namespace weft::http {

// url is an absolute http:// (or https://) URL taken apart:
// "http://[::1]:8080/a/b?q=1#top" has scheme "http", host "::1", port 8080,
// target "/a/b?q=1" (the fragment is dropped: it never goes on the wire).
struct url {
    std::string scheme;        // "http" or "https", lower case
    std::string host;          // a name or an IP, IPv6 without brackets, lower case
    std::uint16_t port = 80;   // the explicit port, else the scheme's (80, 443)
    std::string target = "/";  // path and query, never empty
    // user and password are the "user:password@" of the authority,
    // %-decoded (empty when absent). The client sends them as Basic
    // authorization to this URL's origin only; to_string() and every error
    // message leave them out.
    std::string user{};
    std::string password{};

    // parse() reads an absolute URL. Throws std::system_error: errc::bad_url
    // naming the text and what is wrong (no scheme, empty host, a port that is
    // not 1-65535, user:password@ which is not supported, spaces or control
    // characters), errc::unsupported_scheme for ftp:// and the like.
    static url parse(std::string_view text);
    static url parse(std::string_view text, std::error_code& ec);

    // resolve(reference) is where a link (a redirect's Location) found on
    // this URL's page points: absolute, "//host/path", "/path", "path" or "?q".
    url resolve(std::string_view reference) const;

    // authority() is "host[:port]" as the Host header carries it: IPv6 in
    // brackets, the port only when it is not the scheme's default.
    std::string authority() const;
    // to_string() is "scheme://authority target" (no user or password).
    std::string to_string() const;

    friend bool operator==(const url&, const url&) = default;
    friend std::ostream& operator<<(std::ostream& os, const url& u);
};

}  // namespace weft::http
