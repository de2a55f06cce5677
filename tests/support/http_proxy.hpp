// SPDX-License-Identifier: MIT
// http_proxy: a small HTTP forward proxy on 127.0.0.1:0, itself weft fibers,
// for the client's proxy tests. It forwards absolute-form requests ("GET
// http://host:port/path HTTP/1.1") to their origin and relays the answer
// (Content-Length, chunked or close-delimited bodies, keep-alive to the
// client), and tunnels CONNECT host:port by relaying bytes both ways. It
// can require a Basic credential (407 with a Proxy-Authenticate otherwise)
// and refuse every CONNECT (403). Counters tell a test what went through it.
//
// Bounded: a request head is at most 16 KiB and must come within 10 s of
// the last one, an origin gets 5 s to accept, and a relay that sees no byte
// for 30 s ends. Its fibers run in the test's weft::run(); destroying it
// closes its listener and cancels them all.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

namespace weft::test {

class http_proxy {
public:
    struct settings {
        // user and password: the Basic credential the proxy requires
        // (Proxy-Authorization); with an empty user it requires none.
        std::string user{};
        std::string password{};
        // refuse_connect answers every CONNECT "403 Forbidden".
        bool refuse_connect = false;
    };

    http_proxy() : http_proxy(settings{}) {}
    explicit http_proxy(settings s)
        : settings_(std::move(s)),
          listener_(net::tcp_listener::bind(net::address::loopback())),
          acceptor_(spawn([this] { accept_loop(); })) {}

    ~http_proxy() {
        listener_.close();
        acceptor_.cancel();
    }

    http_proxy(const http_proxy&) = delete;
    http_proxy& operator=(const http_proxy&) = delete;

    // url() is "http://127.0.0.1:PORT"; url(userinfo) puts "userinfo@" in it.
    std::string url() const { return "http://" + listener_.local_address().to_string(); }
    std::string url(std::string_view userinfo) const {
        return "http://" + std::string(userinfo) + "@" + listener_.local_address().to_string();
    }
    std::uint16_t port() const { return listener_.local_address().port(); }

    // requests() counts absolute-form requests, connects() CONNECT requests,
    // refused() the 407 and 403 answers among them, connections() the
    // connections accepted; open() is how many are being served now.
    int requests() const { return requests_; }
    int connects() const { return connects_; }
    int refused() const { return refused_; }
    int connections() const { return connections_; }
    int open() const { return open_; }
    // last_authorization() is the last Proxy-Authorization received ("" if none came).
    const std::string& last_authorization() const { return last_authorization_; }
    // targets() are the request targets, in order, as they came:
    // "http://127.0.0.1:8080/path" or "127.0.0.1:443".
    const std::vector<std::string>& targets() const { return targets_; }

private:
    static constexpr std::size_t max_head = 16 * 1024;
    static constexpr auto idle = std::chrono::seconds(10);
    static constexpr auto relay_idle = std::chrono::seconds(30);

    // message is a request or response head: its first line and its fields.
    struct message {
        std::string line;
        std::vector<std::pair<std::string, std::string>> fields;

        std::optional<std::string> get(std::string_view name) const {
            for (const auto& [n, v] : fields)
                if (same(n, name)) return v;
            return std::nullopt;
        }
    };

    enum class framing { none, length, chunked, until_close };

