// SPDX-License-Identifier: MIT
// HTTP proxies (issue 12): which proxy a request goes through
// (options::proxy, http_proxy / https_proxy / no_proxy), Basic credentials,
// and CONNECT tunnels, against weft's test proxy (support/http_proxy.hpp),
// scripted misbehaving proxies (support/http_peer.hpp) and a real tinyproxy
// (Debian's package; those cases skip, saying so, when it is not installed).
// The cases tagged [integration] go through the public client (http::get);
// the others call lib/http/proxy.hpp directly.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/proxy.hpp"
#include "support/daemon.hpp"
#include "support/error_of.hpp"
#include "support/http_peer.hpp"
#include "support/http_proxy.hpp"
#include "support/run_bounded.hpp"
#include "support/serving.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using weft::http::errc;
using weft::http::request;
using weft::http::response;
using weft::http::detail::basic_authorization;
using weft::http::detail::connect_tunnel;
using weft::http::detail::no_proxy_matches;
using weft::http::detail::parse_proxy;
using weft::http::detail::proxy_for;
using weft::test::error_of;
using weft::test::http_peer;
using weft::test::http_proxy;
using weft::test::run_bounded;
using weft::test::serving;
namespace http = weft::http;
namespace net = weft::net;
namespace tls = weft::tls;

namespace {

const weft::test::pki::bundle& pki() { return weft::test::pki::shared_bundle(); }

tls::context server_ctx() {
    return tls::context::server({.cert_file = pki().cert_file("server"), .key_file = pki().key_file("server")});
}
tls::context client_ctx() { return tls::context::client({.ca_pem = pki().ca_pem}); }

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// proxy_env clears every proxy variable for the length of a test and puts
// them back as they were afterwards.
class proxy_env {
public:
    proxy_env() {
        for (const char* name : names) {
            const char* v = std::getenv(name);
            saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
            ::unsetenv(name);
        }
    }
    ~proxy_env() {
        for (const auto& [name, value] : saved_) {
            if (value)
                ::setenv(name, value->c_str(), 1);
            else
                ::unsetenv(name);
        }
    }
    void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
    void unset(const char* name) { ::unsetenv(name); }

private:
    static constexpr const char* names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                            "no_proxy",   "NO_PROXY",   "all_proxy",   "ALL_PROXY"};
    std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

http::url at(const char* text) { return http::url::parse(text); }

// with_user(url, userinfo) is "http://userinfo@host:port..." for "http://host:port...".
std::string with_user(std::string url, std::string_view userinfo) {
    return url.insert(std::string_view("http://").size(), std::string(userinfo) + "@");
}

// tls_echo: a TLS server on 127.0.0.1:0 (the bundle's "server" certificate)
// that answers each connection's first bytes with "echo: " and those bytes.
class tls_echo {
public:
    tls_echo()
        : listener_(net::tcp_listener::bind(net::address::loopback())), fiber_(weft::spawn([this] { loop(); })) {}
    ~tls_echo() {
        listener_.close();
        fiber_.cancel();
    }
    std::uint16_t port() const { return listener_.local_address().port(); }

private:
    void loop() {
        std::vector<weft::task<void>> conns;
        for (;;) {
            std::error_code ec;
            net::tcp_stream c = listener_.accept(ec);
            if (ec) return;
            conns.push_back(weft::spawn(
                [this](net::tcp_stream c) {
                    std::error_code e;
                    tls::stream s = tls::stream::accept(std::move(c), ctx_, 5s, e);
                    if (e) return;
                    char buf[512];
                    std::size_t n = s.read_some(buf, 5s, e);
                    if (e || n == 0) return;
                    s.write_all("echo: " + std::string(buf, n), 5s, e);
                    s.shutdown(5s, e);
                },
                std::move(c)));
        }
    }
    tls::context ctx_ = server_ctx();
    net::tcp_listener listener_;
    weft::task<void> fiber_;
};

// through_tls(tcp, text) runs a TLS handshake with the test CA over tcp
// (checking "127.0.0.1" against the certificate), sends text and returns
// what tls_echo answers.
std::string through_tls(net::tcp_stream tcp, std::string_view text) {
    const tls::context ctx = client_ctx();
    tls::stream s = tls::stream::connect(std::move(tcp), "127.0.0.1", ctx, 5s);
    s.write_all(text);
    std::string got;
    char buf[512];
    while (std::size_t n = s.read_some(buf, 5s)) got.append(buf, n);
    return got;
}

// closed_port() is a loopback port nobody listens on (bound, then closed).
std::uint16_t closed_port() {
    auto l = net::tcp_listener::bind(net::address::loopback());
    return l.local_address().port();
}

// tinyproxy runs Debian's tinyproxy in the foreground on a free loopback
// port, with a config file written for it: Allow 127.0.0.1, CONNECT to
// `connect_port` only, and Basic auth when `user` is set. Each call is
// bounded: it waits at most 10 s for "Starting main loop", and the
// destructor SIGTERMs, waits 2 s, then SIGKILLs. available() is whether it
// is installed.
class tinyproxy {
public:
    static constexpr const char* path = "/usr/bin/tinyproxy";
    static bool available() { return ::access(path, X_OK) == 0; }

