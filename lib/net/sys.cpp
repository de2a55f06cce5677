// SPDX-License-Identifier: MIT
#include "net/sys.hpp"

#include "detail/runtime.hpp"
#include "weft/detail/park.hpp"
#include "weft/errors.hpp"

namespace weft::net::detail {

weft::detail::reactor* fiber_reactor(std::error_code& ec) noexcept {
    weft::detail::reactor* r = weft::detail::current_fiber() ? weft::detail::running_reactor() : nullptr;
    if (!r) ec = make_error_code(errc::no_scheduler);
    return r;
}

weft::detail::reactor* socket_reactor(int fd, std::error_code& ec) noexcept {
    weft::detail::reactor* r = fiber_reactor(ec);
    if (r && (fd < 0 || !r->watched(fd))) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return nullptr;
    }
    return r;
}

address socket_name(int fd, bool peer, std::error_code& ec) noexcept {
    ec.clear();
    if (fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return {};
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    auto* sa = reinterpret_cast<sockaddr*>(&ss);
    if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) {
        ec = errno_code();
        return {};
    }
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
        ec = std::make_error_code(std::errc::address_family_not_supported);
        return {};
    }
    return address::from_sockaddr(sa, len);
}

std::string host_port(std::string_view host, std::uint16_t port) {
    bool bare_v6 = host.find(':') != std::string_view::npos && host.front() != '[';
    return (bare_v6 ? '[' + std::string(host) + ']' : std::string(host)) + ":" + std::to_string(port);
}

bool numeric_host(std::string_view host, std::uint16_t port, address& out) noexcept {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::error_code ec;
    address a = address::ip(host, port, ec);
    if (ec) return false;
    out = a;
    return true;
}

}  // namespace weft::net::detail