    static bool same(std::string_view a, std::string_view b) {
        auto eq = [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); };
        return std::ranges::equal(a, b, eq);
    }

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
        return s;
    }

    // parse() reads a head that read_until() returned (it ends in CRLF CRLF).
    static bool parse(std::string_view head, message& m) {
        std::size_t eol = head.find("\r\n");
        m.line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        while (head.size() > 2) {
            eol = head.find("\r\n");
            std::string_view line = head.substr(0, eol);
            head.remove_prefix(eol + 2);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t')
                return false;
            m.fields.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
        }
        return !m.line.empty();
    }

    // decode64() is base64 decoded, or nullopt when it is not base64 (the
    // proxy's own decoder: a test of the client's encoder must not use it).
    static std::optional<std::string> decode64(std::string_view in) {
        static constexpr std::string_view digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        if (in.size() % 4 != 0) return std::nullopt;
        std::string out;
        for (std::size_t i = 0; i < in.size(); i += 4) {
            unsigned v = 0;
            int pad = 0;
            for (std::size_t j = 0; j < 4; ++j) {
                std::size_t d = digits.find(in[i + j]);
                if (in[i + j] == '=' && i + 4 == in.size() && j >= 2) {
                    d = 0;
                    ++pad;
                } else if (d == std::string_view::npos || pad > 0) {
                    return std::nullopt;
                }
                v = v << 6 | static_cast<unsigned>(d);
            }
            out += static_cast<char>(v >> 16 & 0xff);
            if (pad < 2) out += static_cast<char>(v >> 8 & 0xff);
            if (pad < 1) out += static_cast<char>(v & 0xff);
        }
        return out;
    }

    bool authorized(const std::optional<std::string>& auth) const {
        if (settings_.user.empty()) return true;
        if (!auth || !same(std::string_view(*auth).substr(0, 6), "Basic ")) return false;
        return decode64(trim(std::string_view(*auth).substr(6))) == settings_.user + ":" + settings_.password;
    }

    static void answer(net::tcp_stream& c, std::string_view status, std::string_view extra = "") {
        std::error_code ec;
        c.write_all("HTTP/1.1 " + std::string(status) + "\r\n" + std::string(extra) +
                        "Content-Length: 0\r\nConnection: close\r\n\r\n",
                    std::chrono::seconds(5), ec);
    }

    void accept_loop() {
        std::vector<task<void>> conns;  // dropped (cancelled, waited for) with this fiber
        for (;;) {
            std::error_code ec;
            net::tcp_stream c = listener_.accept(ec);
            if (ec) return;
            std::erase_if(conns, [](const task<void>& t) { return t.done(); });
            ++connections_;
            conns.push_back(spawn([this](net::tcp_stream s) { serve(std::move(s)); }, std::move(c)));
        }
    }

    void serve(net::tcp_stream c) {
        ++open_;
        struct closing {
            int& open;
            ~closing() { --open; }
        } guard{open_};
        for (;;) {
            std::string head;
            std::error_code ec;
            if (c.read_until(head, "\r\n\r\n", max_head, idle, ec) == 0 || ec) return;
            message m;
            const std::size_t sp1 = head.find(' ');
            const std::size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
            if (!parse(head, m) || sp2 == std::string::npos) return answer(c, "400 Bad Request");
            const std::string method = m.line.substr(0, sp1);
            const std::string target = m.line.substr(sp1 + 1, sp2 - sp1 - 1);
            targets_.push_back(target);
            const bool connect = method == "CONNECT";
            ++(connect ? connects_ : requests_);
            const auto auth = m.get("Proxy-Authorization");
            if (auth) last_authorization_ = *auth;
            if (!authorized(auth)) {
                ++refused_;
                return answer(c, "407 Proxy Authentication Required",
                              "Proxy-Authenticate: Basic realm=\"weft test proxy\"\r\n");
            }
            if (connect) return tunnel(c, target);
            if (!forward(c, m, method, target)) return;
        }
    }

    // split_authority() reads "host:port" or "[v6]:port".
    static bool split_authority(std::string_view a, std::string& host, std::uint16_t& port) {
        const std::size_t colon = a.rfind(':');
        if (colon == std::string_view::npos) return false;
        std::string_view h = a.substr(0, colon);
        if (h.starts_with('[') && h.ends_with(']')) h = h.substr(1, h.size() - 2);
        std::string_view p = a.substr(colon + 1);
        unsigned v = 0;
        auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (h.empty() || err != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535) return false;
        host = h;
        port = static_cast<std::uint16_t>(v);
        return true;
    }

    void tunnel(net::tcp_stream& c, const std::string& target) {
        if (settings_.refuse_connect) {
            ++refused_;
            return answer(c, "403 Forbidden");
        }
        std::string host;
        std::uint16_t port = 0;
        if (!split_authority(target, host, port)) return answer(c, "400 Bad Request");
        std::error_code ec;
        net::tcp_stream up = net::tcp_stream::connect(host, port, std::chrono::seconds(5), ec);
        if (ec) return answer(c, "502 Bad Gateway");
        c.write_all("HTTP/1.1 200 Connection established\r\n\r\n", std::chrono::seconds(5), ec);
        if (ec) return;
        // Client to origin in a fiber of its own, origin to client here; each
        // direction passes the end of its stream on as a FIN.
        auto upward = spawn([&] { pump(c, up); });
        pump(up, c);
        upward.join();
    }

    static void pump(net::tcp_stream& from, net::tcp_stream& to) {
        std::vector<char> buf(16 * 1024);
        std::error_code ec;
        while (std::size_t n = from.read_some(buf, relay_idle, ec)) {
            if (to.write_all(std::string_view(buf.data(), n), relay_idle, ec); ec) break;
        }
        to.shutdown(ec);
    }

    // forward() sends an absolute-form request to its origin and relays the
    // answer; true when the client's connection may carry another request.
    bool forward(net::tcp_stream& c, const message& m, const std::string& method, const std::string& target) {
        std::error_code ec;
        http::url to = http::url::parse(target, ec);
        if (ec || to.scheme != "http") {
            answer(c, "400 Bad Request");
            return false;
        }
        framing request_body = framing::none;
        std::uint64_t request_length = 0;
        if (!body_framing(m, false, false, request_body, request_length) || request_body == framing::until_close) {
            answer(c, "400 Bad Request");
            return false;
        }
        net::tcp_stream up = net::tcp_stream::connect(to.host, to.port, std::chrono::seconds(5), ec);
        if (ec) {
            answer(c, "502 Bad Gateway");
            return false;
        }
        // The origin gets the origin form, one request per connection; what
        // was for the proxy stays here.
        std::string out = method + " " + to.target + " HTTP/1.1\r\n";
        for (const auto& [name, value] : m.fields)
            if (!same(name, "Proxy-Authorization") && !same(name, "Proxy-Connection") && !same(name, "Connection") &&
                !same(name, "Keep-Alive"))
                out += name + ": " + value + "\r\n";
        if (!m.get("Host")) out += "Host: " + to.authority() + "\r\n";
        out += "Connection: close\r\nVia: 1.1 weft-test-proxy\r\n\r\n";
        if (up.write_all(out, relay_idle, ec); ec) return false;
        if (!relay(c, up, request_body, request_length)) return false;

        message res;
        for (int interim = 0;; ++interim) {
            std::string head;
            if (up.read_until(head, "\r\n\r\n", 64 * 1024, relay_idle, ec) == 0 || ec || !parse(head, res) ||
                res.line.size() < 12) {
                answer(c, "502 Bad Gateway");
                return false;
            }
            if (res.line[9] != '1' || res.line.substr(9, 3) == "101" || interim == 16) break;
            if (c.write_all(head, relay_idle, ec); ec) return false;  // 100 Continue, 103 Early Hints
            res = {};
        }
        const int status = std::atoi(res.line.c_str() + 9);
        framing response_body = framing::none;
        std::uint64_t response_length = 0;
        if (!body_framing(res, method == "HEAD" || status == 204 || status == 304, true, response_body,
                          response_length)) {
            answer(c, "502 Bad Gateway");
            return false;
        }
        const auto connection = m.get("Connection");
        const bool keep = response_body != framing::until_close && m.line.ends_with("HTTP/1.1") &&
                          !(connection && same(*connection, "close"));
        std::string back = res.line + "\r\n";
        for (const auto& [name, value] : res.fields)
            if (!same(name, "Connection") && !same(name, "Keep-Alive") && !same(name, "Proxy-Connection"))
                back += name + ": " + value + "\r\n";
        back += keep ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
        back += "Via: 1.1 weft-test-proxy\r\n\r\n";
        if (c.write_all(back, relay_idle, ec); ec) return false;
        if (!relay(up, c, response_body, response_length)) return false;
        return keep;
    }

    // body_framing() says how the body after m's head ends (RFC 9112 6.3).
    static bool body_framing(const message& m, bool no_body, bool response, framing& f, std::uint64_t& length) {
        f = framing::none;
        if (no_body) return true;
        if (auto te = m.get("Transfer-Encoding")) {
            if (!same(trim(*te), "chunked")) return false;
            f = framing::chunked;
            return true;
        }
        if (auto cl = m.get("Content-Length")) {
            auto [end, err] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
            if (err != std::errc{} || end != cl->data() + cl->size()) return false;
            f = framing::length;
            return true;
        }
        if (response) f = framing::until_close;
        return true;
    }

    // relay() passes one body from `from` to `to` as it is framed.
    static bool relay(net::tcp_stream& from, net::tcp_stream& to, framing f, std::uint64_t length) {
        std::error_code ec;
        std::vector<char> buf(16 * 1024);
        auto copy = [&](std::uint64_t n, bool to_end) {
            while (to_end || n > 0) {
                const std::size_t want =
                    to_end ? buf.size() : static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
                std::size_t got = from.read_some(std::span<char>(buf.data(), want), relay_idle, ec);
                if (ec) return false;
                if (got == 0) return to_end;
                if (to.write_all(std::string_view(buf.data(), got), relay_idle, ec); ec) return false;
                if (!to_end) n -= got;
            }
            return true;
        };
        switch (f) {
            case framing::none: return true;
            case framing::length: return copy(length, false);
            case framing::until_close: return copy(0, true);
            case framing::chunked: break;
        }
        for (;;) {
            std::string line;
            if (from.read_until(line, "\r\n", 4096, relay_idle, ec) == 0 || ec) return false;
            if (to.write_all(line, relay_idle, ec); ec) return false;
            std::uint64_t size = 0;
            auto [end, err] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
            if (err != std::errc{} || (*end != '\r' && *end != ';' && *end != ' ')) return false;
            if (size == 0) break;
            if (!copy(size + 2, false)) return false;  // the data and its CRLF
        }
        for (;;) {  // the trailer section, to its empty line
            std::string line;
            if (from.read_until(line, "\r\n", 4096, relay_idle, ec) == 0 || ec) return false;
            if (to.write_all(line, relay_idle, ec); ec) return false;
            if (line == "\r\n") return true;
        }
    }

    settings settings_;
    int requests_ = 0;
    int connects_ = 0;
    int refused_ = 0;
    int connections_ = 0;
    int open_ = 0;
    std::string last_authorization_;
    std::vector<std::string> targets_;
    net::tcp_listener listener_;
    task<void> acceptor_;  // last: starts after the members it uses
};

}  // namespace weft::test
