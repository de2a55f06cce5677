// SPDX-License-Identifier: MIT
#include "weft/net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <ostream>

namespace weft::net {

namespace {

// bad() throws invalid_argument quoting `text`: clipped to 64 characters, with
// control characters (a '\0' would end what()) written as \xNN.
[[noreturn]] void bad(std::string_view text, const char* why) {
    constexpr std::size_t max_quoted = 64;
    std::string quoted;
    for (char c : text.substr(0, max_quoted)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            quoted += c;
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            quoted += {'\\', 'x', hex[u >> 4], hex[u & 15]};
        }
    }
    if (text.size() > max_quoted) quoted += "...";
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::net::address: \"" + quoted + "\": " + why);
}

// parse_ip() reads a numeric IPv4 or IPv6 address (no brackets, no port).
bool parse_ip(std::string_view ip, address::family& fam, unsigned char* out, std::uint32_t& scope) {
    // inet_pton() reads a C string: a '\0' inside would hide what follows it.
    if (ip.empty() || ip.size() > INET6_ADDRSTRLEN + 16 || ip.find('\0') != std::string_view::npos) return false;
    std::string s(ip);
    scope = 0;
    if (::inet_pton(AF_INET, s.c_str(), out) == 1) {
        fam = address::family::v4;
        return true;
    }
    auto pct = s.find('%');
    if (pct != std::string::npos) {  // fe80::1%3: a numeric scope id only
        std::string_view z = std::string_view(s).substr(pct + 1);
        auto [end, ec] = std::from_chars(z.data(), z.data() + z.size(), scope);
        if (z.empty() || ec != std::errc() || end != z.data() + z.size()) return false;
        s.resize(pct);
    }
    if (::inet_pton(AF_INET6, s.c_str(), out) == 1) {
        fam = address::family::v6;
        return true;
    }
    return false;
}

// parse_port() reads 0..65535, digits only.
bool parse_port(std::string_view p, std::uint16_t& port) {
    if (p.empty() || p.size() > 5) return false;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

// Returns nullptr on success, or what is wrong with `text`.
const char* parse_into(std::string_view text, const std::uint16_t* default_port, address::family& fam,
                       unsigned char* ip, std::uint32_t& scope, std::uint16_t& port) {
    if (text.empty()) return "empty address";
    std::string_view host, port_text;
    bool has_port = false;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return "'[' without ']'";
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return "expected ':' and a port after ']'";
            port_text = rest.substr(1);
            has_port = true;
        }
        if (!parse_ip(host, fam, ip, scope) || fam != address::family::v6) return "not an IPv6 address inside [...]";
    } else {
        auto colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') == colon) {  // one colon: v4:port
            host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
            has_port = true;
        } else {
            host = text;  // no colon (v4) or several (bare v6)
        }
        if (!parse_ip(host, fam, ip, scope)) return "not a numeric IPv4 or IPv6 address";
    }
    if (has_port) {
        if (!parse_port(port_text, port)) return "the port is not a number from 0 to 65535";
    } else if (default_port) {
        port = *default_port;
    } else {
        return "no port (write host:port, or [v6]:port)";
    }
    return nullptr;
}

}  // namespace

address::address() noexcept = default;

address address::parse(std::string_view text) {
    address a;
    if (const char* why = parse_into(text, nullptr, a.family_, a.ip_, a.scope_id_, a.port_)) bad(text, why);
    return a;
}

address address::parse(std::string_view text, std::uint16_t default_port) {
    address a;
    if (const char* why = parse_into(text, &default_port, a.family_, a.ip_, a.scope_id_, a.port_)) bad(text, why);
    return a;
}

address address::parse(std::string_view text, std::error_code& ec) noexcept {
    address a;
    ec.clear();
    if (parse_into(text, nullptr, a.family_, a.ip_, a.scope_id_, a.port_)) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return address();
    }
    return a;
}

address address::ip(std::string_view ip, std::uint16_t port) {
    address a;
    if (!parse_ip(ip, a.family_, a.ip_, a.scope_id_)) bad(ip, "not a numeric IPv4 or IPv6 address");
    a.port_ = port;
    return a;
}

address address::ip(std::string_view ip, std::uint16_t port, std::error_code& ec) noexcept {
    address a;
    ec.clear();
    if (!parse_ip(ip, a.family_, a.ip_, a.scope_id_)) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return address();
    }
    a.port_ = port;
    return a;
}

address address::loopback(std::uint16_t port, family f) noexcept {
    address a;
    a.family_ = f;
    a.port_ = port;
    if (f == family::v4) {
        a.ip_[0] = 127;
        a.ip_[3] = 1;
    } else {
        a.ip_[15] = 1;
    }
    return a;
}

address address::any(std::uint16_t port, family f) noexcept {
    address a;
    a.family_ = f;
    a.port_ = port;
    return a;
}

address address::from_sockaddr(const sockaddr* sa, unsigned len) {
    address a;
    if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        a.family_ = family::v4;
        std::memcpy(a.ip_, &in->sin_addr, 4);
        a.port_ = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        a.family_ = family::v6;
        std::memcpy(a.ip_, &in6->sin6_addr, 16);
        a.port_ = ntohs(in6->sin6_port);
        a.scope_id_ = in6->sin6_scope_id;
    } else {
        throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                                "weft::net::address: not an IPv4 or IPv6 socket address");
    }
    return a;
}

address address::with_port(std::uint16_t port) const noexcept {
    address a = *this;
    a.port_ = port;
    return a;
}

bool address::is_loopback() const noexcept {
    if (family_ == family::v4) return ip_[0] == 127;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(ip_, one, 16) == 0;
}

std::string address::ip_string() const {
    char buf[INET6_ADDRSTRLEN + 16];
    ::inet_ntop(family_ == family::v4 ? AF_INET : AF_INET6, ip_, buf, sizeof buf);
    std::string s = buf;
    if (family_ == family::v6 && scope_id_) (s += '%') += std::to_string(scope_id_);
    return s;
}

std::string address::to_string() const {
    // Appended piece by piece: GCC 12's -Wrestrict misfires on "literal" + std::string&&.
    std::string s = family_ == family::v4 ? ip_string() : '[' + ip_string() + ']';
    (s += ':') += std::to_string(port_);
    return s;
}

unsigned address::to_sockaddr(sockaddr* out) const noexcept {
    if (family_ == family::v4) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port_);
        std::memcpy(&in.sin_addr, ip_, 4);
        std::memcpy(out, &in, sizeof in);
        return sizeof in;
    }
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    in6.sin6_scope_id = scope_id_;
    std::memcpy(&in6.sin6_addr, ip_, 16);
    std::memcpy(out, &in6, sizeof in6);
    return sizeof in6;
}

std::ostream& operator<<(std::ostream& os, const address& a) { return os << a.to_string(); }

}  // namespace weft::net

std::size_t std::hash<weft::net::address>::operator()(const weft::net::address& a) const noexcept {
    std::size_t h = a.port() * 1099511628211ULL + (a.is_v6() ? 7 : 3);
    for (int i = 0; i < (a.is_v6() ? 16 : 4); ++i) h = (h ^ a.bytes()[i]) * 1099511628211ULL;
    return h;
}