    explicit tinyproxy(std::uint16_t connect_port, std::string user = "", std::string password = "") {
        char dir[] = "/tmp/weft-tinyproxy-XXXXXX";
        if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
        dir_ = dir;
        // The port: one the kernel just gave out and took back. Another
        // process could take it meanwhile; then tinyproxy exits and we try
        // another.
        for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
            const std::uint16_t port = free_port();
            const std::string conf = dir_ + "/tinyproxy.conf";
            std::ofstream(conf) << "Port " << port << "\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n"
                                << "ConnectPort " << connect_port << "\nMaxClients 16\nLogLevel Info\n"
                                << (user.empty() ? "" : "BasicAuth " + user + " " + password + "\n");
            if (start(conf)) port_ = port;
        }
        if (port_ == 0) {
            std::filesystem::remove_all(dir_);
            throw std::runtime_error("tinyproxy did not start; its output:\n" + proc_.output());
        }
    }
    ~tinyproxy() {
        proc_.stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    tinyproxy(const tinyproxy&) = delete;
    tinyproxy& operator=(const tinyproxy&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    const std::string& output() const { return proc_.output(); }

private:
    static std::uint16_t free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        return ntohs(a.sin_port);
    }

    // start() runs tinyproxy and waits for it to listen; false if it exits first.
    bool start(const std::string& conf) { return proc_.start({path, "-d", "-c", conf}, "Starting main loop"); }

    std::string dir_;
    weft::test::daemon proc_;
    std::uint16_t port_ = 0;
};

// have_tinyproxy() is whether tinyproxy is installed; a test without it says it skipped.
bool have_tinyproxy() {
    if (tinyproxy::available()) return true;
    WARN("SKIPPED: tinyproxy is not installed (apt-get install tinyproxy; scripts/test.sh does)");
    return false;
}

}  // namespace

// --- basic_authorization

TEST_CASE("basic_authorization is RFC 7617's, for every length of credential", "[proxy]") {
    CHECK(basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617 2
    CHECK(basic_authorization("test", "123\xC2\xA3") == "Basic dGVzdDoxMjPCow==");  // RFC 7617 2.1, UTF-8
    CHECK(basic_authorization("", "") == "Basic Og==");
    CHECK(basic_authorization("a", "") == "Basic YTo=");
    CHECK(basic_authorization("ab", "c") == "Basic YWI6Yw==");
    CHECK(basic_authorization("user", "pw") == "Basic dXNlcjpwdw==");
    // Every byte value goes through (the last group of 6 bits of 0xff... is '/').
    CHECK(basic_authorization(std::string("\xff\xfe", 2), "") == "Basic //46");
}

// --- no_proxy_matches

TEST_CASE("no_proxy: a name matches itself and its subdomains, with or without a leading dot", "[proxy][no_proxy]") {
    for (const char* list : {"example.com", ".example.com", "*.example.com", "EXAMPLE.COM", "example.com."}) {
        INFO(list);
        CHECK(no_proxy_matches(list, "example.com", 80));
        CHECK(no_proxy_matches(list, "www.example.com", 443));
        CHECK(no_proxy_matches(list, "a.b.example.com", 8080));
        CHECK(no_proxy_matches(list, "Example.Com", 80));
        CHECK(no_proxy_matches(list, "example.com.", 80));
        CHECK_FALSE(no_proxy_matches(list, "notexample.com", 80));
        CHECK_FALSE(no_proxy_matches(list, "example.com.evil.test", 80));
        CHECK_FALSE(no_proxy_matches(list, "example.org", 80));
        CHECK_FALSE(no_proxy_matches(list, "com", 80));
    }
    CHECK(no_proxy_matches("localhost", "localhost", 80));
    CHECK_FALSE(no_proxy_matches("localhost", "localhost.example", 80));
}

TEST_CASE("no_proxy: lists, blanks, '*', and entries that cannot match", "[proxy][no_proxy]") {
    CHECK(no_proxy_matches("*", "anything.test", 1));
    CHECK(no_proxy_matches("*", "10.0.0.1", 1));
    CHECK(no_proxy_matches("*", "::1", 1));
    CHECK(no_proxy_matches(" foo.test ,\texample.com ", "www.example.com", 80));
    CHECK(no_proxy_matches(" foo.test ,\texample.com ", "foo.test", 80));
    CHECK(no_proxy_matches("a.test,,b.test,", "b.test", 80));
    CHECK_FALSE(no_proxy_matches("", "example.com", 80));
    CHECK_FALSE(no_proxy_matches(" , ,", "example.com", 80));
    CHECK_FALSE(no_proxy_matches("*.", "example.com", 80));
    CHECK_FALSE(no_proxy_matches("foo*", "foo.test", 80));  // '*' is all or nothing
    // A bad port or prefix length makes an entry match nothing.
    CHECK_FALSE(no_proxy_matches("example.com:http", "example.com", 80));
    CHECK_FALSE(no_proxy_matches("example.com:", "example.com", 80));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/33", "10.0.0.1", 80));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/x", "10.0.0.1", 80));
    CHECK_FALSE(no_proxy_matches("[::1", "::1", 80));
}

