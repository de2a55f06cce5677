// SPDX-License-Identifier: MIT
// HTTP/1.1 messages as plain values: headers, request, response.
#pragma once

#include <optional>
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

// request is an HTTP request. For the client (http::send), `target` is the
// absolute URL ("http://example.com:8080/path?q=1"); a server's handler sees
// the target as the client sent it ("/path?q=1").
struct request {
    std::string method = "GET";
    std::string target{};  // (the {}s keep -Wextra quiet about designated initializers)
    http::headers headers{};
    std::string body{};

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

    response() = default;
    response(int status, std::string body) : status(status), body(std::move(body)) {}
};

// reason_phrase(status) is the standard phrase ("Not Found"), or "" for an
// unknown code.
std::string_view reason_phrase(int status) noexcept;

}  // namespace weft::http
