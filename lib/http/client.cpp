// SPDX-License-Identifier: MIT
// The HTTP client: a session (client) with its pool and limits, requests
// sent through it with redirects, retries, credentials, cookies, proxies and
// decoding, and the response read whole (get, send) or as it comes (open).
#include "weft/http/client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>
#include <ostream>
#include <random>

#include "detail/activity.hpp"
#include "detail/runtime.hpp"
#include "detail/sys_error.hpp"
#include "http/decode.hpp"
#include "http/pool.hpp"
#include "http/proxy.hpp"
#include "http/wire.hpp"
#include "weft/errors.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/this_fiber.hpp"
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

// retryable() is whether a request that failed with `ec` may be tried again:
// the connection failed, not the exchange's content.
bool retryable(std::error_code ec) noexcept {
    return stale(ec) || ec == std::errc::connection_refused || ec == std::errc::connection_aborted ||
           ec == std::errc::network_unreachable || ec == std::errc::host_unreachable || ec == errc::truncated_body ||
           ec == errc::proxy_unreachable;
}

// phase is where an exchange is, for what its errors say.
enum class phase { waiting, connecting, tls_handshake, sending, headers, body };

const char* text_of(phase p) noexcept {
    switch (p) {
        case phase::waiting: return "waiting for a connection (client limits)";
        case phase::connecting: return "connecting";
        case phase::tls_handshake: return "in the TLS handshake";
        case phase::sending: return "sending the request";
        case phase::headers: return "waiting for the response headers";
        case phase::body: return "reading the response body";
    }
    return "";
}

using weft::detail::without_message;

// call is one request as the user made it, for its error messages
// ("weft::http::get http://host/path", "weft::http::send POST http://host/")
// and its deadlines.
struct call {
    const char* name;  // the function the user called
    const options& opts;
    deadline whole;  // opts.timeout's deadline

    std::string who(const request& req) const { return describe(name, req.method, req.target); }

    // describe() is "<name> [<method>] <url>": the method unless it is get(),
    // the URL without a password.
    static std::string describe(std::string_view name, std::string_view method, std::string_view target) {
        std::string s(name);
        if (name != "weft::http::get") s.append(" ").append(method);
        return s.append(" ").append(url_text(target));
    }
    // url_text() is a target as an error message shows it: no password.
    static std::string url_text(std::string_view target) {
        std::error_code ec;
        url u = url::parse(target, ec);
        return ec ? std::string(target.substr(0, 200)) : u.to_string();
    }
};

// call_label is a call as weft::dump names the fiber making it ("in
// weft::http::get http://host/"): formatted only when a dump asks.
struct call_label {
    const char* name;
    const request* req;
    static void describe(const void* ctx, std::ostream& os) {
        auto* c = static_cast<const call_label*>(ctx);
        os << call::describe(c->name, c->req->method, c->req->target);
    }
};

// rethrow_in() rethrows the exception in flight as the user's call: its
// URL and the phase, then what the lower layer said. A timeout says whose
// deadline passed: the call's timeout, connect_timeout, read_timeout, or an
// enclosing with_timeout. The error code and the exception's type stay.
[[noreturn]] void rethrow_in(const call& c, const std::string& who, phase at, deadline connect_until,
                             bool read_timed = false) {
    try {
        throw;
    } catch (const timeout_error&) {
        const auto now = clock::now();
        std::string why = text_of(at);
        if (c.whole != never && now >= c.whole)
            why += "; timeout " + weft::detail::format_duration(c.opts.timeout);
        else if ((at == phase::connecting || at == phase::tls_handshake) && now >= connect_until)
            why += "; connect_timeout " + weft::detail::format_duration(c.opts.connect_timeout);
        else if (read_timed)
            why += "; read_timeout " + weft::detail::format_duration(c.opts.read_timeout);
        else
            why += "; an enclosing with_timeout";
        throw timeout_error(who, why);
    } catch (const cancelled&) {
        throw cancelled(who + " (" + text_of(at) + ")");
    } catch (const std::system_error& e) {
        if (e.code().category() == http::error_category() && std::string_view(e.what()).starts_with(who)) throw;
        throw std::system_error(e.code(), who + " (" + text_of(at) + "): " + without_message(e));
    }
}

