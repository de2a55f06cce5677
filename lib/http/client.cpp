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
#include "net/sys.hpp"
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

    std::string who(std::string_view method, std::string_view target) const { return describe(name, method, target); }

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
    std::string_view method, target;
    static void describe(const void* ctx, std::ostream& os) {
        auto* c = static_cast<const call_label*>(ctx);
        os << call::describe(c->name, c->method, c->target);
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
        return with_deadline(until, std::forward<Fn>(fn));
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
    // key is where a request writes its pool key just before the pool looks
    // it up (the pool keeps no reference to it): no string made per request.
    std::string key;
    // common is what most requests add to their fields: the client's
    // headers, User-Agent and Accept-Encoding, made once for the user_agent
    // and decompress of the first request; a request with others makes its
    // own. Never changed once made: a request that is writing it may be
    // waiting on its socket.
    struct common_fields {
        std::string user_agent;
        bool decode;
        http::headers fields;
    };
    std::optional<common_fields> common;

    explicit state(client_options o)
        : opts(std::move(o)),
          pool({opts.max_connections, opts.max_connections_per_host, opts.max_idle_per_host, opts.idle_timeout}) {
        if (opts.cookies) jar.emplace();
    }

    // common_for() is `common` when it was made for these options, else nullptr.
    const http::headers* common_for(const std::string& user_agent, bool decode) {
        if (!common) common.emplace(common_fields{user_agent, decode, make_common(user_agent, decode)});
        return common->decode == decode && common->user_agent == user_agent ? &common->fields : nullptr;
    }
    http::headers make_common(const std::string& user_agent, bool decode) const {
        http::headers h;
        for (const auto& [name, value] : opts.headers) h.add(name, value);
        if (!user_agent.empty()) h.add("User-Agent", user_agent);
        if (decode) h.add("Accept-Encoding", std::string(detail::accept_encoding()));
        detail::check_fields(h);  // once, not in every request's head (write_request's added_checked)
        return h;
    }
};

// response_stream::state is a response whose body is still on its
// connection, and what reading it needs.
struct response_stream::state {
    std::shared_ptr<client::state> owner;
    detail::pool::place* place = nullptr;    // the connection's place in the pool
    std::optional<detail::connection> conn;  // until the body ends
    const char* name = "";                   // the call, for error messages:
    std::string_view method, target;         // "weft::http::get http://...": the request's,
    std::string own_method, own_target;      // or these copies (keep_names())
    response head;                           // status, reason and headers (no body)
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
        if (conn && finished && reuse && conn->reusable()) {
            c = std::move(conn);
            c->let_go();  // an idle connection holds no buffer
        }
        conn.reset();
        owner->pool.release(*place, std::move(c));
        owner.reset();
    }

    std::string who() const { return call::describe(name, method, target); }

    // keep_names() copies the request's method and target, for a stream
    // that outlives its request (open(), or the request a redirect made).
    void keep_names() {
        own_method = method;
        own_target = target;
        method = own_method;
        target = own_target;
    }

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
            // What is at hand needs no timeout (and no clock read to set one).
            ec = conn->body_at_hand() ? conn->read_body_some(buf, n)
                                      : timed(read_timeout, read_timed, [&] { return conn->read_body_some(buf, n); });
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
// (Its frame and session's lie under every read of a response: what they
// hold is kept small, the rare paths out of line, so that a GET stays
// within its fiber's top page of stack; Beast's header parser, with its
// 4 KB buffer, runs on the side stack. http_client_test checks the page.)
struct exchange {
    const call& cl;
    client::state& cs;
    const std::shared_ptr<client::state>& owner;
    const request& req;
    std::string_view target;  // req's URL (get() makes a request without one)
    const url& to;
    phase at = phase::waiting;
    deadline connect_until = never;
    bool read_timed = false;

    // who() is the call as an error message names it (only errors need it).
    std::string who() const { return cl.who(req.method, target); }

