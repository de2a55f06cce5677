// SPDX-License-Identifier: MIT
// cookie_jar: RFC 6265 section 5's storage model — Domain and host-only,
// Path and the default path, Secure, Expires and Max-Age against a given
// `now`, replacement, limits, ordering, malformed lines, IP hosts — and a
// round trip with weft's own server over 127.0.0.1.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/run_bounded.hpp"
#include "support/serving.hpp"

using namespace std::chrono_literals;
using weft::http::cookie_jar;
using weft::http::url;

namespace {

using time_point = cookie_jar::time_point;
using std::chrono::June;
using std::chrono::seconds;
using std::chrono::sys_days;

// t0 is 2021-06-09 10:00:00 UTC, the "now" of most cases.
const time_point t0 = sys_days{2021y / June / 9} + 10h;

url at(std::string_view text) { return url::parse(text); }

// sent() is the Cookie header the jar has for `to` at `now`.
std::string sent(const cookie_jar& jar, std::string_view to, time_point now = t0) {
    return jar.cookie_header(at(to), now);
}

}  // namespace

TEST_CASE("host-only cookies go back to their host only; a Domain cookie to the domain and the names under it",
          "[http][cookies]") {
    cookie_jar jar;
    CHECK(jar.store_one(at("http://example.com/"), "host=1", t0));
    CHECK(jar.store_one(at("http://example.com/"), "dom=2; Domain=example.com", t0));
    CHECK(jar.store_one(at("http://example.com/"), "dot=3; Domain=.EXAMPLE.com", t0));  // leading dot, any case
    CHECK(jar.size() == 3);
    CHECK(sent(jar, "http://example.com/") == "host=1; dom=2; dot=3");
    CHECK(sent(jar, "http://www.example.com/") == "dom=2; dot=3");
    CHECK(sent(jar, "http://a.b.example.com/x") == "dom=2; dot=3");
    CHECK(sent(jar, "http://notexample.com/") == "");
    CHECK(sent(jar, "http://example.org/") == "");
    CHECK(sent(jar, "http://com/") == "");
    // Ports and schemes are not part of a cookie's scope.
    CHECK(sent(jar, "https://example.com:8443/") == "host=1; dom=2; dot=3");
}

TEST_CASE("a Domain must be the host or above it, and not a single label", "[http][cookies]") {
    cookie_jar jar;
    const url www = at("http://www.example.com/");
    CHECK(jar.store_one(www, "up=1; Domain=example.com", t0));
    CHECK(jar.store_one(www, "self=1; Domain=www.example.com", t0));
    CHECK_FALSE(jar.store_one(www, "below=1; Domain=a.www.example.com", t0));
    CHECK_FALSE(jar.store_one(www, "other=1; Domain=example.org", t0));
    CHECK_FALSE(jar.store_one(www, "suffix=1; Domain=ample.com", t0));  // not at a label boundary
    CHECK_FALSE(jar.store_one(www, "tld=1; Domain=com", t0));
    CHECK_FALSE(jar.store_one(www, "tld=1; Domain=.com", t0));
    CHECK(jar.size() == 2);
    CHECK(sent(jar, "http://example.com/") == "up=1");
    CHECK(sent(jar, "http://x.www.example.com/") == "up=1; self=1");

    // A single-label host may name itself: the cookie is host-only.
    CHECK(jar.store_one(at("http://localhost/"), "local=1; Domain=localhost", t0));
    CHECK(sent(jar, "http://localhost/") == "local=1");
    CHECK(sent(jar, "http://sub.localhost/") == "");
    // An empty Domain is ignored (host-only), as RFC 6265 5.2.3 suggests.
    CHECK(jar.store_one(at("http://example.net/"), "empty=1; Domain=", t0));
    CHECK(sent(jar, "http://www.example.net/") == "");
    CHECK(sent(jar, "http://example.net/") == "empty=1");
}