void require_supported(const url& to) {
    if (to.scheme == "https" && !tls::available())
        throw std::system_error(
            errc::unsupported_scheme,
            to.to_string() + ": https:// needs TLS, and this weft was built without it (-Dtls=disabled)");
    if (to.scheme != "http" && to.scheme != "https") throw std::system_error(errc::unsupported_scheme, to.to_string());
}

// timed() runs fn within `timeout` (no_timeout: no limit of its own) and
// sets `hit` when that timeout, not another deadline, is what passed.
template <class Fn>
decltype(auto) timed(std::chrono::nanoseconds timeout, bool& hit, Fn&& fn) {
    if (timeout == no_timeout) return fn();
    const deadline until = deadline_after(timeout);
    try {
        return with_timeout(timeout, std::forward<Fn>(fn));
    } catch (const timeout_error&) {
        hit = clock::now() >= until;
        throw;
    }
}

// run_http is what the HTTP client keeps per weft::run(): the default TLS
// context (the system's trust store, loaded once) and the default client.
struct run_http final : weft::detail::service {
    std::optional<tls::context> tls;
    std::optional<client> default_client;
    ~run_http() override { default_client.reset(); }  // its connections before the reactor goes
};

run_http& current_run_http(const char* what) {
    return weft::detail::current_service<run_http>(what, [] { return std::make_unique<run_http>(); });
}

const tls::context& default_tls(const char* what) {
    run_http& r = current_run_http(what);
    if (!r.tls) {
        tls::client_options o;
        o.alpn = {"http/1.1"};
        r.tls = tls::context::client(o);
    }
    return *r.tls;
}

// retry_after() is how long a 503's (or 429's) Retry-After asks to wait:
// seconds, or an HTTP date; nullopt when absent or unreadable.
std::optional<std::chrono::nanoseconds> retry_after(const headers& h) {
    auto v = h.get("Retry-After");
    if (!v) return std::nullopt;
    std::string text(*v);
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        if (text.size() > 9) return std::chrono::hours(24 * 365);
        return std::chrono::seconds(std::stoll(text));
    }
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
    const auto now = std::chrono::system_clock::now();
    return at > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(at - now) : std::chrono::nanoseconds(0);
}

// jitter() is a number from 0 to top, from a generator seeded once per
// thread. (Out of line and cold: std::random_device is a 5 KB object that
// would otherwise sit in every request's stack frame.)
[[gnu::noinline, gnu::cold]] long long jitter(long long top) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    return std::uniform_int_distribution<long long>(0, top)(rng);
}

// backoff() is the wait before try number `attempt` (1, 2, ...): full
// jitter over retry_backoff doubled per try, at most 30 s.
std::chrono::nanoseconds backoff(std::chrono::nanoseconds base, int attempt) {
    const long long cap = std::chrono::nanoseconds(std::chrono::seconds(30)).count();
    long long top = base.count();
    for (int i = 1; i < attempt && top < cap; ++i) top *= 2;
    top = std::min(top, cap);
    if (top <= 0) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(jitter(top));
}

}  // namespace

// ---------------------------------------------------------------- client state

struct client::state {
    client_options opts;
    detail::pool pool;
    std::optional<cookie_jar> jar;

    explicit state(client_options o)
        : opts(std::move(o)),
          pool({opts.max_connections, opts.max_connections_per_host, opts.max_idle_per_host, opts.idle_timeout}) {
        if (opts.cookies) jar.emplace();
    }
};

