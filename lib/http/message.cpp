// SPDX-License-Identifier: MIT
#include "weft/http/message.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace weft::http {

namespace {

// same_name() compares field names as HTTP does: ASCII letters without
// regard to case (not the C library's tolower(), a call per byte that a
// locale could make say more).
bool same_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x == y) continue;
        if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
    }
    return true;
}

// after_authority() skips "scheme://authority" of an absolute target.
std::string_view origin_form(std::string_view target) noexcept {
    if (target.empty() || target.front() == '/') return target;
    auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return target;
    auto path = target.find_first_of("/?", scheme_end + 3);
    return path == std::string_view::npos ? std::string_view{} : target.substr(path);
}

}  // namespace

std::optional<std::string_view> headers::get(std::string_view name) const {
    for (const auto& [n, v] : fields_)
        if (same_name(n, name)) return v;
    return std::nullopt;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
    std::vector<std::string_view> values;
    for (const auto& [n, v] : fields_)
        if (same_name(n, name)) values.emplace_back(v);
    return values;
}

void headers::add(std::string name, std::string value) {
    // Room for a message's usual handful of fields at once, not 1, 2, 4...
    if (fields_.capacity() == 0) fields_.reserve(8);
    fields_.emplace_back(std::move(name), std::move(value));
}

void headers::set(std::string_view name, std::string value) {
    auto it = std::ranges::find_if(fields_, [&](const field& f) { return same_name(f.first, name); });
    if (it == fields_.end()) {
        fields_.emplace_back(std::string(name), std::move(value));
        return;
    }
    it->second = std::move(value);
    std::erase_if(fields_, [&, first = &*it](const field& f) { return &f != first && same_name(f.first, name); });
}

void headers::remove(std::string_view name) {
    std::erase_if(fields_, [&](const field& f) { return same_name(f.first, name); });
}

std::string_view request::path() const noexcept {
    std::string_view t = origin_form(target);
    return t.substr(0, std::min(t.find('?'), t.find('#')));
}

std::string_view request::query() const noexcept {
    std::string_view t = origin_form(target);
    auto q = t.find('?');
    if (q == std::string_view::npos) return {};
    t.remove_prefix(q + 1);
    return t.substr(0, t.find('#'));
}

std::optional<std::string_view> request::query_param(std::string_view name) const noexcept {
    std::string_view q = query();
    while (!q.empty()) {
        std::string_view pair = q.substr(0, q.find('&'));
        q.remove_prefix(std::min(q.size(), pair.size() + 1));
        std::string_view key = pair.substr(0, pair.find('='));
        if (key == name) return key.size() == pair.size() ? std::string_view{} : pair.substr(key.size() + 1);
    }
    return std::nullopt;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
    }
    return {};
}

body_source file_source(const std::string& path, std::uint64_t* size) {
    // The descriptor is shared by the copies of the source (std::function
    // copies what it holds) and closed with the last of them.
    struct file {
        explicit file(int fd) noexcept : fd(fd) {}
        file(const file&) = delete;
        ~file() { ::close(fd); }
        int fd;
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "weft::http::file_source: " + path);
    auto f = std::make_shared<file>(fd);
    if (size) {
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            throw std::system_error(errno, std::generic_category(), "weft::http::file_source: " + path);
        *size = static_cast<std::uint64_t>(st.st_size);
    }
    return [f, path](std::span<char> buf) -> std::size_t {
        for (;;) {
            ssize_t n = ::read(f->fd, buf.data(), buf.size());
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "reading " + path);
        }
    };
}

}  // namespace weft::http