TEST_CASE("no_proxy: an entry with a port matches that port only", "[proxy][no_proxy]") {
    CHECK(no_proxy_matches("example.com:8080", "www.example.com", 8080));
    CHECK_FALSE(no_proxy_matches("example.com:8080", "www.example.com", 80));
    CHECK(no_proxy_matches("127.0.0.1:443", "127.0.0.1", 443));
    CHECK_FALSE(no_proxy_matches("127.0.0.1:443", "127.0.0.1", 80));
    CHECK(no_proxy_matches("[::1]:8443", "::1", 8443));
    CHECK_FALSE(no_proxy_matches("[::1]:8443", "::1", 443));
    CHECK(no_proxy_matches("[::1]", "::1", 443));
}

TEST_CASE("no_proxy: IP literals match the same address exactly, IPv6 with or without brackets", "[proxy][no_proxy]") {
    CHECK(no_proxy_matches("10.1.2.3", "10.1.2.3", 80));
    CHECK_FALSE(no_proxy_matches("10.1.2.3", "10.1.2.4", 80));
    CHECK_FALSE(no_proxy_matches("10.1.2.3", "110.1.2.3", 80));
    CHECK_FALSE(no_proxy_matches("1.2.3", "10.1.2.3", 80));  // not a domain of an address
    CHECK_FALSE(no_proxy_matches("10.1.2.3", "10.1.2.3.example", 80));
    CHECK(no_proxy_matches("::1", "::1", 80));
    CHECK(no_proxy_matches("::1", "[::1]", 80));
    CHECK(no_proxy_matches("[::1]", "[::1]", 80));
    CHECK(no_proxy_matches("0:0:0:0:0:0:0:1", "::1", 80));  // the same address, written out
    CHECK(no_proxy_matches("FE80::1", "fe80::1", 80));
    CHECK_FALSE(no_proxy_matches("::1", "::2", 80));
    CHECK_FALSE(no_proxy_matches("::1", "127.0.0.1", 80));
}

TEST_CASE("no_proxy: CIDR blocks match the addresses in them", "[proxy][no_proxy]") {
    CHECK(no_proxy_matches("10.0.0.0/8", "10.255.1.1", 80));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "11.0.0.1", 80));
    CHECK(no_proxy_matches("192.168.1.0/23", "192.168.0.255", 80));  // the block is 192.168.0.0 - 192.168.1.255
    CHECK(no_proxy_matches("192.168.1.0/23", "192.168.1.7", 80));
    CHECK_FALSE(no_proxy_matches("192.168.1.0/23", "192.168.2.0", 80));
    CHECK(no_proxy_matches("127.0.0.1/32", "127.0.0.1", 80));
    CHECK_FALSE(no_proxy_matches("127.0.0.1/32", "127.0.0.2", 80));
    CHECK(no_proxy_matches("0.0.0.0/0", "203.0.113.9", 80));
    CHECK_FALSE(no_proxy_matches("0.0.0.0/0", "::1", 80));  // another family
    CHECK(no_proxy_matches("::1/128", "::1", 80));
    CHECK_FALSE(no_proxy_matches("::1/128", "::2", 80));
    CHECK(no_proxy_matches("fd00::/8", "fd12:3456::1", 80));
    CHECK_FALSE(no_proxy_matches("fd00::/8", "fe80::1", 80));
    CHECK(no_proxy_matches("2001:db8::/33", "2001:db8:7fff::1", 80));
    CHECK_FALSE(no_proxy_matches("2001:db8::/33", "2001:db8:8000::1", 80));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "ten.example", 80));  // a name is in no block
}

// --- proxy_for and parse_proxy