TEST_CASE("IP hosts: host-only, or a Domain that is the same address", "[http][cookies]") {
    cookie_jar jar;
    const url v4 = at("http://127.0.0.1:8080/");
    CHECK(jar.store_one(v4, "a=1", t0));
    CHECK(jar.store_one(v4, "b=2; Domain=127.0.0.1", t0));
    CHECK_FALSE(jar.store_one(v4, "c=3; Domain=0.0.1", t0));
    CHECK_FALSE(jar.store_one(v4, "d=4; Domain=1", t0));
    CHECK(sent(jar, "http://127.0.0.1/") == "a=1; b=2");
    CHECK(sent(jar, "http://0.0.1/") == "");
    CHECK(sent(jar, "http://10.127.0.0.1/") == "");  // not a "subdomain": an address matches only itself

    const url v6 = at("http://[::1]:8080/");
    CHECK(jar.store_one(v6, "e=5; Domain=::1", t0));
    CHECK_FALSE(jar.store_one(v6, "f=6; Domain=1", t0));
    CHECK(sent(jar, "http://[::1]/") == "e=5");
    CHECK(sent(jar, "http://127.0.0.1/") == "a=1; b=2");
}

TEST_CASE("Path: a cookie goes to its path and the paths below it, not to siblings that share a prefix",
          "[http][cookies]") {
    cookie_jar jar;
    CHECK(jar.store_one(at("http://example.com/"), "p=1; Path=/foo", t0));
    CHECK(sent(jar, "http://example.com/foo") == "p=1");
    CHECK(sent(jar, "http://example.com/foo/") == "p=1");
    CHECK(sent(jar, "http://example.com/foo/bar") == "p=1");
    CHECK(sent(jar, "http://example.com/foo?x=/y") == "p=1");
    CHECK(sent(jar, "http://example.com/foobar") == "");
    CHECK(sent(jar, "http://example.com/Foo") == "");  // paths compare with case
    CHECK(sent(jar, "http://example.com/") == "");

    jar.clear();
    CHECK(jar.store_one(at("http://example.com/"), "q=1; Path=/foo/", t0));
    CHECK(sent(jar, "http://example.com/foo/bar") == "q=1");
    CHECK(sent(jar, "http://example.com/foo/") == "q=1");
    CHECK(sent(jar, "http://example.com/foo") == "");
}

TEST_CASE("the default path is the request path's directory; a Path that is not absolute is the default too",
          "[http][cookies]") {
    struct example {
        const char* from;
        const char* in_scope;
        const char* out_of_scope;
    };
    const example cases[] = {
        {"http://h.test/a/b/c?x=1", "http://h.test/a/b/z", "http://h.test/a/c"},
        {"http://h.test/a/b/", "http://h.test/a/b", "http://h.test/a/bc"},
        {"http://h.test/a", "http://h.test/other", nullptr},
        {"http://h.test/", "http://h.test/other", nullptr},
        {"http://h.test/?q=/x/y", "http://h.test/other", nullptr},
    };
    for (const auto& ex : cases) {
        for (const char* line : {"d=1", "d=1; Path=", "d=1; Path=relative/x", "d=1; Path=/x; Path=rel"}) {
            INFO(ex.from << " with " << line);
            cookie_jar jar;
            REQUIRE(jar.store_one(at(ex.from), line, t0));
            CHECK(sent(jar, ex.in_scope) == "d=1");
            if (ex.out_of_scope) CHECK(sent(jar, ex.out_of_scope) == "");
        }
    }
}