// response_stream::state is a response whose body is still on its
// connection, and what reading it needs.
struct response_stream::state {
    std::shared_ptr<client::state> owner;
    std::string key;                         // the connection's place in the pool
    std::optional<detail::connection> conn;  // until the body ends
    const char* name = "";                   // the call, for error messages:
    std::string method, target;              // "weft::http::get http://..."
    int status = 0;
    std::string reason;
    http::headers fields;
    std::optional<std::uint64_t> length;
    std::chrono::nanoseconds read_timeout{};
    std::uint64_t limit = 0;                   // max_body_bytes
    std::unique_ptr<detail::decoder> decoder;  // when the client decodes the body
    std::vector<char> raw;                     // the body as sent, read ahead of the decoder
    std::size_t raw_at = 0, raw_end = 0;
    bool raw_done = false;  // the body as sent has ended
    bool finished = false;
    bool reuse = true;  // options::keep_alive
    std::uint64_t read = 0;

    state() = default;
    state(const state&) = delete;
    ~state() { give_back(); }

    // give_back() returns the connection's slot: the connection stays open
    // for reuse when the body was read to its end on a reusable connection.
    void give_back() noexcept {
        if (!owner) return;
        std::optional<detail::connection> c;
        if (conn && finished && reuse && conn->reusable()) c = std::move(conn);
        conn.reset();
        owner->pool.release(key, std::move(c));
        owner.reset();
    }

    std::string who() const { return call::describe(name, method, target); }

    [[noreturn]] void fail(std::error_code ec, const std::string& detail = {}) {
        conn.reset();
        give_back();
        std::string what = who() + " (reading the response body)";
        if (!detail.empty()) what += ": " + detail;
        throw std::system_error(ec, what);
    }

    // raw_some() reads the next bytes of the body as sent; 0 at its end.
    std::size_t raw_some(std::span<char> buf) {
        std::size_t n = 0;
        std::error_code ec;
        bool read_timed = false;
        try {
            ec = timed(read_timeout, read_timed, [&] { return conn->read_body_some(buf, n); });
        } catch (const timeout_error&) {
            conn.reset();
            give_back();
            std::string why = read_timed ? "; read_timeout " + weft::detail::format_duration(read_timeout)
                                         : "; an enclosing with_timeout";
            throw timeout_error(who(), std::string("reading the response body") + why);
        } catch (const cancelled&) {
            conn.reset();
            give_back();
            throw cancelled(who() + " (reading the response body)");
        } catch (const std::system_error& e) {
            fail(e.code(), without_message(e));
        }
        if (ec) fail(ec);
        return n;
    }

    void count(std::size_t n) {
        read += n;
        if (read > limit)
            fail(errc::body_too_large,
                 "more than max_body_bytes = " + std::to_string(limit) + (decoder ? " bytes decoded" : " bytes"));
    }

    std::size_t some(std::span<char> buf) {
        if (finished || buf.empty()) return 0;
        if (!decoder) {
            const std::size_t n = raw_some(buf);
            if (n == 0) {
                finished = true;
                give_back();
                return 0;
            }
            count(n);
            return n;
        }
        for (;;) {
            if (raw_at == raw_end && !raw_done) {
                raw_at = 0;
                raw_end = raw_some(raw);
                raw_done = raw_end == 0;
            }
            detail::decoder::step s{};
            try {
                s = decoder->feed(std::span<const char>(raw.data() + raw_at, raw_end - raw_at), buf, raw_done);
            } catch (const std::system_error& e) {
                fail(e.code(), without_message(e));
            }
            raw_at += s.used;
            if (s.made > 0) {
                count(s.made);
                return s.made;
            }
            if (raw_done && raw_at == raw_end) {
                // The body has ended: so must the compressed data. (Bytes
                // after its end are the decoder's error; another gzip member
                // is more of the body.)
                if (!decoder->finished()) fail(errc::bad_content_encoding, "the compressed data ends early");
                finished = true;
                give_back();
                return 0;
            }
            if (s.used == 0 && raw_at < raw_end) fail(errc::bad_content_encoding, "the decoder made no progress");
        }
    }
};

namespace {

// exchange is one try at one URL: the connection, the request, the head.
struct exchange {
    const call& cl;
    client::state& cs;
    const std::shared_ptr<client::state>& owner;
    const request& req;
    const url& to;
    phase at = phase::waiting;
    deadline connect_until = never;
    bool read_timed = false;