TEST_CASE("options::proxy: http:// with or without a scheme, the credential as Basic, \"\" for none",
          "[proxy][proxy_for]") {
    proxy_env env;
    http::options o;
    CHECK_FALSE(proxy_for(at("http://example.com/"), o));

    o.proxy = "http://user:p%40ss@127.0.0.1:3128";
    auto p = proxy_for(at("http://example.com/"), o);
    REQUIRE(p);
    CHECK(p->at.host == "127.0.0.1");
    CHECK(p->at.port == 3128);
    CHECK(p->authorization == basic_authorization("user", "p@ss"));  // %-decoded
    CHECK(p->name() == "http://127.0.0.1:3128");
    CHECK_FALSE(contains(p->name(), "p@ss"));
    CHECK(proxy_for(at("https://example.com/"), o)->at.port == 3128);  // https:// goes through it too

    // Another credential, another pool key.
    CHECK(p->key() != parse_proxy("http://other:p%40ss@127.0.0.1:3128").key());
    CHECK(p->key() != parse_proxy("http://127.0.0.1:3128").key());
    CHECK(parse_proxy("127.0.0.1:3128").key() == parse_proxy("http://127.0.0.1:3128/").key());

    o.proxy = "proxy.test:8080";  // no scheme: http://, as curl reads it
    p = proxy_for(at("http://example.com/"), o);
    REQUIRE(p);
    CHECK(p->at.scheme == "http");
    CHECK(p->at.host == "proxy.test");
    CHECK(p->at.port == 8080);
    CHECK(p->authorization.empty());
    CHECK(parse_proxy("proxy.test").at.port == 80);
    CHECK(parse_proxy("HTTP://Proxy.Test:81").at.host == "proxy.test");
    CHECK(parse_proxy("[::1]:3128").name() == "http://[::1]:3128");
    CHECK(parse_proxy("http://user@p.test:1").authorization == basic_authorization("user", ""));

    // "" is no proxy, even with the environment asked for and set.
    env.set("http_proxy", "http://127.0.0.1:9");
    o.proxy = "";
    o.proxy_from_environment = true;
    CHECK_FALSE(proxy_for(at("http://example.com/"), o));
    // A proxy given is for every request: no_proxy is the environment's.
    env.set("no_proxy", "*");
    o.proxy = "http://127.0.0.1:3128";
    CHECK(proxy_for(at("http://example.com/"), o));
}

TEST_CASE("a proxy URL that is not http:// or does not parse is errc::bad_proxy, without its password",
          "[proxy][proxy_for]") {
    for (const char* bad : {"https://user:secret@p.test:443", "socks5://user:secret@p.test:1080",
                            "socks5h://p.test:1080", "ftp://p.test", "http://", "http://user:secret@p.test:99999",
                            "http://user:secret@p.test:x", "user:secret@p.test:0", "http://p test:1", "://p.test"}) {
        INFO(bad);
        auto e = error_of([&] { parse_proxy(bad); });
        CHECK(e.code() == errc::bad_proxy);
        CHECK(contains(e.what(), "proxy"));
        CHECK_FALSE(contains(e.what(), "secret"));
        http::options o;
        o.proxy = bad;
        CHECK(error_of([&] { proxy_for(at("http://example.com/"), o); }).code() == errc::bad_proxy);
    }
    auto e = error_of([] { parse_proxy("socks5://p.test:1080"); });
    CHECK(contains(e.what(), "SOCKS"));
    e = error_of([] { parse_proxy("https://user:secret@p.test:443"); });
    CHECK(contains(e.what(), "https://user:***@p.test:443"));
}

TEST_CASE("the environment: http_proxy for http://, https_proxy then HTTPS_PROXY for https://, never HTTP_PROXY",
          "[proxy][proxy_for]") {
    proxy_env env;
    http::options o;
    o.proxy_from_environment = true;
    const auto plain = at("http://example.com/");
    const auto secure = at("https://example.com/");
    CHECK_FALSE(proxy_for(plain, o));
    CHECK_FALSE(proxy_for(secure, o));

    // HTTP_PROXY can be set by a CGI request's "Proxy:" header (httpoxy): never read.
    env.set("HTTP_PROXY", "http://127.0.0.1:1");
    CHECK_FALSE(proxy_for(plain, o));
    CHECK_FALSE(proxy_for(secure, o));

    env.set("http_proxy", "127.0.0.1:2");
    REQUIRE(proxy_for(plain, o));
    CHECK(proxy_for(plain, o)->at.port == 2);
    CHECK_FALSE(proxy_for(secure, o));  // http_proxy is for http:// only

    env.set("HTTPS_PROXY", "http://127.0.0.1:3");
    REQUIRE(proxy_for(secure, o));
    CHECK(proxy_for(secure, o)->at.port == 3);
    env.set("https_proxy", "http://u:p@127.0.0.1:4");
    CHECK(proxy_for(secure, o)->at.port == 4);  // lower case first
    CHECK(proxy_for(secure, o)->authorization == basic_authorization("u", "p"));
    CHECK(proxy_for(plain, o)->at.port == 2);

    env.set("http_proxy", "");  // set and empty: no proxy
    CHECK_FALSE(proxy_for(plain, o));

    // Without proxy_from_environment, none of it counts.
    o.proxy_from_environment = false;
    CHECK_FALSE(proxy_for(secure, o));

    o.proxy_from_environment = true;
    env.set("http_proxy", "socks5://127.0.0.1:1080");
    CHECK(error_of([&] { proxy_for(plain, o); }).code() == errc::bad_proxy);
}