TEST_CASE("Secure cookies are set from https and sent over https only; http cannot overwrite them", "[http][cookies]") {
    cookie_jar jar;
    CHECK_FALSE(jar.store_one(at("http://example.com/"), "s=1; Secure", t0));
    CHECK(jar.size() == 0);
    CHECK(jar.store_one(at("https://example.com/"), "s=1; Secure; HttpOnly", t0));
    CHECK(sent(jar, "https://example.com/") == "s=1");
    CHECK(sent(jar, "http://example.com/") == "");
    // An http:// response may not replace the Secure cookie, nor shadow it
    // with one of the same name on a path under it...
    CHECK_FALSE(jar.store_one(at("http://example.com/"), "s=evil", t0));
    CHECK_FALSE(jar.store_one(at("http://example.com/"), "s=evil; Path=/deeper", t0));
    CHECK_FALSE(jar.store_one(at("http://www.example.com/"), "s=evil; Domain=example.com", t0));
    CHECK(jar.size() == 1);
    // ...but another name is fine, and https may replace it.
    CHECK(jar.store_one(at("http://example.com/"), "t=2", t0));
    CHECK(jar.store_one(at("https://example.com/"), "s=2", t0 + 1s));
    CHECK(sent(jar, "http://example.com/") == "s=2; t=2");
}

TEST_CASE("Expires: a date in the future keeps the cookie until then, one in the past deletes it", "[http][cookies]") {
    cookie_jar jar;
    const url from = at("http://example.com/");
    // 10:18:14 on the same day, in the three formats servers send.
    for (const char* date : {"Wed, 09 Jun 2021 10:18:14 GMT", "Wednesday, 09-Jun-21 10:18:14 GMT",
                             "Wed Jun  9 10:18:14 2021", "9 june 2021 10:18:14", "10:18:14 2021 jUNE 09 (noise)"}) {
        INFO(date);
        jar.clear();
        REQUIRE(jar.store_one(from, std::string("e=1; Expires=") + date, t0));
        const time_point expiry = sys_days{2021y / June / 9} + 10h + 18min + 14s;
        CHECK(sent(jar, "http://example.com/", expiry - 1s) == "e=1");
        CHECK(sent(jar, "http://example.com/", expiry) == "");
        CHECK(jar.size() == 1);  // purged lazily, by the next store
        CHECK(jar.store_one(from, "other=1", expiry + 1s));
        CHECK(jar.size() == 1);
        CHECK(sent(jar, "http://example.com/", expiry + 1s) == "other=1");
    }

    jar.clear();
    CHECK(jar.store_one(from, "gone=1", t0));
    CHECK(jar.store_one(from, "gone=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT", t0));
    CHECK(jar.size() == 0);
    // Already expired and nothing to delete: taken (true), not kept.
    CHECK(jar.store_one(from, "never=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", t0));
    CHECK(jar.size() == 0);
    // Years far away are clamped, not wrapped around.
    CHECK(jar.store_one(from, "far=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", t0));
    CHECK(jar.store_one(from, "old=1; Expires=Mon, 01 Jan 1601 00:00:00 GMT", t0));
    CHECK(sent(jar, "http://example.com/", sys_days{2200y / 1 / 1}) == "far=1");
}

TEST_CASE("an Expires that is not a date is ignored: the cookie lasts the session", "[http][cookies]") {
    for (const char* date :
         {"tomorrow", "Wed, 30 Feb 2022 10:00:00 GMT", "Wed, 09 Jun 2021 24:00:00 GMT", "Wed, 09 Jun 2021 10:60:00 GMT",
          "Wed, 09 Jun 1600 10:00:00 GMT", "Wed, 09 Jun 2021 GMT", "Wed, 32 Jun 2021 10:00:00 GMT",
          "09 Jun 10:00:00 123", "Wed, 09 Jux 2021 10:00:00 GMT", ""}) {
        INFO(date);
        cookie_jar jar;
        REQUIRE(jar.store_one(at("http://example.com/"), std::string("s=1; Expires=") + date, t0));
        CHECK(sent(jar, "http://example.com/", sys_days{2200y / 1 / 1}) == "s=1");
    }
}

