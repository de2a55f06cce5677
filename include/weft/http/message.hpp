// SPDX-License-Identifier: MIT
// HTTP/1.1 messages as plain values: headers, request, response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

// headers is an ordered list of header fields. Names compare without regard
// to case; a name may repeat (Set-Cookie), and the order is kept as sent.
class headers {
public:
    using field = std::pair<std::string, std::string>;  // name, value

    headers() = default;
    headers(std::initializer_list<field> fields) : fields_(fields) {}

    // get(name) is the first value of `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const;
    // get_all(name) is every value of `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;
    bool contains(std::string_view name) const { return get(name).has_value(); }
    // add() appends a field (keeping any of the same name); set() replaces
    // every field of that name with one; remove() drops them all.
    void add(std::string name, std::string value);
    void set(std::string_view name, std::string value);
    void remove(std::string_view name);

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }

    friend bool operator==(const headers&, const headers&) = default;

private:
    std::vector<field> fields_;
};

// body_source makes a body piece by piece, for a body too large to hold in
// memory (a file, a generator): called with a buffer, it fills a part of it
// and returns how many bytes it wrote; 0 at the end of the body. It may block
// (read a file, fetch) and may throw: the exchange then fails with that
// exception.
using body_source = std::function<std::size_t(std::span<char>)>;

// file_source(path) reads the file at `path` (opened now: std::system_error
// naming it if it cannot be) and sets *size to its size when size is given.
body_source file_source(const std::string& path, std::uint64_t* size = nullptr);

// request is an HTTP request. For the client (http::send), `target` is the
// absolute URL ("http://example.com:8080/path?q=1"); a server's handler sees
// the target as the client sent it ("/path?q=1").
struct request {
    std::string method = "GET";
    std::string target{};  // (the {}s keep -Wextra quiet about designated initializers)
    http::headers headers{};
    std::string body{};
    // body_source, when set, streams the body instead of `body`: with
    // body_length as Content-Length (the source must give exactly that
    // many bytes), or chunked without it. A client sends such a body once:
    // it is not retried, and a 307/308 redirect is returned, not followed
    // (errc::body_not_replayable is never silent data loss). A server's
    // handler sees one when server_options::stream_request_bodies is set:
    // reading it reads the upload from the connection as it arrives.
    http::body_source body_source{};
    std::optional<std::uint64_t> body_length{};

    // path() is the target without its query; query() is what follows '?'
    // (empty when there is none). For an absolute target both skip the
    // scheme and authority.
    std::string_view path() const noexcept;
    std::string_view query() const noexcept;
    // query_param(name) is the value of `name` in the query ("a=1&b=2"), not
    // percent-decoded; nullopt when absent.
    std::optional<std::string_view> query_param(std::string_view name) const noexcept;
};

// response is an HTTP response. A server's handler returns one; `reason`
// empty means the standard phrase for `status`.
struct response {
    int status = 200;
    std::string reason;
    http::headers headers;
    std::string body;
    // body_source, when a server's handler sets it, streams the response's
    // body instead of `body` (body_length: Content-Length, else chunked;
    // see request::body_source). The client never sets it: read a large
    // body with client::open().
    http::body_source body_source{};
    std::optional<std::uint64_t> body_length{};

    response() = default;
    response(int status, std::string body) : status(status), body(std::move(body)) {}
};

// reason_phrase(status) is the standard phrase ("Not Found"), or "" for an
// unknown code.
std::string_view reason_phrase(int status) noexcept;

}  // namespace weft::http