TEST_CASE("the environment: no_proxy (then NO_PROXY) skips the proxy for the hosts it names", "[proxy][proxy_for]") {
    proxy_env env;
    http::options o;
    o.proxy_from_environment = true;
    env.set("http_proxy", "http://127.0.0.1:2");
    env.set("https_proxy", "http://127.0.0.1:3");

    env.set("NO_PROXY", "example.com");
    CHECK_FALSE(proxy_for(at("http://www.example.com/"), o));
    CHECK_FALSE(proxy_for(at("https://example.com/"), o));
    CHECK(proxy_for(at("http://example.org/"), o));

    env.set("no_proxy", "10.0.0.0/8, [::1]:8443");  // lower case first
    CHECK(proxy_for(at("http://www.example.com/"), o));
    CHECK_FALSE(proxy_for(at("http://10.9.8.7:8080/"), o));
    CHECK_FALSE(proxy_for(at("https://[::1]:8443/"), o));
    CHECK(proxy_for(at("https://[::1]/"), o));  // port 443

    // A target that no_proxy skips never has its proxy parsed.
    env.set("http_proxy", "socks5://127.0.0.1:1080");
    CHECK_FALSE(proxy_for(at("http://10.0.0.1/"), o));
}

// --- connect_tunnel

TEST_CASE("connect_tunnel through the test proxy: a TLS handshake and bytes both ways over the tunnel",
          "[proxy][tunnel]") {
    run_bounded(20s, [] {
        tls_echo origin;
        http_proxy proxy;
        auto p = parse_proxy(proxy.url());
        net::tcp_stream t = connect_tunnel(p, "127.0.0.1", origin.port(), 5s);
        CHECK(through_tls(std::move(t), "hello") == "echo: hello");
        CHECK(proxy.connects() == 1);
        CHECK(proxy.requests() == 0);
        REQUIRE(proxy.targets().size() == 1);
        CHECK(proxy.targets()[0] == "127.0.0.1:" + std::to_string(origin.port()));
        CHECK(proxy.last_authorization().empty());
    });
}

TEST_CASE("connect_tunnel with a proxy that wants a credential: 407 without it or with a wrong one",
          "[proxy][tunnel]") {
    run_bounded(20s, [] {
        tls_echo origin;
        http_proxy proxy({.user = "user", .password = "pw"});

        auto e = error_of([&] { connect_tunnel(parse_proxy(proxy.url()), "127.0.0.1", origin.port(), 5s); });
        CHECK(e.code() == errc::proxy_auth_required);
        CHECK(contains(e.what(), "407"));
        CHECK(contains(e.what(), "no credential was sent"));
        CHECK(contains(e.what(), "Proxy-Authenticate: Basic realm=\"weft test proxy\""));
        CHECK(contains(e.what(), proxy.url()));

        e = error_of([&] { connect_tunnel(parse_proxy(proxy.url("user:wrong")), "127.0.0.1", origin.port(), 5s); });
        CHECK(e.code() == errc::proxy_auth_required);
        CHECK(contains(e.what(), "refused the credential"));
        CHECK_FALSE(contains(e.what(), "wrong"));

        net::tcp_stream t = connect_tunnel(parse_proxy(proxy.url("user:pw")), "127.0.0.1", origin.port(), 5s);
        CHECK(through_tls(std::move(t), "with a credential") == "echo: with a credential");
        CHECK(proxy.last_authorization() == "Basic dXNlcjpwdw==");
        CHECK(proxy.connects() == 3);
        CHECK(proxy.refused() == 2);
    });
}

TEST_CASE("connect_tunnel: a refused CONNECT (403) or one the proxy cannot carry out (502) is tunnel_failed",
          "[proxy][tunnel]") {
    run_bounded(20s, [] {
        tls_echo origin;
        http_proxy refusing({.refuse_connect = true});
        auto e = error_of([&] { connect_tunnel(parse_proxy(refusing.url()), "127.0.0.1", origin.port(), 5s); });
        CHECK(e.code() == errc::tunnel_failed);
        CHECK(contains(e.what(), "403 Forbidden"));
        CHECK(contains(e.what(), "CONNECT 127.0.0.1:" + std::to_string(origin.port())));

        http_proxy proxy;
        e = error_of([&] { connect_tunnel(parse_proxy(proxy.url()), "127.0.0.1", closed_port(), 5s); });
        CHECK(e.code() == errc::tunnel_failed);
        CHECK(contains(e.what(), "502 Bad Gateway"));
    });
}

TEST_CASE("connect_tunnel: a proxy nobody listens on, or one that resets, is proxy_unreachable naming it",
          "[proxy][tunnel]") {
    run_bounded(20s, [] {
        const auto port = closed_port();
        auto p = parse_proxy("http://127.0.0.1:" + std::to_string(port));
        auto e = error_of([&] { connect_tunnel(p, "127.0.0.1", 443, 5s); });
        CHECK(e.code() == errc::proxy_unreachable);
        CHECK(contains(e.what(), "http://127.0.0.1:" + std::to_string(port)));
        CHECK(contains(e.what(), std::make_error_code(std::errc::connection_refused).message()));

        http_peer resetting("", http_peer::then::reset);
        e = error_of([&] { connect_tunnel(parse_proxy(resetting.url()), "127.0.0.1", 443, 5s); });
        CHECK(e.code() == errc::proxy_unreachable);
        CHECK(contains(e.what(), std::make_error_code(std::errc::connection_reset).message()));
    });
}