    // open() makes a new connection to `to` (through `px` when given):
    // TCP, a CONNECT tunnel for https through a proxy, then TLS for https,
    // all within connect_timeout.
    // who() is the call as an error message names it (only errors need it).
    std::string who() const { return cl.who(req); }

    detail::connection open(const tls::context* ctx, const std::optional<detail::proxy>& px) {
        at = phase::connecting;
        const auto& opts = cl.opts;
        connect_until = deadline_after(opts.connect_timeout);
        std::optional<net::tcp_stream> tcp;
        if (px && to.scheme == "https") {
            tcp.emplace(detail::connect_tunnel(*px, to.host, to.port, opts.connect_timeout));
        } else if (px) {
            tcp.emplace(detail::connect_proxy(*px, opts.connect_timeout));
        } else {
            tcp.emplace(net::tcp_stream::connect(to.host, to.port, opts.connect_timeout));
        }
        tcp->set_nodelay(true);
        if (!ctx) return detail::connection(detail::transport(std::move(*tcp)));
        at = phase::tls_handshake;
        tls::stream s = tls::stream::connect(std::move(*tcp), to.host, *ctx, connect_until - clock::now());
        return detail::connection(detail::transport(std::move(s)));
    }

    // run() sends the request and reads the response's head: the stream
    // that reads its body.
    std::unique_ptr<response_stream::state> run() {
        const options& opts = cl.opts;
        const tls::context* ctx = nullptr;
        if (to.scheme == "https") ctx = opts.tls ? &*opts.tls : &default_tls(cl.name);
        std::optional<detail::proxy> px = detail::proxy_for(to, opts);
        // Connections are kept per scheme, host and port, per TLS context (one
        // made with verification off never serves a verifying request), and
        // per proxy.
        std::string key = to.scheme + " " + to.host + " " + std::to_string(to.port);
        if (ctx) key.append(" tls ").append(std::to_string(ctx->id()));
        if (px) key.append(" via ").append(px->key());

        headers added;
        for (const auto& [name, value] : cs.opts.headers) added.add(name, value);
        if (!opts.user_agent.empty()) added.add("User-Agent", opts.user_agent);
        const bool decode = opts.decompress && !req.headers.contains("Accept-Encoding");
        if (decode) added.add("Accept-Encoding", std::string(detail::accept_encoding()));
        if (!to.user.empty() || !to.password.empty())
            added.add("Authorization", detail::basic_authorization(to.user, to.password));
        if (cs.jar && !req.headers.contains("Cookie")) {
            std::string cookies = cs.jar->cookie_header(to);
            if (!cookies.empty()) added.add("Cookie", std::move(cookies));
        }
        const bool absolute = px && to.scheme == "http";
        if (absolute && !px->authorization.empty()) added.add("Proxy-Authorization", px->authorization);

        const detail::limits lim{opts.max_header_bytes, opts.max_body_bytes};
        const bool head = req.method == "HEAD";
        const bool upgrade = req.headers.contains("Upgrade");  // else a 101 is an error, not a response
        try {
            for (;;) {  // again only when a pooled connection had gone stale
                at = phase::waiting;
                std::optional<detail::connection> c = cs.pool.acquire(key, cl.name);
                // keep_alive = false: the slot stays ours, for a new connection
                // that closes after this exchange.
                if (c && !opts.keep_alive) c.reset();
                const bool reused = c.has_value();
                // From here the slot is ours: every way out gives it back.
                auto st = std::make_unique<response_stream::state>();
                st->owner = owner;
                st->key = key;
                if (!reused) {
                    try {
                        c.emplace(open(ctx, px));
                    } catch (...) {
                        st->give_back();
                        throw;
                    }
                }
                st->conn = std::move(c);
                response res;
                std::error_code ec;
                bool written = false;
                try {
                    at = phase::sending;
                    st->conn->write_request(req, to, added, absolute);
                    written = true;
                    at = phase::headers;
                    ec = timed(opts.read_timeout, read_timed,
                               [&] { return st->conn->read_response_head(res, lim, head, upgrade); });
                } catch (const std::system_error& e) {
                    // A pooled connection the server had closed: once more, on a new one.
                    bool retry = reused && !st->conn->response_started() && stale(e.code()) &&
                                 (is_idempotent(req.method) || !written) && !req.body_source;
                    st->conn.reset();
                    st->give_back();
                    if (!retry) throw;
                    continue;
                } catch (...) {
                    st->conn.reset();
                    st->give_back();
                    throw;
                }
                if (ec == errc::closed_before_response && reused && is_idempotent(req.method) && !req.body_source) {
                    st->conn.reset();
                    st->give_back();
                    continue;
                }
                if (ec) {
                    st->conn.reset();
                    st->give_back();
                    throw std::system_error(ec, who());
                }
                at = phase::body;
                st->reuse = opts.keep_alive;
                st->name = cl.name;
                st->method = req.method;
                st->target = req.target;
                st->status = res.status;
                st->reason = std::move(res.reason);
                st->fields = std::move(res.headers);
                if (auto len = st->fields.get("Content-Length"); len && !head) {
                    std::uint64_t v = 0;
                    if (std::from_chars(len->data(), len->data() + len->size(), v).ec == std::errc{}) st->length = v;
                }
                st->read_timeout = opts.read_timeout;
                st->limit = opts.max_body_bytes;
                if (decode && !st->conn->body_done()) {
                    if (auto ce = st->fields.get("Content-Encoding")) {
                        try {
                            st->decoder = detail::decoder::make(*ce);
                        } catch (const std::system_error& e) {
                            st->conn.reset();
                            st->give_back();
                            throw std::system_error(e.code(), who() + ": " + without_message(e));
                        }
                        if (st->decoder) st->raw.resize(64 * 1024);
                    }
                }
                if (st->conn->body_done() && !st->decoder) {
                    st->finished = true;
                    st->give_back();
                }
                return st;
            }
        } catch (const std::system_error& e) {
            const std::string name = who();
            if (e.code().category() == http::error_category() && std::string_view(e.what()).starts_with(name)) throw;
            rethrow_in(cl, name, at, connect_until, read_timed);
        } catch (const cancelled&) {
            rethrow_in(cl, who(), at, connect_until, read_timed);
        }
    }
};

}  // namespace

