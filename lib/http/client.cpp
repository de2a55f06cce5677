// SPDX-License-Identifier: MIT
#include "weft/http/client.hpp"

#include <optional>

#include "detail/sys_error.hpp"
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

// phase is where an exchange is, for what its errors say.
enum class phase { connecting, tls_handshake, sending, headers, body };

const char* text_of(phase p) noexcept {
    switch (p) {
        case phase::connecting: return "connecting";
        case phase::tls_handshake: return "in the TLS handshake";
        case phase::sending: return "sending the request";
        case phase::headers: return "waiting for the response headers";
        case phase::body: return "reading the response body";
    }
    return "";
}

// call is one get() or send() as the user made it, for its error messages:
// "weft::http::get http://host/path", "weft::http::send POST http://host/".
struct call {
    const char* name;   // "weft::http::get" or "weft::http::send"
    const options& opts;
    deadline whole;     // opts.timeout's deadline
    const request* first;

    std::string who(const request& req) const {
        std::string s = name;
        if (std::string_view(name) == "weft::http::send") s.append(" ").append(req.method);
        return s.append(" ").append(req.target);
    }
};

// without_message() is e's what() without the ": <message>" that
// std::system_error appended, so that a rewrapped error says it once.
std::string without_message(const std::system_error& e) {
    std::string w = e.what();
    const std::string tail = ": " + e.code().message();
    if (w.size() >= tail.size() && w.compare(w.size() - tail.size(), tail.size(), tail) == 0)
        w.resize(w.size() - tail.size());
    return w;
}

// rethrow_in() rethrows the exception in flight as the user's call: its
// URL and the phase, then what the lower layer said. A timeout says whose
// deadline passed: the call's timeout, connect_timeout, or an enclosing
// with_timeout. The error code and the exception's type stay.
[[noreturn]] void rethrow_in(const call& c, const request& req, phase at, deadline connect_until) {
    const std::string who = c.who(req);
    try {
        throw;
    } catch (const timeout_error&) {
        const auto now = clock::now();
        std::string why = text_of(at);
        if (c.whole != never && now >= c.whole)
            why += "; timeout " + weft::detail::format_duration(c.opts.timeout);
        else if ((at == phase::connecting || at == phase::tls_handshake) && now >= connect_until)
            why += "; connect_timeout " + weft::detail::format_duration(c.opts.connect_timeout);
        else
            why += "; an enclosing with_timeout";
        throw timeout_error(who, why);
    } catch (const cancelled&) {
        throw cancelled(who + " (" + text_of(at) + ")");
    } catch (const std::system_error& e) {
        throw std::system_error(e.code(), who + " (" + text_of(at) + "): " + without_message(e));
    }
}