TEST_CASE("connect_tunnel: a proxy that never answers is a timeout_error after `timeout`", "[proxy][tunnel]") {
    run_bounded(20s, [] {
        http_peer silent("", http_peer::then::hang);
        const auto start = weft::clock::now();
        try {
            connect_tunnel(parse_proxy(silent.url()), "127.0.0.1", 443, 300ms);
            FAIL("no timeout");
        } catch (const weft::timeout_error& e) {
            CHECK(contains(e.what(), "CONNECT 127.0.0.1:443"));
            CHECK(contains(e.what(), "timeout 300 ms"));
        }
        const auto took = weft::clock::now() - start;
        CHECK(took >= 300ms);
        CHECK(took < 5s);
        // And one that answers part of its header, then nothing.
        http_peer halfway("HTTP/1.1 200 Connection established\r\n", http_peer::then::hang);
        CHECK_THROWS_AS(connect_tunnel(parse_proxy(halfway.url()), "127.0.0.1", 443, 300ms), weft::timeout_error);
    });
}

TEST_CASE("connect_tunnel: what the proxy sends, byte for byte, and the answers it may give", "[proxy][tunnel]") {
    run_bounded(20s, [] {
        // The request, exactly; an IPv6 target in brackets.
        http_peer ok("HTTP/1.1 200 Connection established\r\n\r\n", http_peer::then::hang);
        net::tcp_stream t = connect_tunnel(parse_proxy(with_user(ok.url(), "user:pw")), "::1", 8443, 5s);
        REQUIRE(ok.heads().size() == 1);
        CHECK(ok.heads()[0] ==
              "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n\r\n");

        // HTTP/1.0, bare LFs, header fields, a reason with spaces, an answer
        // dripped a byte at a time: all a tunnel.
        for (const char* answer : {"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\n\n", "HTTP/1.1 204\r\n\r\n",
                                   "HTTP/1.1 200 Connection Established\r\nVia: 1.1 p\r\nX-A:\r\n\r\n"}) {
            INFO(answer);
            http_peer p(answer, http_peer::then::hang);
            CHECK_NOTHROW(connect_tunnel(parse_proxy(p.url()), "127.0.0.1", 443, 5s));
        }
        http_peer drip([](int, const std::string&) {
            return http_peer::reply{.bytes = "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n",
                                    .after = http_peer::then::hang,
                                    .drip = 1ms};
        });
        CHECK_NOTHROW(connect_tunnel(parse_proxy(drip.url()), "127.0.0.1", 443, 5s));

        // What is not 2xx, not HTTP, or never ends.
        struct bad {
            std::string answer;
            const char* says;
        };
        for (const bad& b : {bad{"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad", "502 Bad Gateway"},
                             bad{"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", "301 Moved"},
                             bad{"HTTP/1.1 100 Continue\r\n\r\n", "100 Continue"},
                             bad{"SSH-2.0-OpenSSH_9.2\r\n\r\n", "is not HTTP: \"SSH-2.0-OpenSSH_9.2\""},
                             bad{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "is not HTTP"},
                             bad{"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "is not HTTP"},
                             bad{"HTTP/1.1 2000 OK\r\n\r\n", "is not HTTP"},
                             bad{"HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
                                 "no end of header within 16384 bytes"},
                             bad{"", "closed the connection without answering"},
                             bad{"HTTP/1.1 200 OK\r\n", "in the middle of its answer (after 17 bytes)"}}) {
            INFO(b.answer.substr(0, 60));
            http_peer p(b.answer, http_peer::then::close);
            auto e = error_of([&] { connect_tunnel(parse_proxy(p.url()), "127.0.0.1", 443, 5s); });
            CHECK(e.code() == errc::tunnel_failed);
            INFO(e.what());
            CHECK(contains(e.what(), b.says));
        }
    });
}

TEST_CASE("connect_tunnel reads the answer's header and not a byte more: what follows is the tunnel's",
          "[proxy][tunnel]") {
    run_bounded(20s, [] {
        // A 2xx to CONNECT has no body whatever its header says (RFC 9110
        // 9.3.6): bytes after it are the origin's, and they must still be in
        // the socket, where TLS reads them, not in a buffer above it.
        for (const char* answer : {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEARLY", "HTTP/1.1 200 OK\n\nEARLY",
                                   "HTTP/1.1 200 OK\r\n\n\r\nEARLY"}) {
            INFO(answer);
            http_peer p(answer, http_peer::then::close);
            net::tcp_stream t = connect_tunnel(parse_proxy(p.url()), "127.0.0.1", 443, 5s);
            REQUIRE(net::wait_readable(t.native_handle(), 5s));
            std::string got;
            char buf[64];
            for (ssize_t n; (n = ::recv(t.native_handle(), buf, sizeof buf, MSG_DONTWAIT)) != 0;) {
                if (n > 0)
                    got.append(buf, static_cast<std::size_t>(n));
                else if (errno == EAGAIN)
                    net::wait_readable(t.native_handle(), 5s);
                else
                    break;
            }
            CHECK(got == (std::string_view(answer).ends_with("\r\n\n\r\nEARLY") ? "\r\nEARLY" : "EARLY"));
        }
    });
}

// --- tinyproxy, a proxy nobody here wrote

TEST_CASE("connect_tunnel through tinyproxy: TLS end to end; its 407 names its Proxy-Authenticate",
          "[proxy][tunnel][tinyproxy]") {
    if (!have_tinyproxy()) return;
    run_bounded(30s, [] {
        tls_echo origin;
        tinyproxy tp(origin.port());
        net::tcp_stream t = connect_tunnel(parse_proxy(tp.url()), "127.0.0.1", origin.port(), 5s);
        CHECK(through_tls(std::move(t), "via tinyproxy") == "echo: via tinyproxy");

        // ConnectPort: any other port is refused.
        auto e = error_of([&] { connect_tunnel(parse_proxy(tp.url()), "127.0.0.1", closed_port(), 5s); });
        CHECK(e.code() == errc::tunnel_failed);
        CHECK(contains(e.what(), "403"));

        tinyproxy guarded(origin.port(), "user", "pw");
        e = error_of([&] { connect_tunnel(parse_proxy(guarded.url()), "127.0.0.1", origin.port(), 5s); });
        CHECK(e.code() == errc::proxy_auth_required);
        CHECK(contains(e.what(), "Proxy-Authenticate: Basic realm="));
        // Its own base64 decoder takes ours.
        t = connect_tunnel(parse_proxy(with_user(guarded.url(), "user:pw")), "127.0.0.1", origin.port(), 5s);
        CHECK(through_tls(std::move(t), "with a credential") == "echo: with a credential");
    });
}

// --- end to end, through the public client ([integration]: they need the
// client to use lib/http/proxy.hpp)

namespace {

// seen() answers what the origin saw: the target, and the fields a proxy
// adds or must not pass on.
response seen(const request& req) {
    response r(200, req.method + " " + req.target);
    r.headers.add("X-Seen-Proxy-Authorization", std::string(req.headers.get("Proxy-Authorization").value_or("-")));
    r.headers.add("X-Seen-Via", std::string(req.headers.get("Via").value_or("-")));
    r.headers.add("X-Seen-Host", std::string(req.headers.get("Host").value_or("-")));
    return r;
}

http::server_options tls_server() {
    http::server_options o;
    o.tls = server_ctx();
    return o;
}

http::options trusting() {
    http::options o;
    o.tls = client_ctx();
    return o;
}

}  // namespace

TEST_CASE("http:// through a proxy: the request goes to it in absolute form and arrives at the origin",
          "[proxy][integration]") {
    run_bounded(20s, [] {
        serving origin(seen);
        http_proxy proxy;
        http::options o;
        o.proxy = proxy.url();
        response r = http::get(origin.url("/x?y=1"), o);
        CHECK(r.status == 200);
        CHECK(r.body == "GET /x?y=1");
        CHECK(r.headers.get("X-Seen-Via") == "1.1 weft-test-proxy");
        CHECK(r.headers.get("X-Seen-Host") == "127.0.0.1:" + std::to_string(origin.srv.local_address().port()));
        CHECK(proxy.requests() == 1);
        CHECK(proxy.connects() == 0);
        REQUIRE(proxy.targets().size() == 1);
        CHECK(proxy.targets()[0] == origin.url("/x?y=1"));

        // A POST with a body, and the connection to the proxy kept alive.
        request post{.method = "POST", .target = origin.url("/p"), .body = "payload"};
        CHECK(http::send(post, o).body == "POST /p");
        CHECK(proxy.requests() == 2);
        CHECK(proxy.connections() == 1);
    });
}

TEST_CASE("https:// through a proxy: a CONNECT tunnel, and the TLS handshake with the origin, verified",
          "[proxy][integration]") {
    run_bounded(20s, [] {
        serving origin(seen, tls_server());
        http_proxy proxy;
        auto o = trusting();
        o.proxy = proxy.url();
        response r = http::get(origin.url("/secure"), o);
        CHECK(r.status == 200);
        CHECK(r.body == "GET /secure");
        CHECK(r.headers.get("X-Seen-Via") == "-");  // the proxy saw only TLS records
        CHECK(proxy.connects() == 1);
        CHECK(proxy.requests() == 0);
        REQUIRE(proxy.targets().size() == 1);
        CHECK(proxy.targets()[0] == "127.0.0.1:" + std::to_string(origin.srv.local_address().port()));
        // The tunnel is kept alive like any https connection.
        CHECK(http::get(origin.url("/again"), o).body == "GET /again");
        CHECK(proxy.connects() == 1);

        // The origin's certificate is still checked: the system trust store
        // does not know the test CA.
        http::options untrusting;
        untrusting.proxy = proxy.url();
        auto e = error_of([&] { http::get(origin.url("/"), untrusting); });
        CHECK(e.code().category() == tls::error_category());
    });
}

TEST_CASE("a proxy's credential goes as Basic Proxy-Authorization, to the proxy only", "[proxy][integration]") {
    run_bounded(20s, [] {
        serving plain(seen);
        serving secure(seen, tls_server());
        http_proxy proxy({.user = "user", .password = "p@ss word"});
        auto o = trusting();
        o.proxy = proxy.url("user:p%40ss%20word");
        response r = http::get(plain.url("/a"), o);
        CHECK(r.status == 200);
        CHECK(r.headers.get("X-Seen-Proxy-Authorization") == "-");
        CHECK(proxy.last_authorization() == "Basic dXNlcjpwQHNzIHdvcmQ=");
        r = http::get(secure.url("/b"), o);
        CHECK(r.status == 200);
        CHECK(r.headers.get("X-Seen-Proxy-Authorization") == "-");
        CHECK(proxy.refused() == 0);

        // Without it, an http:// request gets the proxy's 407 as its
        // response (as with curl and Go: it is an answer to that request);
        // an https:// one never gets to send its request: proxy_auth_required.
        o.proxy = proxy.url();
        r = http::get(plain.url("/"), o);
        CHECK(r.status == 407);
        CHECK(r.headers.get("Proxy-Authenticate") == "Basic realm=\"weft test proxy\"");
        auto e = error_of([&] { http::get(secure.url("/"), o); });
        CHECK(e.code() == errc::proxy_auth_required);
        CHECK(contains(e.what(), "Basic realm=\"weft test proxy\""));
    });
}

TEST_CASE("each way a proxy fails is its own error code", "[proxy][integration]") {
    run_bounded(20s, [] {
        serving plain(seen);
        serving secure(seen, tls_server());
        auto o = trusting();

        o.proxy = "http://127.0.0.1:" + std::to_string(closed_port());
        CHECK(error_of([&] { http::get(plain.url(), o); }).code() == errc::proxy_unreachable);
        CHECK(error_of([&] { http::get(secure.url(), o); }).code() == errc::proxy_unreachable);

        http_proxy refusing({.refuse_connect = true});
        o.proxy = refusing.url();
        CHECK(error_of([&] { http::get(secure.url(), o); }).code() == errc::tunnel_failed);

        for (const char* bad : {"socks5://127.0.0.1:1080", "https://127.0.0.1:3128", "http://127.0.0.1:0"}) {
            o.proxy = bad;
            CHECK(error_of([&] { http::get(plain.url(), o); }).code() == errc::bad_proxy);
        }

        // A proxy that never answers CONNECT: connect_timeout ends it.
        http_peer silent("", http_peer::then::hang);
        o.proxy = silent.url();
        o.connect_timeout = 300ms;
        CHECK_THROWS_AS(http::get(secure.url(), o), weft::timeout_error);
    });
}

TEST_CASE("proxy_from_environment: http_proxy and https_proxy are used, no_proxy skips them", "[proxy][integration]") {
    proxy_env env;
    run_bounded(20s, [&] {
        serving plain(seen);
        serving secure(seen, tls_server());
        http_proxy proxy;
        env.set("http_proxy", proxy.url());
        env.set("https_proxy", proxy.url());
        auto o = trusting();

        CHECK(http::get(plain.url("/direct"), o).status == 200);  // not asked to read the environment
        CHECK(proxy.requests() == 0);

        o.proxy_from_environment = true;
        CHECK(http::get(plain.url("/via"), o).status == 200);
        CHECK(http::get(secure.url("/via"), o).status == 200);
        CHECK(proxy.requests() == 1);
        CHECK(proxy.connects() == 1);

        env.set("no_proxy", "localhost, 127.0.0.0/8");
        CHECK(http::get(plain.url("/skip"), o).status == 200);
        CHECK(http::get(secure.url("/skip"), o).status == 200);
        CHECK(proxy.requests() == 1);
        CHECK(proxy.connects() == 1);

        env.unset("no_proxy");
        o.proxy = "";  // no proxy, whatever the environment says
        CHECK(http::get(plain.url("/none"), o).status == 200);
        CHECK(proxy.requests() == 1);
    });
}

TEST_CASE("http:// and https:// through tinyproxy", "[proxy][integration][tinyproxy]") {
    if (!have_tinyproxy()) return;
    run_bounded(30s, [] {
        serving plain(seen);
        serving secure(seen, tls_server());
        tinyproxy tp(secure.srv.local_address().port());
        auto o = trusting();
        o.proxy = tp.url();
        response r = http::get(plain.url("/tp?q=1"), o);
        CHECK(r.status == 200);
        CHECK(r.body == "GET /tp?q=1");
        CHECK(contains(r.headers.get("X-Seen-Via").value_or(""), "tinyproxy"));
        r = http::get(secure.url("/tps"), o);
        CHECK(r.status == 200);
        CHECK(r.body == "GET /tps");
        CHECK(r.headers.get("X-Seen-Via") == "-");
    });
}
