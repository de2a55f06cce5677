// SPDX-License-Identifier: MIT
// HTTP proxies for the client: which proxy a request goes through
// (options::proxy, or http_proxy / https_proxy / no_proxy), and the CONNECT
// tunnel that carries an https:// request through one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/client.hpp"
#include "weft/http/url.hpp"
#include "weft/net/tcp_stream.hpp"

namespace weft::http::detail {

// proxy is an HTTP proxy to send requests through.
struct proxy {
    // at is the proxy's URL: always http://, with its host and port; its
    // user and password are what `authorization` was made from.
    url at;
    // authorization is the Proxy-Authorization value, "Basic
    // base64(user:password)", or empty when the proxy URL had no user.
    std::string authorization;

    // key() tells connections through different proxies (or through one
    // with other credentials) apart in the pool: "host port authorization".
    // It holds the credential: a key is never printed.
    std::string key() const;
    // name() is "http://host:port", for error messages (no user, no password).
    std::string name() const;
};

// proxy_for(target, opts) is the proxy a request to `target` goes through,
// or nullopt for none: opts.proxy when set ("" is none, and no_proxy does
// not apply to it: it is for every request), else, with
// opts.proxy_from_environment, http_proxy for http:// targets and
// https_proxy (then HTTPS_PROXY) for https:// ones, unless no_proxy (then
// NO_PROXY) matches the target. A proxy written "host:port", without a
// scheme, is http:// (as curl takes it). Throws
// std::system_error(errc::bad_proxy, "proxy <url without password>: why")
// for a proxy URL that does not parse or is not http://.
std::optional<proxy> proxy_for(const url& target, const options& opts);

// parse_proxy(text) reads a proxy URL as proxy_for() does (throws the same).
proxy parse_proxy(std::string_view text);

// no_proxy_matches(list, host, port) is whether the no_proxy list `list`
// names `host` (a name or an IP, IPv6 with or without brackets) on `port`.
// Entries are comma-separated, blanks around them ignored, compared without
// regard to case: "*" matches every host; "example.com", ".example.com" and
// "*.example.com" match example.com and its subdomains (not
// notexample.com); an IP matches that address only, a CIDR block
// ("10.0.0.0/8", "::1/128") the addresses in it; "name:port",
// "1.2.3.4:port" and "[::1]:port" match that port only. As curl (7.86 and
// later) and Go read the list.
bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port);

// connect_proxy(p, timeout) is a TCP connection to the proxy, within
// `timeout`. Throws std::system_error(errc::proxy_unreachable) naming the
// proxy and saying why (the socket's or the lookup's error, in its words),
// weft::timeout_error, weft::cancelled.
net::tcp_stream connect_proxy(const proxy& p, std::chrono::nanoseconds timeout);

// max_tunnel_header is the most a proxy's answer to CONNECT may take, from
// its status line to the empty line that ends its header.
inline constexpr std::size_t max_tunnel_header = 16 * 1024;

// connect_tunnel(p, host, port, timeout) connects to the proxy, asks it
// "CONNECT host:port" (with Proxy-Authorization when p has a credential),
// and returns the connection, now a tunnel to host:port. `timeout` bounds
// all of it. The proxy's answer is read to the end of its header and not a
// byte further: what follows a 2xx is the tunnel's (RFC 9110 9.3.6: a 2xx
// to CONNECT has no body, whatever its header says) and is left in the
// socket for the next reader (TLS, which reads the socket itself). Throws
// std::system_error: errc::proxy_unreachable (the proxy cannot be reached
// or resets the connection), errc::proxy_auth_required (407, with the
// proxy's Proxy-Authenticate in the message), errc::tunnel_failed (another
// answer than 2xx, with its status and reason; an answer that does not
// parse or is over max_tunnel_header; the proxy closed before answering);
// weft::timeout_error, weft::cancelled.
net::tcp_stream connect_tunnel(const proxy& p, std::string_view host, std::uint16_t port,
                               std::chrono::nanoseconds timeout);

// basic_authorization(user, password) is "Basic " + base64(user ":"
// password), an Authorization or Proxy-Authorization value (RFC 7617). The
// bytes go as they are (UTF-8, the charset RFC 7617 lets a server ask for).
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace weft::http::detail
