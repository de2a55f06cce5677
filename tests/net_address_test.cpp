// SPDX-License-Identifier: MIT
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <unordered_set>
#include <weft/net/address.hpp>

using weft::net::address;
using namespace std::string_literals;

namespace {

// parse_error(text) is what address::parse(text) throws, or "" when it does not.
std::string parse_error(std::string_view text) {
    try {
        address::parse(text);
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("an address prints back as it was parsed", "[address]") {
    auto [text, fam, port] = GENERATE(table<const char*, address::family, int>({
        {"127.0.0.1:80", address::family::v4, 80},
        {"0.0.0.0:0", address::family::v4, 0},
        {"255.255.255.255:65535", address::family::v4, 65535},
        {"[::1]:8080", address::family::v6, 8080},
        {"[::]:1", address::family::v6, 1},
        {"[fe80::1%2]:1", address::family::v6, 1},
        {"[2001:db8::a:b]:443", address::family::v6, 443},
        {"[::ffff:1.2.3.4]:53", address::family::v6, 53},
    }));
    CAPTURE(text);
    address a = address::parse(text);
    CHECK(a.fam() == fam);
    CHECK(a.port() == port);
    CHECK(a.to_string() == text);
    std::ostringstream os;
    os << a;
    CHECK(os.str() == text);
    CHECK(address::parse(a.to_string()) == a);
    std::error_code ec;
    CHECK(address::parse(text, ec) == a);
    CHECK_FALSE(ec);
}

TEST_CASE("an address prints in canonical form", "[address]") {
    CHECK(address::parse("[FE80:0:0::01]:7").to_string() == "[fe80::1]:7");
    CHECK(address::parse("[0:0:0:0:0:0:0:1]:7").to_string() == "[::1]:7");
    CHECK(address::parse("1.2.3.4:0080").port() == 80);
    CHECK(address::parse("[fe80::1%2]:1").ip_string() == "fe80::1%2");
    CHECK(address::parse("[::1]:9").ip_string() == "::1");
}

TEST_CASE("a default port fills in for a missing one", "[address]") {
    CHECK(address::parse("1.2.3.4", 80) == address::parse("1.2.3.4:80"));
    CHECK(address::parse("::1", 80) == address::parse("[::1]:80"));
    CHECK(address::parse("[::1]", 80) == address::parse("[::1]:80"));
    CHECK(address::parse("1.2.3.4:81", 80).port() == 81);  // a port in the text wins
    CHECK(address::parse("[::1]:81", 80).port() == 81);
    CHECK(address::ip("10.0.0.1", 5) == address::parse("10.0.0.1:5"));
    CHECK(address::ip("fe80::1%3", 5) == address::parse("[fe80::1%3]:5"));
    CHECK_THROWS_AS(address::ip("10.0.0.1:5", 5), std::system_error);
    CHECK_THROWS_AS(address::ip("[::1]", 5), std::system_error);
}

// A bare IPv6 text is all address: "::1:80" is the IPv6 address ::1:80 (two
// groups, 0.1 and 0.80), never ::1 with port 80. A port after an IPv6 address
// needs brackets, as in URLs.
TEST_CASE("a bare IPv6 with what looks like a port is all address", "[address]") {
    std::string why = parse_error("::1:80");
    CHECK_THAT(why, Catch::Matchers::Contains("no port"));
    CHECK_THAT(why, Catch::Matchers::Contains("[v6]:port"));
    address a = address::parse("::1:80", 9);
    CHECK(a.is_v6());
    CHECK(a.port() == 9);
    CHECK(a == address::parse("[0:0:0:0:0:0:1:80]:9"));
    CHECK(address::parse(a.to_string()) == a);  // glibc prints it "[::0.1.0.128]:9"
    CHECK(a != address::parse("[::1]:80"));
}

TEST_CASE("loopback and any", "[address]") {
    CHECK(address::loopback().to_string() == "127.0.0.1:0");
    CHECK(address::loopback(80).to_string() == "127.0.0.1:80");
    CHECK(address::loopback(80, address::family::v6).to_string() == "[::1]:80");
    CHECK(address::any().to_string() == "0.0.0.0:0");
    CHECK(address::any(8, address::family::v6).to_string() == "[::]:8");
    CHECK(address() == address::any());
    CHECK(address::loopback().is_loopback());
    CHECK(address::parse("127.9.9.9:1").is_loopback());
    CHECK(address::loopback(0, address::family::v6).is_loopback());
    CHECK_FALSE(address::any().is_loopback());
    CHECK_FALSE(address::any(0, address::family::v6).is_loopback());
    CHECK_FALSE(address::parse("[::2]:1").is_loopback());
    CHECK(address::loopback(1).with_port(2) == address::loopback(2));
}

TEST_CASE("an address survives a round trip through sockaddr", "[address]") {
    auto text = GENERATE("127.0.0.1:80", "10.1.2.3:0", "[::1]:8080", "[fe80::1%2]:1", "[2001:db8::1]:65535");
    CAPTURE(text);
    address a = address::parse(text);
    sockaddr_storage ss{};
    unsigned len = a.to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    CHECK(len == (a.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    CHECK(ss.ss_family == (a.is_v4() ? AF_INET : AF_INET6));
    CHECK(address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len) == a);
}

TEST_CASE("sockaddr fields are in network order", "[address]") {
    sockaddr_storage ss{};
    address::parse("1.2.3.4:258").to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    CHECK(ntohs(in->sin_port) == 258);
    CHECK(ntohl(in->sin_addr.s_addr) == 0x01020304u);
    address::parse("[fe80::1%7]:1").to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    CHECK(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_scope_id == 7);
}

TEST_CASE("from_sockaddr rejects other families and short lengths", "[address]") {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    CHECK_THROWS_MATCHES(address::from_sockaddr(reinterpret_cast<sockaddr*>(&un), sizeof un), std::system_error,
                         Catch::Matchers::Predicate<std::system_error>(
                             [](const auto& e) { return e.code() == std::errc::address_family_not_supported; }));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    CHECK_THROWS_AS(address::from_sockaddr(reinterpret_cast<sockaddr*>(&in), 4), std::system_error);
}

TEST_CASE("equal addresses are equal and hash alike", "[address]") {
    const address a = address::parse("127.0.0.1:80");
    CHECK(a == address::loopback(80));
    CHECK(std::hash<address>{}(a) == std::hash<address>{}(address::loopback(80)));
    // Each differs from `a` in one thing: the port, the IP, or the family.
    CHECK(a != address::loopback(81));
    CHECK(a != address::parse("127.0.0.2:80"));
    CHECK(a != address::parse("[::ffff:127.0.0.1]:80"));
    CHECK(address::parse("[fe80::1%2]:1") != address::parse("[fe80::1%3]:1"));
    CHECK(address::parse("[fe80::1%2]:1") != address::parse("[fe80::1]:1"));

    std::unordered_set<address> set;
    for (const char* t :
         {"127.0.0.1:80", "127.0.0.1:81", "[::1]:80", "[::]:80", "0.0.0.0:80", "127.0.0.1:80", "[0::1]:80"})
        set.insert(address::parse(t));
    CHECK(set.size() == 5);
    CHECK(set.count(address::loopback(80, address::family::v6)) == 1);
}

TEST_CASE("bad address text is a clear invalid_argument error", "[address]") {
    auto [text, why] = GENERATE(table<std::string, const char*>({
        {"", "empty"},
        {"1.2.3.4", "no port"},
        {"[::1]", "no port"},
        {"1.2.3.4:", "port"},
        {"1.2.3.4:65536", "port"},
        {"1.2.3.4:99999", "port"},
        {"1.2.3.4:000080", "port"},
        {"1.2.3.4:-1", "port"},
        {"1.2.3.4:+1", "port"},
        {"1.2.3.4: 80", "port"},
        {"1.2.3.4:80x", "port"},
        {"1.2.3.4:80:", "numeric"},
        {"256.1.1.1:80", "numeric"},
        {"1.2.3:80", "numeric"},
        {"1.2.3.4.5:80", "numeric"},
        {" 1.2.3.4:80", "numeric"},
        {"1.2.3.4%2:80", "numeric"},
        {":80", "numeric"},
        {"example.com:80", "numeric"},
        {"localhost:80", "numeric"},
        {"[::1", "']'"},
        {"[::1]80", "after ']'"},
        {"[::1]:", "port"},
        {"[::1]:80:", "port"},
        {"[::1]:65536", "port"},
        {"[]:80", "IPv6"},
        {"[1.2.3.4]:80", "IPv6"},
        {"[::1%]:80", "IPv6"},
        {"[fe80::1%eth0]:80", "IPv6"},
        {"[::g]:80", "IPv6"},
        {"1.2.3.4\0:80"s, "numeric"},
        {"[::1\0]:80"s, "IPv6"},
        {std::string(300, '1'), "numeric"},
        {std::string(300, ':'), "numeric"},
        {"[" + std::string(300, ':') + "]:1", "IPv6"},
    }));
    CAPTURE(text);
    std::string message = parse_error(text);
    CHECK_THAT(message, Catch::Matchers::Contains(why));
    CHECK(message.size() < 200);  // names the text, clipped when long
    std::error_code ec;
    CHECK(address::parse(text, ec) == address());
    CHECK(ec == std::errc::invalid_argument);
    if (std::string_view(why) != "no port") CHECK_THROWS_AS(address::parse(text, 80), std::system_error);
}