    // open() makes a new connection to `to` (through `px` when given):
    // TCP, a CONNECT tunnel for https through a proxy, then TLS for https,
    // all within connect_timeout.
    [[gnu::noinline]] detail::connection open(const tls::context* ctx, const detail::proxy* px) {
        at = phase::connecting;
        const auto& opts = cl.opts;
        connect_until = deadline_after(opts.connect_timeout);
        std::optional<net::tcp_stream> tcp;
        if (px && to.scheme == "https") {
            tcp.emplace(detail::connect_tunnel(*px, to.host, to.port, opts.connect_timeout));
        } else if (px) {
            tcp.emplace(detail::connect_proxy(*px, opts.connect_timeout));
        } else {
            // The error_code form, and the message made only on an error: the
            // throwing form makes it before it connects.
            std::error_code ec;
            tcp.emplace(net::tcp_stream::connect(to.host, to.port, opts.connect_timeout, ec));
            if (ec) connect_failed(ec);
        }
        tcp->set_nodelay(true);
        if (!ctx) return detail::connection(detail::transport(std::move(*tcp)));
        at = phase::tls_handshake;
        tls::stream s = tls::stream::connect(std::move(*tcp), to.host, *ctx, connect_until - clock::now());
        return detail::connection(detail::transport(std::move(s)));
    }

    // connect_failed() throws what tcp_stream::connect(host, port, timeout) would.
    [[noreturn, gnu::noinline, gnu::cold]] void connect_failed(std::error_code ec) const {
        weft::detail::throw_error(ec, "weft::net::tcp_stream::connect to " + net::detail::host_port(to.host, to.port),
                                  cl.opts.connect_timeout);
    }

    // proxy() is the proxy this request goes through, or nullptr.
    [[gnu::noinline]] std::unique_ptr<detail::proxy> proxy() const {
        std::optional<detail::proxy> px = detail::proxy_for(to, cl.opts);
        return px ? std::make_unique<detail::proxy>(std::move(*px)) : nullptr;
    }

    // pool_key() is where connections to `to` are kept: per scheme, host and
    // port, per TLS context (one made with verification off never serves a
    // verifying request), and per proxy. It is written into the client's
    // scratch string, which the next request overwrites: look it up at once.
    std::string_view pool_key(const tls::context* ctx, const detail::proxy* px) const {
        std::string& key = cs.key;
        key.assign(to.scheme).append(" ").append(to.host).append(" ");
        append_number(key, to.port);
        if (ctx) append_number(key.append(" tls "), ctx->id());
        if (px) key.append(" via ").append(px->key());
        return key;
    }
    static void append_number(std::string& out, std::uint64_t n) {
        char digits[20];
        out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    }

    // added() is the fields this request adds to its own: the common ones,
    // and Authorization, Cookie and Proxy-Authorization when it has them
    // (then in `own`).
    const headers* added(headers& own, bool decode, const detail::proxy* px, bool absolute) const {
        const headers* common = cs.common_for(cl.opts.user_agent, decode);
        const bool auth = !to.user.empty() || !to.password.empty();
        const bool cookies = cs.jar && !req.headers.contains("Cookie");
        const bool proxy_auth = absolute && !px->authorization.empty();
        if (common && !auth && !cookies && !proxy_auth) return common;
        add_own(own, common, decode, auth, cookies, proxy_auth ? px : nullptr);
        return &own;
    }
    [[gnu::noinline]] void add_own(headers& own, const headers* common, bool decode, bool auth, bool cookies,
                                   const detail::proxy* proxy_auth) const {
        own = common ? *common : cs.make_common(cl.opts.user_agent, decode);
        if (auth) own.add("Authorization", detail::basic_authorization(to.user, to.password));
        if (cookies) {
            std::string header = cs.jar->cookie_header(to);
            if (!header.empty()) own.add("Cookie", std::move(header));
        }
        if (proxy_auth) own.add("Proxy-Authorization", proxy_auth->authorization);
    }

    // failed() rethrows the error in flight as the call's, naming its URL
    // and phase (an error that already names the call goes as it is).
    [[noreturn, gnu::noinline, gnu::cold]] void failed() const {
        const std::string name = who();
        try {
            throw;
        } catch (const std::system_error& e) {
            if (e.code().category() == http::error_category() && std::string_view(e.what()).starts_with(name)) throw;
        } catch (...) {
        }
        rethrow_in(cl, name, at, connect_until, read_timed);
    }

