// SPDX-License-Identifier: MIT
#include "http/proxy.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "detail/sys_error.hpp"
#include "weft/errors.hpp"
#include "weft/http/errors.hpp"
#include "weft/net/address.hpp"
#include "weft/timeout.hpp"

namespace weft::http::detail {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// printable() is text as it goes into an error message: bounded, control
// characters replaced.
std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (unsigned char c : text.substr(0, max)) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    if (text.size() > max) out += "...";
    return out;
}

// without_password() is a proxy URL as an error message shows it: the
// user stays, the password is "***".
std::string without_password(std::string_view text) {
    std::size_t start = text.find("://");
    start = start == std::string_view::npos ? 0 : start + 3;
    std::string_view authority = text.substr(start);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) return printable(text);
    std::size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos) return printable(text);
    return printable(std::string(text.substr(0, start + colon + 1)) + "***" + std::string(text.substr(start + at)));
}

using weft::detail::without_message;

[[noreturn]] void bad_proxy(std::string_view text, std::string_view why) {
    throw std::system_error(errc::bad_proxy, "proxy " + without_password(text) + ": " + std::string(why));
}

std::string base64(std::string_view in) {
    static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])); };
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int shift : {18, 12, 6, 0}) out += digits[(v >> shift) & 63];
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        const std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += rest == 2 ? digits[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// getenv_any(names) is the first of the variables that is set (even to ""), or nullptr.
const char* getenv_any(std::initializer_list<const char*> names) {
    for (const char* name : names)
        if (const char* v = std::getenv(name)) return v;
    return nullptr;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (err != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::optional<net::address> ip_of(std::string_view text) {
    std::error_code ec;
    net::address a = net::address::ip(text, 0, ec);
    if (ec) return std::nullopt;
    return a;
}

std::size_t ip_size(const net::address& a) noexcept { return a.is_v4() ? 4 : 16; }

bool same_ip(const net::address& a, const net::address& b) noexcept {
    return a.fam() == b.fam() && std::memcmp(a.bytes(), b.bytes(), ip_size(a)) == 0;
}

// in_block(ip, block) is whether ip is in the CIDR block "addr/bits".
bool in_block(const net::address& ip, std::string_view block) {
    const std::size_t slash = block.find('/');
    std::optional<net::address> base = ip_of(block.substr(0, slash));
    unsigned bits = 0;
    std::string_view len = block.substr(slash + 1);
    auto [end, err] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (!base || base->fam() != ip.fam() || err != std::errc{} || end != len.data() + len.size() ||
        bits > 8 * ip_size(ip))
        return false;
    const unsigned char* a = ip.bytes();
    const unsigned char* b = base->bytes();
    const unsigned whole = bits / 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    if (bits % 8 == 0) return true;
    const unsigned mask = (0xffu << (8 - bits % 8)) & 0xffu;
    return (a[whole] & mask) == (b[whole] & mask);
}

// header_end(data, from) is one past the empty line that ends the header
// block in data, searching from `from`, or npos. Lines end in CRLF, or in
// a bare LF (RFC 9112 2.2 lets a recipient take that).
std::size_t header_end(std::string_view data, std::size_t from) {
    for (std::size_t i = data.find('\n', from); i != std::string_view::npos; i = data.find('\n', i + 1)) {
        if (data.substr(i + 1, 1) == "\n") return i + 2;
        if (data.substr(i + 1, 2) == "\r\n") return i + 3;
    }
    return std::string_view::npos;
}

// answer is a proxy's answer to CONNECT, as far as the tunnel cares.
struct answer {
    int status = 0;
    std::string reason;
    std::vector<std::string> authenticate;  // the Proxy-Authenticate values
};

bool is_token_char(unsigned char c) noexcept {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// parse_answer() reads "HTTP/1.x NNN reason" and the header fields; false
// for what is not that.
bool parse_answer(std::string_view head, answer& out) {
    auto next_line = [&head] {
        std::size_t eol = head.find('\n');
        std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        return line;
    };
    std::string_view line = next_line();
    auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || !digit(line[7]) || line[8] != ' ' ||
        !std::all_of(line.begin() + 9, line.begin() + 12, digit) || (line.size() > 12 && line[12] != ' '))
        return false;
    std::from_chars(line.data() + 9, line.data() + 12, out.status);
    out.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
    while (!head.empty()) {
        line = next_line();
        if (line.empty()) break;  // the empty line that ends the header
        std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        // No name, a space before the colon, or a folded line (obs-fold): not HTTP.
        if (colon == std::string_view::npos || name.empty() || !std::ranges::all_of(name, is_token_char)) return false;
        if (lower(name) == "proxy-authenticate") out.authenticate.emplace_back(trim(line.substr(colon + 1)));
    }
    return true;
}

// left(until) is the time from now to `until`, for a call that takes a timeout.
std::chrono::nanoseconds left(deadline until) {
    if (until == never) return no_timeout;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(until - clock::now());
}

// fail_io() throws what a socket error while talking to the proxy means:
// weft's own errors (a timeout, a cancel) as they are, naming `what`; the
// socket's (refused, reset, no such host) as errc::proxy_unreachable, with
// the socket's words.
[[noreturn]] void fail_io(std::error_code ec, const std::string& what, std::chrono::nanoseconds timeout) {
    if (ec.category() == weft::error_category()) weft::detail::throw_error(ec, what, timeout);
    throw std::system_error(errc::proxy_unreachable, what + ": " + ec.message());
}

[[noreturn]] void tunnel_failed(const std::string& what, std::string_view why) {
    throw std::system_error(errc::tunnel_failed, what + ": " + std::string(why));
}

// read_answer() reads the proxy's answer to the end of its header and not a
// byte further: what follows is the tunnel's, and TLS reads it from the
// socket itself (tcp_stream's read-ahead would hide it). One byte is read
// (which waits for the answer, or for more of it), then what else has come
// is peeked at, and exactly the bytes up to the header's end are taken: a
// few syscalls, whatever the header's length.
std::string read_answer(net::tcp_stream& s, deadline until, const std::string& what, std::chrono::nanoseconds timeout) {
    std::string head;
    std::string peeked;
    for (;;) {
        std::error_code ec;
        char c = 0;
        if (s.read_some(std::span<char>(&c, 1), left(until), ec) == 0) {
            if (ec) fail_io(ec, what + ", reading the proxy's answer", timeout);
            tunnel_failed(what, head.empty() ? "the proxy closed the connection without answering"
                                             : "the proxy closed the connection in the middle of its answer (after " +
                                                   std::to_string(head.size()) + " bytes)");
        }
        head += c;
        peeked.resize(max_tunnel_header - std::min(head.size(), max_tunnel_header));
        ssize_t n =
            peeked.empty() ? 0 : ::recv(s.native_handle(), peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail_io(weft::detail::errno_code(), what + ", reading the proxy's answer", timeout);
        peeked.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        const std::size_t before = head.size();
        const std::size_t end = header_end(head + peeked, before >= 3 ? before - 3 : 0);
        const std::size_t take = end == std::string_view::npos ? peeked.size() : end - before;
        if (take > 0) {
            head.resize(before + take);
            s.read_exact(std::span<char>(head.data() + before, take), left(until), ec);
            if (ec) fail_io(ec, what + ", reading the proxy's answer", timeout);
        }
        if (end != std::string_view::npos) return head;
        if (head.size() >= max_tunnel_header)
            tunnel_failed(
                what, "the proxy's answer has no end of header within " + std::to_string(max_tunnel_header) + " bytes");
    }
}

}  // namespace

std::string proxy::key() const { return at.host + " " + std::to_string(at.port) + " " + authorization; }

std::string proxy::name() const {
    const std::string host = at.host.find(':') != std::string::npos ? "[" + at.host + "]" : at.host;
    return "http://" + host + ":" + std::to_string(at.port);
}

std::string basic_authorization(std::string_view user, std::string_view password) {
    std::string credentials(user);
    credentials += ':';
    credentials += password;
    return "Basic " + base64(credentials);
}

proxy parse_proxy(std::string_view text) {
    std::string full;
    if (std::size_t sep = text.find("://"); sep != std::string_view::npos) {
        const std::string scheme = lower(text.substr(0, sep));
        if (scheme == "https") bad_proxy(text, "a proxy spoken to over TLS (https://) is not supported; use http://");
        if (scheme.starts_with("socks")) bad_proxy(text, "SOCKS proxies are not supported; use an http:// proxy");
        if (scheme != "http") bad_proxy(text, "the scheme \"" + printable(scheme, 20) + "\" is not http://");
        full = text;
    } else {
        full = "http://";  // "host:port" (curl reads it so); appended, not "..." + string: GCC 12 -Wrestrict
        full += text;
    }
    proxy p;
    try {
        p.at = url::parse(full);
    } catch (const std::system_error& e) {
        throw std::system_error(errc::bad_proxy, "proxy " + without_message(e));
    }
    p.at.target.assign(1, '/');  // a path is ignored, as curl and Go do (assign: "/" trips GCC 12 -Wrestrict at -O3)
    if (!p.at.user.empty() || !p.at.password.empty()) p.authorization = basic_authorization(p.at.user, p.at.password);
    return p;
}

std::optional<proxy> proxy_for(const url& target, const options& opts) {
    if (opts.proxy) {
        if (opts.proxy->empty()) return std::nullopt;
        return parse_proxy(*opts.proxy);
    }
    if (!opts.proxy_from_environment) return std::nullopt;
    // Never HTTP_PROXY: in a CGI program, a request's "Proxy:" header
    // arrives as the variable HTTP_PROXY, so any client could choose where
    // its server's outgoing requests go ("httpoxy", CVE-2016-5385). curl and
    // Go read only http_proxy for that reason; the other names cannot be
    // set that way.
    const char* value =
        target.scheme == "https" ? getenv_any({"https_proxy", "HTTPS_PROXY"}) : getenv_any({"http_proxy"});
    if (!value || !*value) return std::nullopt;
    const char* skip = getenv_any({"no_proxy", "NO_PROXY"});
    if (skip && no_proxy_matches(skip, target.host, target.port)) return std::nullopt;
    return parse_proxy(value);
}

bool no_proxy_matches(std::string_view list, std::string_view host_text, std::uint16_t port) {
    if (host_text.starts_with('[') && host_text.ends_with(']')) host_text = host_text.substr(1, host_text.size() - 2);
    std::string host = lower(host_text);
    if (host.ends_with('.')) host.pop_back();
    const std::optional<net::address> host_ip = ip_of(host);
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view entry = trim(list.substr(0, comma));
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
        if (entry.empty()) continue;
        if (entry == "*") return true;
        // The port, when there is one: "[v6]:port", "name:port", "v4:port"
        // (an IPv6 address without brackets has two colons or more).
        std::string_view name = entry;
        std::string_view port_text;
        if (entry.front() == '[') {
            const std::size_t close = entry.find(']');
            if (close == std::string_view::npos) continue;
            name = entry.substr(1, close - 1);
            std::string_view rest = entry.substr(close + 1);
            if (!rest.empty() && rest.front() != ':') continue;
            if (!rest.empty()) port_text = rest.substr(1);
            if (port_text.empty() && !rest.empty()) continue;
        } else if (std::ranges::count(entry, ':') == 1) {
            name = entry.substr(0, entry.find(':'));
            port_text = entry.substr(entry.find(':') + 1);
            if (port_text.empty()) continue;
        }
        if (!port_text.empty()) {
            const std::optional<std::uint16_t> p = parse_port(port_text);
            if (!p || *p != port) continue;
        }
        if (name.find('/') != std::string_view::npos) {  // a CIDR block
            if (host_ip && in_block(*host_ip, name)) return true;
            continue;
        }
        if (std::optional<net::address> ip = ip_of(name)) {
            if (host_ip && same_ip(*host_ip, *ip)) return true;
            continue;
        }
        if (host_ip) continue;  // a name never matches an address ("0.1" is no domain of "10.0.0.1")
        std::string domain = lower(name);
        if (domain.starts_with("*.")) domain.erase(0, 1);
        if (domain.starts_with('.')) domain.erase(0, 1);
        if (domain.ends_with('.')) domain.pop_back();
        if (domain.empty()) continue;
        if (host == domain) return true;
        if (host.size() > domain.size() && host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.')
            return true;
    }
    return false;
}

net::tcp_stream connect_proxy(const proxy& p, std::chrono::nanoseconds timeout) {
    std::error_code ec;
    net::tcp_stream s = net::tcp_stream::connect(p.at.host, p.at.port, timeout, ec);
    if (ec) fail_io(ec, "proxy " + p.name() + ", connecting", timeout);
    const int one = 1;  // (only a speed-up: a failure is no reason to fail)
    ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

net::tcp_stream connect_tunnel(const proxy& p, std::string_view host, std::uint16_t port,
                               std::chrono::nanoseconds timeout) {
    const deadline until = deadline_after(timeout);
    // (url::parse checked it: this is for a caller that did not.)
    auto host_char = [](unsigned char c) { return c > 0x20 && c < 0x7f && c != '/' && c != '@'; };
    if (host.empty() || !std::ranges::all_of(host, host_char))
        throw std::system_error(errc::bad_url, "CONNECT to the host \"" + printable(host) + "\"");
    const std::string authority =
        (host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host)) + ":" +
        std::to_string(port);
    const std::string what = "proxy " + p.name() + ", CONNECT " + authority;
    net::tcp_stream s = connect_proxy(p, timeout);
    std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (!p.authorization.empty()) request += "Proxy-Authorization: " + p.authorization + "\r\n";
    request += "\r\n";
    std::error_code ec;
    s.write_all(request, left(until), ec);
    if (ec) fail_io(ec, what + ", sending the request", timeout);
    const std::string head = read_answer(s, until, what, timeout);
    answer a;
    if (!parse_answer(head, a)) {
        std::string_view first = std::string_view(head).substr(0, head.find('\n'));
        if (first.ends_with('\r')) first.remove_suffix(1);
        tunnel_failed(what, "the proxy's answer is not HTTP: \"" + printable(first) + "\"");
    }
    const std::string status = std::to_string(a.status) + (a.reason.empty() ? "" : " " + printable(a.reason));
    if (a.status == 407) {
        std::string why = "the proxy answered " + status +
                          (p.authorization.empty() ? " (no credential was sent)" : " (it refused the credential)");
        if (a.authenticate.empty()) why += ", without a Proxy-Authenticate";
        for (std::size_t i = 0; i < a.authenticate.size() && i < 4; ++i)
            why += (i == 0 ? "; Proxy-Authenticate: " : ", ") + printable(a.authenticate[i]);
        throw std::system_error(errc::proxy_auth_required, what + ": " + why);
    }
    if (a.status < 200 || a.status > 299) tunnel_failed(what, "the proxy answered " + status);
    return s;
}

}  // namespace weft::http::detail