[[noreturn]] void fail(std::error_code ec, const call& c, const request& req) {
    throw std::system_error(ec, c.who(req));
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
detail::connection open(const url& to, const tls::context* ctx, const options& opts, phase& at,
                        deadline& connect_until) {
    at = phase::connecting;
    connect_until = deadline_after(opts.connect_timeout);
    net::tcp_stream tcp = net::tcp_stream::connect(to.host, to.port, opts.connect_timeout);
    tcp.set_nodelay(true);
    if (!ctx) return detail::connection(detail::transport(std::move(tcp)));
    at = phase::tls_handshake;
    tls::stream s = tls::stream::connect(std::move(tcp), to.host, *ctx, connect_until - clock::now());
    return detail::connection(detail::transport(std::move(s)));
}

// exchange() sends req to `to` on a pooled or new connection and reads the response.
response exchange(const call& cl, const request& req, const url& to) {
    const options& opts = cl.opts;
    detail::pool& pool = detail::current_pool(cl.name);
    const tls::context* ctx = nullptr;
    if (to.scheme == "https") ctx = opts.tls ? &*opts.tls : &pool.default_tls();
    // Connections are kept per scheme, host and port, and per TLS context:
    // one made with verification off must never serve a verifying request.
    std::string key = to.scheme + " " + to.host + " " + std::to_string(to.port);
    if (ctx) key.append(" ").append(std::to_string(ctx->id()));
    const detail::limits lim{opts.max_header_bytes, opts.max_body_bytes};
    const bool head = req.method == "HEAD";
    const bool upgrade = req.headers.contains("Upgrade");  // else a 101 is an error, not a response
    phase at = phase::connecting;
    deadline connect_until = never;
    try {
        for (bool first_try = true;; first_try = false) {
            std::optional<detail::connection> c;
            if (opts.keep_alive && first_try) c = pool.take(key, opts.idle_timeout);
            const bool reused = c.has_value();
            if (!reused) c.emplace(open(to, ctx, opts, at, connect_until));
            response res;
            bool reusable = false;
            std::error_code ec;
            bool written = false;
            try {
                at = phase::sending;
                c->write_request(req, to, opts.user_agent);
                written = true;
                at = phase::headers;
                ec = c->read_response(res, lim, head, upgrade, reusable);
            } catch (const std::system_error& e) {
                if (c->header_done()) at = phase::body;
                // A pooled connection the server had closed: once more, on a new one.
                bool retry = reused && !c->response_started() && stale(e.code()) &&
                             (is_idempotent(req.method) || !written);
                if (!retry) throw;
                continue;
            } catch (const cancelled&) {
                if (c->header_done()) at = phase::body;
                throw;
            }
            if (ec == errc::closed_before_response && reused && is_idempotent(req.method)) continue;
            if (ec) fail(ec, cl, req);
            if (reusable && opts.keep_alive) pool.put(key, std::move(*c), opts.max_idle_per_host);
            return res;
        }
    } catch (const std::system_error& e) {
        if (e.code().category() == http::error_category()) throw;  // our own, named already
        rethrow_in(cl, req, at, connect_until);
    } catch (const cancelled&) {
        rethrow_in(cl, req, at, connect_until);
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

response send_all(const call& cl) {
    const request& first = *cl.first;
    url to;
    try {
        to = url::parse(first.target);
        require_supported(to);
        detail::check_request(first);
    } catch (const std::system_error& e) {
        throw std::system_error(e.code(), std::string(cl.name) + ": " + without_message(e));
    }
    const request* req = &first;
    request redirected;
    for (int redirects = 0;; ++redirects) {
        response res = exchange(cl, *req, to);
        if (!cl.opts.follow_redirects || !is_redirect(res.status)) return res;
        auto location = res.headers.get("Location");
        if (!location) return res;
        if (redirects >= cl.opts.max_redirects)
            throw std::system_error(errc::too_many_redirects, cl.who(first) + ": more than " +
                                                                  std::to_string(cl.opts.max_redirects) +
                                                                  " redirects, the last to " + std::string(*location));
        url next;
        try {
            next = to.resolve(*location);
            require_supported(next);
        } catch (const std::system_error& e) {
            throw std::system_error(e.code().category() == http::error_category() && e.code() == errc::bad_url
                                        ? make_error_code(errc::bad_redirect)
                                        : e.code(),
                                    cl.who(*req) + " redirects to " + without_message(e));
        }
        redirected = follow(*req, res.status, to, next);
        req = &redirected;
        to = std::move(next);
    }
}

// send_as() is get() and send(): `name` is the one the user called.
response send_as(const char* name, const request& req, const options& opts) {
    weft::detail::require_fiber(name);
    const call cl{name, opts, deadline_after(opts.timeout), &req};
    return weft::detail::with_scope(cl.whole, name, [&] { return send_all(cl); });
}

}  // namespace

response send(const request& req, const options& opts) { return send_as("weft::http::send", req, opts); }

response send(const request& req) { return send(req, options{}); }

response get(std::string_view target, const options& opts) {
    request req;
    req.target = target;
    return send_as("weft::http::get", req, opts);
}

response get(std::string_view target) { return get(target, options{}); }

}  // namespace weft::http