    // run() sends the request and reads the response's head: the stream
    // that reads its body.
    std::unique_ptr<response_stream::state> run() {
        const options& opts = cl.opts;
        const tls::context* ctx = nullptr;
        if (to.scheme == "https") ctx = opts.tls ? &*opts.tls : &default_tls(cl.name);
        const std::unique_ptr<detail::proxy> px = proxy();
        const bool absolute = px && to.scheme == "http";
        const bool decode = opts.decompress && !req.headers.contains("Accept-Encoding");
        headers own;
        const headers* fields = nullptr;

        const detail::limits lim{opts.max_header_bytes, opts.max_body_bytes};
        const bool head = req.method == "HEAD";
        const bool upgrade = req.headers.contains("Upgrade");  // else a 101 is an error, not a response
        try {
            fields = added(own, decode, px.get(), absolute);  // (a bad field in the options throws here)
            for (;;) {                                        // again only when a pooled connection had gone stale
                at = phase::waiting;
                detail::pool::place* place = nullptr;
                std::optional<detail::connection> c = cs.pool.acquire(pool_key(ctx, px.get()), place, cl.name);
                // keep_alive = false: the slot stays ours, for a new connection
                // that closes after this exchange.
                if (c && !opts.keep_alive) c.reset();
                const bool reused = c.has_value();
                // From here the slot is ours: every way out gives it back.
                auto st = std::make_unique<response_stream::state>();
                st->owner = owner;
                st->place = place;
                if (!reused) {
                    try {
                        c.emplace(open(ctx, px.get()));
                    } catch (...) {
                        st->give_back();
                        throw;
                    }
                }
                st->conn = std::move(c);
                std::error_code ec;
                bool written = false;
                try {
                    at = phase::sending;
                    st->conn->write_request(req, to, *fields, absolute, fields != &own);
                    written = true;
                    at = phase::headers;
                    ec = timed(opts.read_timeout, read_timed,
                               [&] { return st->conn->read_response_head(st->head, lim, head, upgrade); });
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
                st->target = target;
                if (auto len = st->head.headers.get("Content-Length"); len && !head) {
                    std::uint64_t v = 0;
                    if (std::from_chars(len->data(), len->data() + len->size(), v).ec == std::errc{}) st->length = v;
                }
                st->read_timeout = opts.read_timeout;
                st->limit = opts.max_body_bytes;
                if (decode && !st->conn->body_done()) start_decoder(*st);
                if (st->conn->body_done() && !st->decoder) {
                    st->finished = true;
                    st->give_back();
                }
                return st;
            }
        } catch (const std::system_error&) {
            failed();
        } catch (const cancelled&) {
            failed();
        }
    }

    // start_decoder() gives the stream a decoder for its Content-Encoding.
    [[gnu::noinline]] void start_decoder(response_stream::state& st) const {
        auto ce = st.head.headers.get("Content-Encoding");
        if (!ce) return;
        try {
            st.decoder = detail::decoder::make(*ce);
        } catch (const std::system_error& e) {
            st.conn.reset();
            st.give_back();
            throw std::system_error(e.code(), who() + ": " + without_message(e));
        }
        if (st.decoder) st.raw.resize(64 * 1024);
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
    std::string_view first_target;  // first's URL (get() makes a request without one)

    std::unique_ptr<response_stream::state> run() {
        url to = first_url();
        const request* req = &first;
        std::string_view target = first_target;
        std::unique_ptr<request> redirected;  // the request a redirect made
        for (int redirects = 0;; ++redirects) {
            auto st = with_retries(*req, target, to);
            if (owner->jar) owner->jar->store(to, st->head.headers);
            if (!cl.opts.follow_redirects || !is_redirect(st->head.status) ||
                !redirect(st, *req, target, to, redirected, redirects)) {
                if (req != &first) st->keep_names();  // `redirected` goes with this frame
                return st;
            }
            req = redirected.get();
            target = req->target;
        }
    }

    // first_url() is the first request's URL, once the request is checked.
    [[gnu::noinline]] url first_url() const {
        try {
            url to = url::parse(first_target);
            require_supported(to);
            detail::check_request(first);
            if (first.body_source &&
                (first.headers.contains("Content-Length") || first.headers.contains("Transfer-Encoding")))
                throw std::system_error(errc::bad_header,
                                        "a request with a body_source sets body_length, "
                                        "not Content-Length or Transfer-Encoding");
            return to;
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), std::string(cl.name) + ": " + without_message(e));
        }
    }

