// SPDX-License-Identifier: MIT
// Fuzz target: weft::net::address::parse, in each of its forms. What parses
// must print back to itself and survive the trip through a sockaddr.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <system_error>

#include <weft/net/address.hpp>

namespace {

using weft::net::address;

void check(bool ok) {
    if (!ok) std::abort();
}

void round_trip(const address& a) {
    std::error_code ec;
    address again = address::parse(a.to_string(), ec);
    check(!ec && again == a);
    sockaddr_storage ss{};
    unsigned len = a.to_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    check(address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len) == a);
    check(std::hash<address>{}(a) == std::hash<address>{}(again));
    check(!a.ip_string().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::error_code ec;
    address a = address::parse(text, ec);
    if (!ec) {
        round_trip(a);
    } else {
        check(ec == std::errc::invalid_argument);
    }
    try {
        address b = address::parse(text, 8080);
        round_trip(b);
        if (!ec) check(b == a);
    } catch (const std::system_error& e) {
        check(e.code() == std::errc::invalid_argument);
    }
    try {
        address c = address::ip(text, 53);
        check(c.port() == 53);
        round_trip(c);
    } catch (const std::system_error& e) {
        check(e.code() == std::errc::invalid_argument);
    }
    return 0;
}