namespace {

// follow() is the request after a redirect to `to` (RFC 9110 15.4): 303, and
// 301/302 after a POST, become a GET without a body; credentials and cookies
// the request carried stay behind when the origin changes.
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
        for (auto name : {"Host", "Authorization", "Cookie", "Proxy-Authorization"}) next.headers.remove(name);
    }
    return next;
}

// session is one client call: the first request, its redirects and retries.
struct session {
    const call& cl;
    const std::shared_ptr<client::state>& owner;
    const request& first;

    std::unique_ptr<response_stream::state> run() {
        url to;
        try {
            to = url::parse(first.target);
            require_supported(to);
            detail::check_request(first);
            if (first.body_source &&
                (first.headers.contains("Content-Length") || first.headers.contains("Transfer-Encoding")))
                throw std::system_error(errc::bad_header,
                                        "a request with a body_source sets body_length, "
                                        "not Content-Length or Transfer-Encoding");
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), std::string(cl.name) + ": " + without_message(e));
        }
        const request* req = &first;
        request redirected;
        for (int redirects = 0;; ++redirects) {
            auto st = with_retries(*req, to);
            if (owner->jar) owner->jar->store(to, st->fields);
            if (!cl.opts.follow_redirects || !is_redirect(st->status)) return st;
            auto location = st->fields.get("Location");
            if (!location) return st;
            // A streamed body cannot be sent again: the redirect is the answer.
            if (req->body_source && (st->status == 307 || st->status == 308)) return st;
            if (redirects >= cl.opts.max_redirects)
                throw std::system_error(errc::too_many_redirects,
                                        cl.who(first) + ": more than " + std::to_string(cl.opts.max_redirects) +
                                            " redirects, the last to " + call::url_text(*location));
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
            // A redirect within the origin keeps the URL's user and password
            // (a relative Location does by itself); to another origin, never.
            if (next.user.empty() && next.password.empty() && next.scheme == to.scheme && next.host == to.host &&
                next.port == to.port) {
                next.user = to.user;
                next.password = to.password;
            }
            // The redirect's own body is read away (up to 64 KiB) so that its
            // connection can serve the next request.
            const int status = st->status;
            drain(*st);
            st.reset();
            redirected = follow(*req, status, to, next);
            req = &redirected;
            to = std::move(next);
        }
    }

    // drain() reads a body that nobody wants away, up to 64 KiB, so that its
    // connection can serve the next request.
    [[gnu::noinline]] static void drain(response_stream::state& st) {
        if (st.finished) return;
        if (st.length && *st.length > 64 * 1024) return;
        std::vector<char> buf(4096);
        try {
            for (int i = 0; i < 16 && st.some(buf) > 0; ++i) {
            }
        } catch (const std::exception&) {
            // the connection is dropped; the redirect goes on
        }
    }

    // with_retries() is one exchange at `to`, tried again after connection
    // errors and 502/503/504 when options::retries allows.
    std::unique_ptr<response_stream::state> with_retries(const request& req, const url& to) {
        const options& opts = cl.opts;
        const bool may_retry = opts.retries > 0 && is_idempotent(req.method) && !req.body_source;
        for (int attempt = 0;; ++attempt) {
            const bool last = !may_retry || attempt >= opts.retries;
            std::chrono::nanoseconds wait{};
            try {
                exchange ex{cl, *owner, owner, req, to};
                auto st = ex.run();
                const bool busy = st->status == 502 || st->status == 503 || st->status == 504;
                if (last || !busy) return st;
                auto asked = retry_after(st->fields);
                wait = asked ? *asked : backoff(opts.retry_backoff, attempt + 1);
                if (!fits(wait)) return st;  // the last answer it is
                drain(*st);
            } catch (const std::system_error& e) {
                if (last || !retryable(e.code()) || dynamic_cast<const timeout_error*>(&e)) throw;
                wait = backoff(opts.retry_backoff, attempt + 1);
                if (!fits(wait)) throw;
            }
            this_fiber::sleep_for(wait);
        }
    }

    // fits() is whether waiting `wait` leaves the request's deadline ahead.
    bool fits(std::chrono::nanoseconds wait) const { return cl.whole == never || clock::now() + wait < cl.whole; }
};