TEST_CASE("Max-Age wins over Expires wherever it stands; zero or less deletes", "[http][cookies]") {
    cookie_jar jar;
    const url from = at("http://example.com/");
    CHECK(jar.store_one(from, "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60", t0));
    CHECK(jar.store_one(from, "b=1; Max-Age=60; Expires=Fri, 31 Dec 9999 23:59:59 GMT", t0));
    CHECK(sent(jar, "http://example.com/", t0 + 59s) == "a=1; b=1");
    CHECK(sent(jar, "http://example.com/", t0 + 60s) == "");

    jar.clear();
    CHECK(jar.store_one(from, "c=1", t0));
    CHECK(jar.store_one(from, "d=1", t0));
    CHECK(jar.store_one(from, "e=1", t0));
    CHECK(jar.store_one(from, "c=; Max-Age=0; Expires=Fri, 31 Dec 9999 23:59:59 GMT", t0));
    CHECK(jar.store_one(from, "d=; Max-Age=-1", t0));
    CHECK(jar.store_one(from, "e=2; Max-Age=-0", t0));
    CHECK(jar.size() == 0);

    // A Max-Age that is not [-]digits is ignored; Expires then counts.
    CHECK(jar.store_one(from, "f=1; Max-Age=1e3; Expires=Wed, 09 Jun 2021 10:00:10 GMT", t0));
    CHECK(jar.store_one(from, "g=1; Max-Age=+5", t0));
    CHECK(sent(jar, "http://example.com/", t0 + 9s) == "f=1; g=1");
    CHECK(sent(jar, "http://example.com/", t0 + 10s) == "g=1");
    // The last Max-Age counts; a huge one is "for ever".
    CHECK(jar.store_one(from, "h=1; Max-Age=1; Max-Age=99999999999999999999999", t0));
    CHECK(sent(jar, "http://example.com/", sys_days{2200y / 1 / 1}) == "g=1; h=1");
}

TEST_CASE("a cookie of the same name, domain and path replaces the old one and keeps its place", "[http][cookies]") {
    cookie_jar jar;
    const url from = at("http://example.com/");
    CHECK(jar.store_one(from, "a=1", t0));
    CHECK(jar.store_one(from, "b=2", t0 + 1s));
    CHECK(jar.store_one(from, "a=3", t0 + 2s));
    CHECK(jar.size() == 2);
    CHECK(sent(jar, "http://example.com/") == "a=3; b=2");
    // The same name on another path or domain is another cookie.
    CHECK(jar.store_one(from, "a=4; Path=/x", t0 + 3s));
    CHECK(jar.store_one(at("http://www.example.com/"), "a=5", t0 + 4s));
    CHECK(jar.size() == 4);
    CHECK(sent(jar, "http://example.com/x") == "a=4; a=3; b=2");
    // A Domain cookie for example.com has the host-only one's domain: it replaces it.
    CHECK(jar.store_one(from, "a=6; Domain=example.com", t0 + 5s));
    CHECK(jar.size() == 4);
    CHECK(sent(jar, "http://www.example.com/") == "a=6; a=5");
    // Attributes are replaced too: the Secure one made from https stays Secure.
    CHECK(jar.store_one(at("https://example.com/"), "b=7; Secure", t0 + 6s));
    CHECK(sent(jar, "http://example.com/") == "a=6");
    CHECK(sent(jar, "https://example.com/") == "a=6; b=7");
}

TEST_CASE("the Cookie header: longer paths first, then the earlier created, then the order stored", "[http][cookies]") {
    cookie_jar jar;
    const url from = at("http://example.com/a/b/c");
    CHECK(jar.store_one(from, "root1=1; Path=/", t0));
    CHECK(jar.store_one(from, "deep=1; Path=/a/b", t0 + 1s));
    CHECK(jar.store_one(from, "mid=1; Path=/a", t0 + 2s));
    CHECK(jar.store_one(from, "root0=1; Path=/", t0 - 1s));
    CHECK(jar.store_one(from, "root2=1; Path=/", t0));  // same time as root1: stored after it
    CHECK(jar.store_one(from, "deeper=1", t0 + 3s));    // the default path, /a/b
    CHECK(sent(jar, "http://example.com/a/b/c") == "deep=1; deeper=1; mid=1; root0=1; root1=1; root2=1");
    CHECK(sent(jar, "http://example.com/a") == "mid=1; root0=1; root1=1; root2=1");
    CHECK(sent(jar, "http://example.com/") == "root0=1; root1=1; root2=1");
}

