// SPDX-License-Identifier: MIT
// tls_peer: http_peer's TLS twin. A real HTTPS "server" on 127.0.0.1:0 that
// runs a real TLS handshake (tls::stream::accept), reads each request head,
// asks the script what to send, and sends exactly those bytes (plaintext
// inside TLS), then ends the connection as scripted: with close_notify, with
// a bare TCP FIN (no close_notify: what an attacker who cuts the connection
// does), with a reset, or not at all. Its fibers run in the test's
// weft::run(); destroying it ends them.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

namespace weft::test {

class tls_peer {
public:
    // How a connection ends after its reply:
    //  close_notify  TLS close_notify, then the TCP FIN;
    //  fin           the TCP FIN alone, no close_notify;
    //  reset         a TCP reset (SO_LINGER 0), no close_notify;
    //  hang          nothing: the connection stays open until the client closes it.
    enum class then { close_notify, fin, reset, hang };
    struct reply {
        std::string bytes;
        then after = then::close_notify;
        // wait_for_next: after the reply, wait for the next request on the
        // same connection (its first byte) and only then do `after`, without
        // answering it (the race a client loses when a server's idle timer
        // fires as its request leaves).
        bool wait_for_next = false;
        // more: bytes sent right after `bytes`, in a TLS record of their own
        // and without a pause between (so they arrive together).
        std::string more{};
    };
    // script(n, head) is the reply to connection n (0, 1, ...) whose request
    // head (up to and including the blank line) is `head`.
    using script = std::function<reply(int n, const std::string& head)>;

    tls_peer(tls::context ctx, script s)
        : ctx_(std::move(ctx)),
          script_(std::move(s)),
          listener_(net::tcp_listener::bind(net::address::loopback())),
          acceptor_(spawn([this] { accept_loop(); })) {}

    // A peer that sends `bytes` to every connection, then does `after`.
    tls_peer(tls::context ctx, std::string bytes, then after)
        : tls_peer(std::move(ctx), [bytes = std::move(bytes), after](int, const std::string&) {
              return reply{bytes, after};
          }) {}

    ~tls_peer() {
        listener_.close();
        acceptor_.cancel();
    }

    // url(path) is "https://127.0.0.1:PORT" + path (the test PKI's server
    // certificate names 127.0.0.1 and localhost).
    std::string url(std::string_view path = "/", std::string_view host = "127.0.0.1") const {
        return "https://" + std::string(host) + ":" + std::to_string(port()) + std::string(path);
    }
    std::uint16_t port() const { return listener_.local_address().port(); }
    int connections() const { return connections_; }
    int handshakes_failed() const { return handshakes_failed_; }
    const std::vector<std::string>& heads() const { return heads_; }

private:
    void accept_loop() {
        std::vector<task<void>> conns;  // dropped (cancelled, waited for) with this fiber
        for (;;) {
            std::error_code ec;
            net::tcp_stream s = listener_.accept(ec);
            if (ec) return;
            std::erase_if(conns, [](const task<void>& t) { return t.done(); });
            conns.push_back(
                spawn([this, n = connections_++](net::tcp_stream s) { serve(n, std::move(s)); }, std::move(s)));
        }
    }

    void serve(int n, net::tcp_stream tcp) {
        std::error_code ec;
        tls::stream s = tls::stream::accept(std::move(tcp), ctx_, std::chrono::seconds(5), ec);
        if (ec) {
            ++handshakes_failed_;
            return;
        }
        std::string head;
        s.read_until(head, "\r\n\r\n", 1 << 20, std::chrono::seconds(5), ec);
        if (ec) return;
        heads_.push_back(head);
        reply r = script_(n, head);
        s.write_all(r.bytes, std::chrono::seconds(10), ec);
        if (ec) return;
        if (!r.more.empty()) {
            s.write_all(r.more, std::chrono::seconds(10), ec);
            if (ec) return;
        }
        if (r.wait_for_next) {
            char byte;
            s.read_some(std::span<char>(&byte, 1), std::chrono::seconds(10), ec);
            if (ec) return;
        }
        switch (r.after) {
            case then::close_notify:
                s.shutdown(std::chrono::seconds(1), ec);
                if (ec) return;
                s.next_layer().shutdown(ec);
                drain(s);
                break;
            case then::fin:
                // The TCP FIN with no close_notify before it; then wait for
                // the client to close, so that nothing it still sends meets a
                // closed socket (a reset instead of the FIN).
                s.next_layer().shutdown(ec);
                drain(s);
                break;
            case then::reset: {
                linger l{1, 0};
                ::setsockopt(s.next_layer().native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
                s.close();
                break;
            }
            case then::hang: drain(s); break;
        }
    }

    // drain(s) reads (and drops) the raw bytes the client still sends until
    // it closes, for at most 10 s. The TLS layer is done with by then.
    static void drain(tls::stream& s) {
        char buf[4096];
        std::error_code ec;
        const auto until = clock::now() + std::chrono::seconds(10);
        while (clock::now() < until) {
            std::size_t n = s.next_layer().read_some(buf, until - clock::now(), ec);
            if (ec || n == 0) return;
        }
    }

    tls::context ctx_;
    script script_;
    int connections_ = 0;
    int handshakes_failed_ = 0;
    std::vector<std::string> heads_;
    net::tcp_listener listener_;
    task<void> acceptor_;  // last: starts after the members it uses
};

}  // namespace weft::test