// read_whole() reads a stream's body into the response.
void read_whole(response_stream::state& st, response& out) {
    out.status = st.status;
    out.reason = st.reason;
    out.headers = st.fields;
    std::string& body = out.body;
    // A length announced and not decoded: that much, in one allocation.
    if (st.length && !st.decoder && !st.finished) {
        body.resize(static_cast<std::size_t>(std::min(*st.length, st.limit)));
        std::size_t have = 0;
        while (have < body.size()) {
            std::size_t n = st.some(std::span<char>(body.data() + have, body.size() - have));
            if (n == 0) break;
            have += n;
        }
        body.resize(have);
    }
    // Otherwise the string grows by doubling, but never past the limit.
    while (!st.finished) {
        if (body.size() == body.capacity()) {
            if (body.size() >= st.limit) {
                char probe[1];
                st.some(probe);  // a byte more throws body_too_large; the end returns 0
                continue;
            }
            std::uint64_t want = std::max<std::uint64_t>(2 * body.capacity(), 16 * 1024);
            std::string bigger;
            bigger.reserve(static_cast<std::size_t>(std::min(want, st.limit)));
            bigger.append(body);
            body.swap(bigger);
        }
        const std::size_t have = body.size();
        body.resize(body.capacity());
        const std::size_t n = st.some(std::span<char>(body.data() + have, body.size() - have));
        body.resize(have + n);
    }
}

