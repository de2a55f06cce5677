// SPDX-License-Identifier: MIT
#include "weft/http/server.hpp"

#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "detail/sys_error.hpp"
#include "http/wire.hpp"
#include "weft/condition_variable.hpp"
#include "weft/errors.hpp"
#include "weft/http/errors.hpp"
#include "weft/mutex.hpp"
#include "weft/net/tcp_listener.hpp"
#include "weft/task.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/stream.hpp"

namespace weft::http {

struct server::state {
    struct conn {
        bool idle = true;  // waiting for a request to start (stop() may end it)
        task<void> fiber;  // last, so that dropping it (which waits) sees `idle` alive
    };

    net::tcp_listener listener;
    handler handle;
    server_options opts;
    bool serving = false;
    bool stopping = false;
    std::size_t open = 0;
    std::uint64_t accepted = 0;
    std::uint64_t next_id = 0;
    std::unordered_map<std::uint64_t, conn> conns;
    std::vector<std::uint64_t> finished;  // ids whose fiber ended, to be reaped by serve()
    weft::mutex m;
    weft::condition_variable changed;  // a connection ended, or stop()

    // reap() drops the handles of connection fibers that have ended (never
    // from a connection fiber itself: dropping its own handle would wait for itself).
    void reap() {
        for (auto id : finished) conns.erase(id);
        finished.clear();
    }

    static void serve_connection(std::shared_ptr<state> s, std::uint64_t id, net::tcp_stream stream);
    void serve_requests(conn& self, detail::connection& c);
};

namespace {

constexpr auto error_reply_timeout = std::chrono::seconds(1);
constexpr std::size_t linger_bytes = 256 * 1024;

// linger_close() ends a connection the server gives up on after its answer:
// shutting the sending side first and reading what the client still sends
// (for a moment) lets the answer reach it instead of being lost to a reset.
void linger_close(detail::connection& c) {
    std::error_code ec;
    c.stream().shutdown(ec);
    if (ec) return;
    char sink[4096];
    std::size_t drained = 0;
    deadline until = deadline_after(error_reply_timeout);
    while (drained < linger_bytes) {
        auto left = until - clock::now();
        if (left <= left.zero()) break;
        std::size_t n = c.stream().read_some(sink, left, ec);
        if (ec || n == 0) break;
        drained += n;
    }
}

void reply_and_close(detail::connection& c, int status, std::string_view why) {
    try {
        response res(status, std::string(why) + "\n");
        res.headers.add("Content-Type", "text/plain");
        with_timeout(error_reply_timeout, [&] { c.write_response(res, false, false); });
        linger_close(c);
    } catch (const std::exception&) {  // weft::cancelled is none: it goes on up
        // the client went away first; nothing more to tell it
    }
}

response call_handler(const server::handler& handle, const request& req) {
    try {
        return handle(req);
    } catch (const cancelled&) {
        throw;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft::http::server: the handler failed on %s %s: %s\n", req.method.c_str(),
                     req.target.c_str(), e.what());
    } catch (...) {
        std::fprintf(stderr, "weft::http::server: the handler failed on %s %s (not a std::exception)\n",
                     req.method.c_str(), req.target.c_str());
    }
    response res(500, "Internal Server Error\n");
    res.headers.add("Content-Type", "text/plain");
    return res;
}

// body_reader() is a streamed request's body_source: each read within
// body_timeout, max_body_bytes in all.
body_source body_reader(detail::connection& c, const server_options& opts) {
    return [&c, timeout = opts.body_timeout, limit = opts.max_body_bytes,
            total = std::uint64_t(0)](std::span<char> buf) mutable -> std::size_t {
        std::size_t n = 0;
        std::error_code ec = with_timeout(timeout, [&] { return c.read_body_some(buf, n); });
        if (!ec && (total += n) > limit) ec = errc::body_too_large;
        if (ec) throw std::system_error(ec, "weft::http::server: reading the request body");
        return n;
    };
}

}  // namespace

void server::state::serve_requests(conn& self, detail::connection& c) {
    const detail::limits lim{opts.max_header_bytes, opts.max_body_bytes};
    // A new connection gets header_timeout for its first request, waiting
    // included: one that sends nothing must not hold a max_connections slot
    // for idle_timeout. Between requests it is idle_timeout, then
    // header_timeout from the request's first byte.
    const deadline first_header = deadline_after(opts.header_timeout);
    for (bool first = true; !stopping; first = false) {
        self.idle = true;
        if (!c.wait_request(first ? first_header - clock::now() : std::chrono::nanoseconds(opts.idle_timeout))) return;
        self.idle = false;
        const std::chrono::nanoseconds header_time = first ? first_header - clock::now() : opts.header_timeout;
        request req;
        bool keep_alive = false;
        detail::refusal no;
        try {
            if (opts.stream_request_bodies) {
                no = c.read_request_head(req, lim, header_time, keep_alive);
                if (!no) req.body_source = body_reader(c, opts);
            } else {
                no = c.read_request(req, lim, header_time, opts.body_timeout, keep_alive);
            }
        } catch (const timeout_error&) {
            reply_and_close(c, 408, "request not received in time");
            return;
        }
        if (no.error == errc::closed_before_response) return;  // empty lines, then the end
        if (no) {
            reply_and_close(c, no.status, no.reason);
            return;
        }
        response res = call_handler(handle, req);
        req.body_source = nullptr;
        // An upload the handler did not read to its end: its rest is not read for it.
        keep_alive = keep_alive && !stopping && c.body_done();
        keep_alive =
            with_timeout(opts.body_timeout, [&] { return c.write_response(res, keep_alive, req.method == "HEAD"); });
        if (!keep_alive) return;
    }
}