TEST_CASE("malformed Set-Cookie lines are ignored; tolerable ones are read as RFC 6265 5.2 says", "[http][cookies]") {
    const url from = at("https://example.com/");
    for (const char* bad :
         {"", "novalue", ";a=1", "=v", "  =v", "a\x01=b", "a=b\x7f", "a=b\nc", "a\tb\x1f=1", "; Secure"}) {
        INFO('"' << bad << '"');
        cookie_jar jar;
        CHECK_FALSE(jar.store_one(from, bad, t0));
        CHECK(jar.size() == 0);
    }
    struct example {
        const char* line;
        const char* header;
    };
    const example good[] = {
        {" a = 1 ", "a=1"},
        {"a=", "a="},
        {"a=b=c", "a=b=c"},
        {"a=\"quoted value\"", "a=\"quoted value\""},
        {"a=1; Secure=no; HttpOnly; Foo=bar; SameSite=Lax; ;;", "a=1"},
        {"a=1;Path=/;DOMAIN=example.com;max-age=100", "a=1"},
    };
    for (const auto& ex : good) {
        INFO(ex.line);
        cookie_jar jar;
        CHECK(jar.store_one(from, ex.line, t0));
        CHECK(sent(jar, "https://example.com/") == ex.header);
    }
}

TEST_CASE("limits: line length, cookies per domain, cookies in all; expired ones go first, then the oldest",
          "[http][cookies]") {
    const url from = at("http://example.com/");
    SECTION("a Set-Cookie longer than max_cookie_bytes is ignored") {
        cookie_jar jar;
        std::string line = "big=" + std::string(cookie_jar::max_cookie_bytes - 4, 'x');
        CHECK(jar.store_one(from, line, t0));
        CHECK(!jar.store_one(from, line + "x", t0));
        CHECK(jar.size() == 1);
    }
    SECTION("per domain: the earliest created goes, not another domain's") {
        cookie_jar jar;
        CHECK(jar.store_one(at("http://other.test/"), "keep=1", t0 - 1h));
        for (std::size_t i = 0; i <= cookie_jar::max_cookies_per_domain; ++i)
            CHECK(jar.store_one(from, "c" + std::to_string(i) + "=1", t0 + seconds(i)));
        CHECK(jar.size() == cookie_jar::max_cookies_per_domain + 1);
        const std::string header = sent(jar, "http://example.com/", t0 + 1h);
        CHECK(header.starts_with("c1=1; c2=1; "));
        CHECK(header.ends_with("; c50=1"));
        CHECK(sent(jar, "http://other.test/", t0 + 1h) == "keep=1");
    }
    SECTION("per domain: an expired cookie goes before the oldest") {
        cookie_jar jar;
        CHECK(jar.store_one(from, "old=1", t0));
        CHECK(jar.store_one(from, "brief=1; Max-Age=600", t0 + 1s));
        for (std::size_t i = 2; i < cookie_jar::max_cookies_per_domain; ++i)
            CHECK(jar.store_one(from, "c" + std::to_string(i) + "=1", t0 + seconds(i)));
        CHECK(jar.size() == cookie_jar::max_cookies_per_domain);
        CHECK(jar.store_one(from, "new=1", t0 + 1h));
        CHECK(jar.size() == cookie_jar::max_cookies_per_domain);
        const std::string header = sent(jar, "http://example.com/", t0 + 1h);
        CHECK(header.starts_with("old=1; c2=1; "));
        CHECK(header.ends_with("; new=1"));
    }
    SECTION("in all: past max_cookies the earliest created of any domain goes") {
        cookie_jar jar;
        const std::size_t domains = cookie_jar::max_cookies / cookie_jar::max_cookies_per_domain;
        time_point now = t0;
        for (std::size_t d = 0; d < domains; ++d) {
            const url host = at("http://d" + std::to_string(d) + ".test/");
            for (std::size_t i = 0; i < cookie_jar::max_cookies_per_domain; ++i)
                REQUIRE(jar.store_one(host, "c" + std::to_string(i) + "=1", now += 1s));
        }
        CHECK(jar.size() == cookie_jar::max_cookies);
        CHECK(jar.store_one(from, "latest=1", now += 1s));
        CHECK(jar.size() == cookie_jar::max_cookies);
        CHECK(sent(jar, "http://example.com/", now) == "latest=1");
        CHECK(sent(jar, "http://d0.test/", now).starts_with("c1=1; "));  // c0 of d0 went
        CHECK(sent(jar, "http://d1.test/", now).starts_with("c0=1; "));
    }
}

