// SPDX-License-Identifier: MIT
#include "weft/http/url.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>
#include <vector>

#include "weft/http/errors.hpp"
#include "weft/net/address.hpp"

namespace weft::http {

namespace {

std::uint16_t default_port(std::string_view scheme) noexcept { return scheme == "https" ? 443 : 80; }

// ASCII only, as URLs are (not the C library's, a call per byte that a
// locale could make say more).
bool is_alnum(unsigned char c) noexcept { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

bool is_host_char(unsigned char c) noexcept { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// assign_lower() sets out to s in lower case.
void assign_lower(std::string& out, std::string_view s) {
    out.assign(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
}

// without_userinfo() is text with any "user:password@" of its authority
// left out: a password never goes into an error message or a log.
std::string without_userinfo(std::string_view text) {
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return std::string(text);
    std::string_view rest = text.substr(sep + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    auto at = authority.rfind('@');
    if (at == std::string_view::npos) return std::string(text);
    return std::string(text.substr(0, sep + 3)) + "***@" + std::string(rest.substr(at + 1));
}

// quote() is the URL as it goes into an error message: bounded, printable,
// without a password.
std::string quote(std::string_view raw) {
    const std::string text = without_userinfo(raw);
    std::string out = "\"";
    for (unsigned char c : std::string_view(text).substr(0, 200))
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    if (text.size() > 200) out += "...";
    return out + "\"";
}

// remove_dot_segments() resolves "." and ".." in an absolute path (RFC 3986 5.2.4).
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> kept;
    bool trailing_slash = false;
    while (!path.empty()) {
        path.remove_prefix(1);  // the '/'
        std::string_view seg = path.substr(0, path.find('/'));
        path.remove_prefix(seg.size());
        trailing_slash = path.empty() && (seg == "." || seg == "..");
        if (seg == ".") continue;
        if (seg == "..") {
            if (!kept.empty()) kept.pop_back();
            continue;
        }
        kept.push_back(seg);
    }
    std::string out;
    for (std::string_view seg : kept) (out += '/') += seg;
    if (out.empty() || trailing_slash) out += '/';
    return out;
}

// percent_decode() appends text with its %XX escapes decoded to out; false
// for a bad escape or a control character (which a header cannot carry).
bool percent_decode(std::string_view text, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '%') {
            unsigned value = 0;
            if (i + 2 >= text.size()) return false;
            auto [end, err] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
            if (err != std::errc{} || end != text.data() + i + 3) return false;
            c = static_cast<unsigned char>(value);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) return false;
        out += static_cast<char>(c);
    }
    return true;
}

// parse_target() checks path and query, %-encodes bytes outside ASCII, and
// drops the fragment.
bool parse_target(std::string_view text, std::string& out, std::string& why) {
    text = text.substr(0, text.find('#'));
    out.clear();
    if (text.empty() || text.front() == '?') out += '/';
    // Most targets are printable ASCII already: one copy.
    if (std::ranges::all_of(text, [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
        out.append(text);
        return true;
    }
    for (unsigned char c : text) {
        if (c <= 0x20 || c == 0x7f) {
            why = "a space or control character in the path";
            return false;
        }
        if (c >= 0x80) {
            static constexpr char hex[] = "0123456789ABCDEF";
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return true;
}

std::error_code parse_into(std::string_view text, url& u, std::string& why) {
    auto sep = text.find("://");
    std::string_view scheme = sep == std::string_view::npos ? std::string_view{} : text.substr(0, sep);
    if (scheme.empty() ||
        !std::ranges::all_of(scheme, [](unsigned char c) { return is_alnum(c) || c == '+' || c == '-' || c == '.'; })) {
        why = "no scheme (expected http://host/...)";
        return errc::bad_url;
    }
    assign_lower(u.scheme, scheme);
    if (u.scheme != "http" && u.scheme != "https") {
        why = "the scheme \"" + u.scheme + "\" is not supported (only http://)";
        return errc::unsupported_scheme;
    }
    std::string_view rest = text.substr(sep + 3);
    std::size_t end = 0;  // (find_first_of("/?#") calls memchr for every byte)
    while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '#') ++end;
    std::string_view authority = rest.substr(0, end);
    rest.remove_prefix(authority.size());
    u.user.clear();
    u.password.clear();
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        auto colon = userinfo.find(':');
        if (!percent_decode(userinfo.substr(0, colon), u.user) ||
            (colon != std::string_view::npos && !percent_decode(userinfo.substr(colon + 1), u.password))) {
            why = "a user name or password with a bad %-escape or a control character";
            return errc::bad_url;
        }
    }
    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            why = "an IPv6 host without its closing ']'";
            return errc::bad_url;
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            why = "something other than :port after the IPv6 host";
            return errc::bad_url;
        }
        if (!after.empty()) port = after.substr(1);
        std::error_code ec;
        net::address::parse(std::string(authority.substr(0, close + 1)) + ":1", ec);
        if (ec || host.find(':') == std::string_view::npos) {
            why = "\"" + std::string(host) + "\" is not an IPv6 address";
            return errc::bad_url;
        }
    } else {
        auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        if (!std::ranges::all_of(host, is_host_char)) {
            why = "the host \"" + std::string(host) + "\" has a character a host name cannot have";
            return errc::bad_url;
        }
    }
    if (host.empty()) {
        why = "no host";
        return errc::bad_url;
    }
    assign_lower(u.host, host);
    u.port = default_port(u.scheme);
    if (!port.empty()) {
        unsigned value = 0;
        auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (err != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            why = "the port \"" + std::string(port) + "\" is not a number from 1 to 65535";
            return errc::bad_url;
        }
        u.port = static_cast<std::uint16_t>(value);
    }
    if (!parse_target(rest, u.target, why)) return errc::bad_url;
    return {};
}

}  // namespace

url url::parse(std::string_view text) {
    url u;
    std::string why;
    if (std::error_code ec = parse_into(text, u, why)) throw std::system_error(ec, quote(text) + ": " + why);
    return u;
}

url url::parse(std::string_view text, std::error_code& ec) {
    url u;
    std::string why;
    ec = parse_into(text, u, why);
    return ec ? url{} : u;
}

url url::resolve(std::string_view ref) const {
    auto colon = ref.find("://");
    auto first_special = ref.find_first_of("/?#");
    if (colon != std::string_view::npos && colon < first_special) return parse(ref);
    if (ref.starts_with("//")) return parse(scheme + ":" + std::string(ref));
    url out = *this;  // (a relative reference keeps the user and password: same origin)
    std::string why;
    std::string target;
    if (ref.empty() || ref.front() == '#') return out;
    if (ref.front() == '?') {
        std::string_view path = std::string_view(this->target).substr(0, this->target.find('?'));
        if (!parse_target(std::string(path) + std::string(ref), target, why))
            throw std::system_error(errc::bad_url, quote(ref) + ": " + why);
        out.target = std::move(target);
        return out;
    }
    std::string joined;
    if (ref.front() == '/') {
        joined = ref;
    } else {
        std::string_view path = std::string_view(this->target).substr(0, this->target.find('?'));
        joined = std::string(path.substr(0, path.rfind('/') + 1)) + std::string(ref);
    }
    if (!parse_target(joined, target, why)) throw std::system_error(errc::bad_url, quote(ref) + ": " + why);
    auto q = target.find('?');
    out.target = remove_dot_segments(std::string_view(target).substr(0, q)) +
                 (q == std::string::npos ? std::string{} : target.substr(q));
    return out;
}

std::string url::authority() const {
    std::string a = host.find(':') != std::string::npos ? '[' + host + ']' : host;
    if (port != default_port(scheme)) (a += ':') += std::to_string(port);
    return a;
}

std::string url::to_string() const { return scheme + "://" + authority() + target; }

std::ostream& operator<<(std::ostream& os, const url& u) { return os << u.to_string(); }

}  // namespace weft::http