// (The call holds its own reference to the client's state: a client
// destroyed by another fiber meanwhile cannot take the pool from under it.)
response send_on(const char* name, std::shared_ptr<client::state> owner, const request& req, const options& opts) {
    weft::detail::require_fiber(name);
    const call cl{name, opts, deadline_after(opts.timeout)};
    const call_label label{name, &req};
    const weft::detail::activity doing(&call_label::describe, &label);
    return weft::detail::with_scope(cl.whole, name, [&] {
        auto st = session{cl, owner, req}.run();
        response res;
        try {
            read_whole(*st, res);
        } catch (const timeout_error&) {
            // The call's own timeout reads as the call's: name it.
            if (cl.whole != never && clock::now() >= cl.whole)
                throw timeout_error(cl.who(req), std::string("reading the response body; timeout ") +
                                                     weft::detail::format_duration(opts.timeout));
            throw;
        }
        return res;
    });
}

}  // namespace

// ---------------------------------------------------------------- client

client::client() : client(client_options{}) {}
client::client(client_options opts) : s_(std::make_shared<state>(std::move(opts))) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

response client::get(std::string_view url) { return get(url, s_->opts.defaults); }
response client::get(std::string_view url, const options& opts) {
    request req;
    req.target = url;
    return send_on("weft::http::get", s_, req, opts);
}
response client::send(const request& req) { return send(req, s_->opts.defaults); }
response client::send(const request& req, const options& opts) { return send_on("weft::http::send", s_, req, opts); }

response_stream client::open(const request& req) { return open(req, s_->opts.defaults); }
response_stream client::open(const request& req, const options& opts) {
    const char* name = "weft::http::client::open";
    weft::detail::require_fiber(name);
    const call cl{name, opts, deadline_after(opts.timeout)};
    const call_label label{name, &req};
    const weft::detail::activity doing(&call_label::describe, &label);
    const std::shared_ptr<state> owner = s_;  // held for the call, as send_on() does
    return response_stream(weft::detail::with_scope(cl.whole, name, [&] { return session{cl, owner, req}.run(); }));
}

const client_options& client::settings() const noexcept { return s_->opts; }
cookie_jar* client::cookies() noexcept { return s_->jar ? &*s_->jar : nullptr; }
std::size_t client::open_connections() const noexcept { return s_->pool.open(); }
std::size_t client::idle_connections() const noexcept { return s_->pool.idle(); }

client& default_client() {
    run_http& r = current_run_http("weft::http::default_client");
    if (!r.default_client) r.default_client.emplace();
    return *r.default_client;
}

// ---------------------------------------------------------------- response_stream

response_stream::response_stream(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

int response_stream::status() const noexcept { return s_->status; }
const std::string& response_stream::reason() const noexcept { return s_->reason; }
const http::headers& response_stream::headers() const noexcept { return s_->fields; }
std::optional<std::uint64_t> response_stream::content_length() const noexcept { return s_->length; }
bool response_stream::done() const noexcept { return s_->finished; }
std::uint64_t response_stream::bytes_read() const noexcept { return s_->read; }

std::size_t response_stream::read_some(std::span<char> buf) {
    if (!s_) throw std::logic_error("weft::http::response_stream::read_some on a moved-from stream");
    if (!s_->owner && !s_->finished)
        throw std::system_error(make_error_code(std::errc::bad_file_descriptor), s_->who() + ": the stream was closed");
    return s_->some(buf);
}

std::string response_stream::read_all() {
    response r;
    read_whole(*s_, r);
    return std::move(r.body);
}

void response_stream::close() noexcept {
    if (!s_) return;
    if (!s_->finished) s_->conn.reset();
    s_->give_back();
}

// ---------------------------------------------------------------- the run's default client

response send(const request& req, const options& opts) {
    weft::detail::require_fiber("weft::http::send");
    return default_client().send(req, opts);
}
response send(const request& req) {
    weft::detail::require_fiber("weft::http::send");
    return default_client().send(req);
}
response get(std::string_view target, const options& opts) {
    weft::detail::require_fiber("weft::http::get");
    return default_client().get(target, opts);
}
response get(std::string_view target) {
    weft::detail::require_fiber("weft::http::get");
    return default_client().get(target);
}

}  // namespace weft::http