void server::state::serve_connection(std::shared_ptr<state> s, std::uint64_t id, net::tcp_stream stream) {
    conn& self = s->conns.at(id);
    try {
        stream.set_nodelay(true);
        if (s->opts.tls) {
            tls::stream secure = tls::stream::accept(std::move(stream), *s->opts.tls, s->opts.handshake_timeout);
            detail::connection c{detail::transport(std::move(secure))};
            s->serve_requests(self, c);
            // RFC 8446 6.1: close_notify before the FIN, so that a client
            // reading to the end can tell it from a cut (bounded: a second).
            std::error_code ec;
            c.stream().shutdown(ec);
        } else {
            detail::connection c{detail::transport(std::move(stream))};
            s->serve_requests(self, c);
        }
    } catch (const std::exception&) {
        // reset, timed out: the connection just ends
    } catch (const cancelled&) {
        // cancelled by stop() or by run() ending: so does it
    }
    --s->open;
    s->finished.push_back(id);
    s->changed.notify_all();
}

server::server(std::shared_ptr<state> s) noexcept : s_(std::move(s)) {}
server::server(server&&) noexcept = default;
server& server::operator=(server&& o) noexcept {
    if (this != &o) {
        stop();
        s_ = std::move(o.s_);
    }
    return *this;
}
server::~server() { stop(); }

server server::bind(const net::address& at, handler h, server_options opts) {
    if (opts.tls && !opts.tls->is_server())
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "weft::http::server::bind: server_options::tls needs a tls::context::server");
    auto s = std::make_shared<state>();
    s->listener = net::tcp_listener::bind(at, opts.backlog, {.reuse_port = opts.reuse_port});
    s->handle = std::move(h);
    s->opts = opts;
    return server(std::move(s));
}

void server::serve() {
    std::shared_ptr<state> s = s_;  // the connections' fibers share it; so does this call
    if (!s) throw std::logic_error("weft::http::server::serve on a moved-from server");
    if (s->serving) throw std::logic_error("weft::http::server::serve called twice");
    s->serving = true;
    try {
        while (!s->stopping) {
            s->reap();
            {
                std::unique_lock lock(s->m);
                s->changed.wait(lock, [&] { return s->open < s->opts.max_connections || s->stopping; });
            }
            if (s->stopping) break;
            std::error_code ec;
            net::tcp_stream stream = s->listener.accept(ec);
            if (ec) {
                if (s->stopping) break;
                std::error_code ignored;
                weft::detail::throw_error(
                    ec, "weft::http::server::serve: accept on " + s->listener.local_address(ignored).to_string());
            }
            ++s->open;
            ++s->accepted;
            std::uint64_t id = s->next_id++;
            s->conns[id].fiber =
                spawn(spawn_options{.name = "http connection"}, &state::serve_connection, s, id, std::move(stream));
        }
        // Requests in progress get stop_grace to finish; then they are cancelled.
        std::unique_lock lock(s->m);
        if (!s->changed.wait_until(lock, deadline_after(s->opts.stop_grace), [&] { return s->open == 0; })) {
            for (auto& [id, c] : s->conns)
                if (!c.fiber.done()) c.fiber.cancel();
            s->changed.wait(lock, [&] { return s->open == 0; });
        }
        s->reap();
    } catch (...) {
        // serve() itself was cancelled (or run() is ending): dropping each
        // connection's handle cancels its fiber and waits for it to unwind.
        stop();
        s->conns.clear();
        throw;
    }
}

void server::stop() noexcept {
    if (!s_ || s_->stopping) return;
    s_->stopping = true;
    s_->listener.close();
    for (auto& [id, c] : s_->conns) {
        if (c.idle && c.fiber.valid() && !c.fiber.done()) {
            try {
                c.fiber.cancel();
            } catch (...) {
            }
        }
    }
    s_->changed.notify_all();
}

net::address server::local_address() const { return s_->listener.local_address(); }

std::string server::url() const { return (s_->opts.tls ? "https://" : "http://") + local_address().to_string() + "/"; }

std::size_t server::connections() const noexcept { return s_ ? s_->open : 0; }
std::uint64_t server::served() const noexcept { return s_ ? s_->accepted : 0; }

}  // namespace weft::http
