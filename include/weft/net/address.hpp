// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>

struct sockaddr;

namespace weft::net {

// address is an IPv4 or IPv6 address with a port: a value type (copyable,
// comparable, hashable) that converts to and from sockaddr.
class address {
public:
    enum class family : unsigned char { v4, v6 };

    // address() is 0.0.0.0:0.
    address() noexcept;

    // parse() reads "1.2.3.4:80", "[::1]:80", or, with `default_port`, a bare
    // "1.2.3.4" / "::1" / "[::1]". Throws std::system_error(invalid_argument)
    // naming the text and what is wrong with it.
    static address parse(std::string_view text);
    static address parse(std::string_view text, std::uint16_t default_port);
    // The error_code form sets ec (std::errc::invalid_argument) instead.
    static address parse(std::string_view text, std::error_code& ec) noexcept;

    // ip() builds an address from a numeric IP without a port ("10.0.0.1",
    // "fe80::1"). Throws std::system_error(invalid_argument); the error_code
    // form sets ec instead.
    static address ip(std::string_view ip, std::uint16_t port);
    static address ip(std::string_view ip, std::uint16_t port, std::error_code& ec) noexcept;

    static address loopback(std::uint16_t port = 0, family f = family::v4) noexcept;  // 127.0.0.1 / ::1
    static address any(std::uint16_t port = 0, family f = family::v4) noexcept;       // 0.0.0.0 / ::

    // from_sockaddr() reads an AF_INET or AF_INET6 sockaddr; throws
    // std::system_error(address_family_not_supported) for anything else.
    static address from_sockaddr(const sockaddr* sa, unsigned len);

    family fam() const noexcept { return family_; }
    bool is_v4() const noexcept { return family_ == family::v4; }
    bool is_v6() const noexcept { return family_ == family::v6; }
    std::uint16_t port() const noexcept { return port_; }
    address with_port(std::uint16_t port) const noexcept;
    bool is_loopback() const noexcept;

    // ip_string() is the IP alone ("127.0.0.1", "::1"); to_string() adds the
    // port ("127.0.0.1:80", "[::1]:80").
    std::string ip_string() const;
    std::string to_string() const;

    // to_sockaddr() fills `out` (at least sizeof(sockaddr_in6) bytes) and
    // returns the length to pass to bind/connect.
    unsigned to_sockaddr(sockaddr* out) const noexcept;

    friend bool operator==(const address&, const address&) noexcept = default;
    friend std::ostream& operator<<(std::ostream& os, const address& a);

    const unsigned char* bytes() const noexcept { return ip_; }  // 4 or 16 in network order

private:
    unsigned char ip_[16] = {};   // v4 uses the first 4 bytes
    std::uint32_t scope_id_ = 0;  // v6 link-local scope
    std::uint16_t port_ = 0;
    family family_ = family::v4;
};

}  // namespace weft::net

template <>
struct std::hash<weft::net::address> {
    std::size_t operator()(const weft::net::address& a) const noexcept;
};