TEST_CASE("store() takes every Set-Cookie field of a response, whatever the case of its name", "[http][cookies]") {
    cookie_jar jar;
    weft::http::headers h{{"Set-Cookie", "a=1"},
                          {"Content-Type", "text/plain"},
                          {"set-cookie", "b=2; Path=/p"},
                          {"SET-COOKIE", "novalue"},
                          {"Set-Cookie2", "c=3"}};
    jar.store(at("http://example.com/p/q"), h, t0);
    CHECK(jar.size() == 2);
    CHECK(sent(jar, "http://example.com/p") == "a=1; b=2");  // both on /p, stored in that order
    jar.clear();
    CHECK(jar.size() == 0);
    CHECK(sent(jar, "http://example.com/p") == "");
}

TEST_CASE("round trip with weft's server: /login sets cookies, /me sees them, /logout deletes one",
          "[http][cookies][client]") {
    weft::test::run_bounded(10s, [] {
        weft::test::serving s([](const weft::http::request& req) {
            weft::http::response r(200, "");
            if (req.path() == "/login") {
                r.headers.add("Set-Cookie", "session=abc123; Path=/; HttpOnly");
                r.headers.add("Set-Cookie", "theme=dark; Path=/me; Max-Age=3600");
                r.headers.add("Set-Cookie", "elsewhere=1; Domain=example.com");  // not this host's to set
            } else if (req.path() == "/logout") {
                r.headers.add("Set-Cookie", "session=; Path=/; Max-Age=0");
            } else {
                auto cookies = req.headers.get_all("Cookie");
                r.body = cookies.empty()
                             ? "(none)"
                             : std::string(cookies.at(0)) + " (" + std::to_string(cookies.size()) + " field)";
            }
            return r;
        });
        cookie_jar jar;
        // fetch() sends a GET with the jar's cookies and stores what comes back.
        auto fetch = [&](std::string_view path) {
            const std::string target = s.url(path);
            weft::http::request req;
            req.target = target;
            if (std::string c = jar.cookie_header(at(target)); !c.empty()) req.headers.add("Cookie", std::move(c));
            weft::http::response r = weft::http::send(req);
            REQUIRE(r.status == 200);
            jar.store(at(target), r.headers);
            return r.body;
        };
        CHECK(fetch("/me") == "(none)");
        CHECK(fetch("/login") == "");
        CHECK(jar.size() == 2);
        CHECK(fetch("/me") == "theme=dark; session=abc123 (1 field)");
        CHECK(fetch("/other") == "session=abc123 (1 field)");
        CHECK(fetch("/logout") == "");
        CHECK(jar.size() == 1);
        CHECK(fetch("/me?x=1") == "theme=dark (1 field)");
        CHECK(fetch("/other") == "(none)");
    });
}