    // redirect() follows the redirect that `st` (the answer to `req` at
    // `target`, `to`) is: it reads its body away, gives st back, and sets
    // `next` to the request to make and `to` to its URL. False when st is
    // the answer: it has no Location, or it asks to send a streamed body again.
    [[gnu::noinline]] bool redirect(std::unique_ptr<response_stream::state>& st, const request& req,
                                    std::string_view target, url& to, std::unique_ptr<request>& next,
                                    int redirects) const {
        auto location = st->head.headers.get("Location");
        if (!location) return false;
        // A streamed body cannot be sent again: the redirect is the answer.
        if (req.body_source && (st->head.status == 307 || st->head.status == 308)) return false;
        if (redirects >= cl.opts.max_redirects)
            throw std::system_error(errc::too_many_redirects, cl.who(first.method, first_target) + ": more than " +
                                                                  std::to_string(cl.opts.max_redirects) +
                                                                  " redirects, the last to " +
                                                                  call::url_text(*location));
        url at;
        try {
            at = to.resolve(*location);
            require_supported(at);
        } catch (const std::system_error& e) {
            throw std::system_error(e.code().category() == http::error_category() && e.code() == errc::bad_url
                                        ? make_error_code(errc::bad_redirect)
                                        : e.code(),
                                    cl.who(req.method, target) + " redirects to " + without_message(e));
        }
        // A redirect within the origin keeps the URL's user and password
        // (a relative Location does by itself); to another origin, never.
        if (at.user.empty() && at.password.empty() && at.scheme == to.scheme && at.host == to.host &&
            at.port == to.port) {
            at.user = to.user;
            at.password = to.password;
        }
        // The redirect's own body is read away (up to 64 KiB) so that its
        // connection can serve the next request.
        const int status = st->head.status;
        drain(*st);
        st.reset();
        auto made = std::make_unique<request>(follow(req, status, to, at));  // req may be *next: made first
        next = std::move(made);
        to = std::move(at);
        return true;
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
    std::unique_ptr<response_stream::state> with_retries(const request& req, std::string_view target, const url& to) {
        const options& opts = cl.opts;
        const bool may_retry = opts.retries > 0 && is_idempotent(req.method) && !req.body_source;
        for (int attempt = 0;; ++attempt) {
            const bool last = !may_retry || attempt >= opts.retries;
            std::chrono::nanoseconds wait{};
            try {
                exchange ex{cl, *owner, owner, req, target, to};
                auto st = ex.run();
                const int status = st->head.status;
                const bool busy = status == 502 || status == 503 || status == 504;
                if (last || !busy) return st;
                auto asked = retry_after(st->head.headers);
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

// read_whole() reads a stream's body into the response; `take` moves the
// head's reason and headers there (the stream is not used again).
void read_whole(response_stream::state& st, response& out, bool take) {
    out.status = st.head.status;
    if (take) {
        out.reason = std::move(st.head.reason);
        out.headers = std::move(st.head.headers);
    } else {
        out.reason = st.head.reason;
        out.headers = st.head.headers;
    }
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
// `target` is req's URL: get() passes its argument, with a request that has none.
response send_on(const char* name, std::shared_ptr<client::state> owner, const request& req, std::string_view target,
                 const options& opts) {
    weft::detail::require_fiber(name);
    const call cl{name, opts, deadline_after(opts.timeout)};
    const call_label label{name, req.method, target};
    const weft::detail::activity doing(&call_label::describe, &label);
    return weft::detail::with_scope(cl.whole, name, [&] {
        auto st = session{cl, owner, req, target}.run();
        response res;
        try {
            read_whole(*st, res, true);
        } catch (const timeout_error&) {
            // The call's own timeout reads as the call's: name it.
            if (cl.whole != never && clock::now() >= cl.whole)
                throw timeout_error(cl.who(req.method, target), std::string("reading the response body; timeout ") +
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
    const request req;  // GET; its URL goes beside it, not copied into it
    return send_on("weft::http::get", s_, req, url, opts);
}
response client::send(const request& req) { return send(req, s_->opts.defaults); }
response client::send(const request& req, const options& opts) {
    return send_on("weft::http::send", s_, req, req.target, opts);
}

response_stream client::open(const request& req) { return open(req, s_->opts.defaults); }
response_stream client::open(const request& req, const options& opts) {
    const char* name = "weft::http::client::open";
    weft::detail::require_fiber(name);
    const call cl{name, opts, deadline_after(opts.timeout)};
    const call_label label{name, req.method, req.target};
    const weft::detail::activity doing(&call_label::describe, &label);
    const std::shared_ptr<state> owner = s_;  // held for the call, as send_on() does
    return response_stream(weft::detail::with_scope(cl.whole, name, [&] {
        auto st = session{cl, owner, req, req.target}.run();
        st->keep_names();  // the stream may outlive the request
        return st;
    }));
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

int response_stream::status() const noexcept { return s_->head.status; }
const std::string& response_stream::reason() const noexcept { return s_->head.reason; }
const http::headers& response_stream::headers() const noexcept { return s_->head.headers; }
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
    read_whole(*s_, r, false);
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
