// SPDX-License-Identifier: MIT
// Name resolution inside weft's loop: resolve() parks the calling fiber while
// c-ares asks the DNS servers over the same epoll set, so thousands of lookups
// run at once on one thread, with no thread pool and no blocking getaddrinfo().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "weft/net/address.hpp"

namespace weft::dns {

// errc lists why a lookup failed; each has its own message. They compare equal
// to std::error_code{e, weft::dns::error_category()}. A lookup that runs out
// of time is not one of them: it is weft::timeout_error, with
// weft::errc::timed_out in the error_code forms, as every timeout in weft.
enum class errc {
    host_not_found = 1,  // NXDOMAIN: the name does not exist (nor is it in /etc/hosts)
    no_data,             // the name exists but has no address of the asked family
    server_failure,      // the server answered SERVFAIL (or NOTIMP, FORMERR)
    refused,             // the server answered REFUSED
    timeout,             // no longer reported: a lookup's timeout is weft::errc::timed_out
                         // (kept so that old code compiles; it compares equal to std::errc::timed_out)
    malformed_answer,    // an answer came back that does not parse
    bad_name,            // empty, over 253 bytes, a label over 63, an illegal character
    unreachable,         // no server could be reached (connection refused, no route)
    bad_service,         // resolve(host, service): the service is neither a port nor in /etc/services
    bad_servers,         // options::servers (or WEFT_DNS_SERVERS) is not a list of host[:port]
    failed,              // anything else c-ares reports (out of memory, ...)
};

// error_category() is the category of weft::dns::errc ("weft.dns").
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// family picks which addresses a lookup asks for: any (A and AAAA), v4 (A) or v6 (AAAA).
enum class family : unsigned char { any, v4, v6 };

// options configures a lookup; pass them per call or make them the running
// weft::run()'s default with set_default_options().
struct options {
    // servers are "host[:port]" entries ("127.0.0.1:5353", "[::1]:53", "10.0.0.1").
    // Empty: the environment variable WEFT_DNS_SERVERS (comma-separated, read
    // once per weft::run when the resolver is first used), else /etc/resolv.conf.
    // With servers given here or in WEFT_DNS_SERVERS, names are asked as given
    // (resolv.conf's search domains apply only to resolv.conf's servers).
    std::vector<std::string> servers;
    // timeout bounds the whole lookup, every try and every server included; the
    // per-try timeout given to c-ares is cut so that all tries fit inside it.
    // It also counts the time a lookup waits for its turn: weft keeps at most
    // 200 queries in flight to one server list, fewer when the servers'
    // answers slow down or a try times out (a burst of 20,000 lookups would
    // otherwise overrun a server's socket), and the rest wait in line.
    // Passing it is weft::timeout_error (weft::errc::timed_out in the
    // error_code forms). Zero: only what needs no wait (numeric hosts,
    // /etc/hosts) is answered; no_timeout: no limit.
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    // tries is how many times each server is asked before giving up (>= 1).
    int tries = 2;
    dns::family family = dns::family::any;
};

// set_default_options() sets the options that resolve() without options uses,
// for the rest of the running weft::run(). Throws std::system_error
// (weft::errc::no_scheduler) outside a fiber.
void set_default_options(options opts);
// default_options() is the running weft::run()'s default (options{} until set).
const options& default_options();

// resolve() looks `host` up and returns its addresses, each with `port`, in the
// order c-ares gives them (RFC 6724 order for family::any). Numeric hosts
// ("10.0.0.1", "::1", "[::1]") are answered without a query; names are looked
// up in /etc/hosts first, then asked of the servers. Parks the calling fiber
// only. Throws std::system_error with a weft::dns::errc code;
// weft::timeout_error when options::timeout or an enclosing with_timeout()
// passes first ("weft::dns::resolve "example.com" (timeout 5 s): deadline
// passed"); weft::cancelled when the fiber is cancelled. Either way the
// abandoned query is finished by c-ares on its own. Outside a fiber:
// std::system_error(weft::errc::no_scheduler), every time.
std::vector<net::address> resolve(std::string_view host, std::uint16_t port);
std::vector<net::address> resolve(std::string_view host, std::uint16_t port, const options& opts);
// The error_code forms set ec instead of throwing (weft::errc::timed_out and
// weft::errc::cancelled for the two interruptions, weft::errc::no_scheduler
// outside a fiber) and return an empty vector.
std::vector<net::address> resolve(std::string_view host, std::uint16_t port, std::error_code& ec);
std::vector<net::address> resolve(std::string_view host, std::uint16_t port, const options& opts, std::error_code& ec);
// resolve(host, service) takes a port number ("8080") or a service name of
// /etc/services ("http", TCP); an unknown one is errc::bad_service.
std::vector<net::address> resolve(std::string_view host, std::string_view service);
std::vector<net::address> resolve(std::string_view host, std::string_view service, const options& opts);

}  // namespace weft::dns

template <>
struct std::is_error_code_enum<weft::dns::errc> : std::true_type {};
