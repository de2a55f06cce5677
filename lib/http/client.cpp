// SPDX-License-Identifier: MIT
#include "weft/http/client.hpp"

#include <optional>

#include "detail/runtime.hpp"
#include "http/pool.hpp"
#include "http/wire.hpp"
#include "weft/errors.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/stream.hpp"

namespace weft::http {

namespace {

bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_idempotent(std::string_view method) noexcept {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
           method == "DELETE";
}

// stale() is whether an error on a reused connection means the server had
// closed it while it sat in the pool (so the request never reached it).
bool stale(std::error_code ec) noexcept {
    return ec == errc::closed_before_response || ec == std::errc::connection_reset || ec == std::errc::broken_pipe;
}

[[noreturn]] void fail(std::error_code ec, const request& req, const url& to) {
    throw std::system_error(ec, req.method + " " + to.to_string());
}

void require_supported(const url& to) {
    if (to.scheme == "https" && !tls::available())
        throw std::system_error(errc::unsupported_scheme,
                                to.to_string() + ": https:// needs TLS, and this weft was built without it (-Dtls=disabled)");
    if (to.scheme != "http" && to.scheme != "https")
        throw std::system_error(errc::unsupported_scheme, to.to_string());
}

// open() makes a new connection to `to`: TCP, then TLS for https, all
// within connect_timeout.
detail::connection open(const url& to, const tls::context* ctx, const options& opts) {
    const deadline until = deadline_after(opts.connect_timeout);
    net::tcp_stream tcp = net::tcp_stream::connect(to.host, to.port, opts.connect_timeout);
    tcp.set_nodelay(true);
    if (!ctx) return detail::connection(detail::transport(std::move(tcp)));
    tls::stream s = tls::stream::connect(std::move(tcp), to.host, *ctx, until - clock::now());
    return detail::connection(detail::transport(std::move(s)));
}

// exchange() sends req to `to` on a pooled or new connection and reads the response.
response exchange(const request& req, const url& to, const options& opts) {
    detail::pool& pool = detail::current_pool("weft::http::send");
    const tls::context* ctx = nullptr;
    if (to.scheme == "https") ctx = opts.tls ? &*opts.tls : &pool.default_tls();
    // Connections are kept per scheme, host and port, and per TLS context:
    // one made with verification off must never serve a verifying request.
    std::string key = to.scheme + " " + to.host + " " + std::to_string(to.port);
    if (ctx) key.append(" ").append(std::to_string(ctx->id()));
    const detail::limits lim{opts.max_header_bytes, opts.max_body_bytes};
    const bool head = req.method == "HEAD";
    const bool upgrade = req.headers.contains("Upgrade");  // else a 101 is an error, not a response
    for (bool first_try = true;; first_try = false) {
        std::optional<detail::connection> c;
        if (opts.keep_alive && first_try) c = pool.take(key, opts.idle_timeout);
        const bool reused = c.has_value();
        if (!reused) c.emplace(open(to, ctx, opts));
        response res;
        bool reusable = false;
        std::error_code ec;
        bool written = false;
        try {
            c->write_request(req, to, opts.user_agent);
            written = true;
            ec = c->read_response(res, lim, head, upgrade, reusable);
        } catch (const std::system_error& e) {
            // A pooled connection the server had closed: once more, on a new one.
            bool retry = reused && !c->response_started() && stale(e.code()) &&
                         (is_idempotent(req.method) || !written);
            if (!retry) throw;
            continue;
        }
        if (ec == errc::closed_before_response && reused && is_idempotent(req.method)) continue;
        if (ec) fail(ec, req, to);
        if (reusable && opts.keep_alive) pool.put(key, std::move(*c), opts.max_idle_per_host);
        return res;
    }
}

// follow() is the request after a redirect to `to` (RFC 9110 15.4): 303, and
// 301/302 after a POST, become a GET without a body; credentials stay behind
// when the host changes.
request follow(const request& req, int status, const url& from, const url& to) {
    request next;
    next.method = req.method;
    next.target = to.to_string();
    next.headers = req.headers;
    next.body = req.body;
    if (status == 303 || ((status == 301 || status == 302) && req.method == "POST")) {
        if (next.method != "HEAD") next.method = "GET";
        next.body.clear();
        for (auto name : {"Content-Length", "Content-Type", "Transfer-Encoding"}) next.headers.remove(name);
    }
    // Another origin — host, port, or scheme (https to http would send them in clear).
    if (from.host != to.host || from.port != to.port || from.scheme != to.scheme) {
        for (auto name : {"Host", "Authorization", "Cookie"}) next.headers.remove(name);
    }
    return next;
}

response send_all(const request& first, const options& opts) {
    url to = url::parse(first.target);
    require_supported(to);
    detail::check_request(first);
    const request* req = &first;
    request redirected;
    for (int redirects = 0;; ++redirects) {
        response res = exchange(*req, to, opts);
        if (!opts.follow_redirects || !is_redirect(res.status)) return res;
        auto location = res.headers.get("Location");
        if (!location) return res;
        if (redirects >= opts.max_redirects)
            throw std::system_error(errc::too_many_redirects, req->method + " " + first.target + ": more than " +
                                                                   std::to_string(opts.max_redirects) +
                                                                   " redirects, the last to " + std::string(*location));
        url next;
        try {
            next = to.resolve(*location);
        } catch (const std::system_error& e) {
            throw std::system_error(errc::bad_redirect, to.to_string() + " redirects to " + e.what());
        }
        require_supported(next);
        redirected = follow(*req, res.status, to, next);
        req = &redirected;
        to = std::move(next);
    }
}

}  // namespace

response send(const request& req, const options& opts) {
    if (opts.timeout > opts.timeout.zero()) return with_timeout(opts.timeout, [&] { return send_all(req, opts); });
    return send_all(req, opts);
}

response send(const request& req) { return send(req, options{}); }

response get(std::string_view target, const options& opts) {
    request req;
    req.target = target;
    return send(req, opts);
}

response get(std::string_view target) { return get(target, options{}); }

}  // namespace weft::http
