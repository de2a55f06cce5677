// SPDX-License-Identifier: MIT
// http_peer: a real HTTP "server" on 127.0.0.1:0 that misbehaves on cue. For
// each connection it reads the request head, asks the script what to do, and
// sends exactly those bytes (at once or dripped), then closes, resets or
// hangs. Its fibers run in the test's weft::run(); destroying it ends them.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

namespace weft::test {

class http_peer {
public:
    // After its reply a connection closes, resets, hangs (reads until the
    // client closes), or closes without a word when the next request comes.
    enum class then { close, reset, hang, close_on_next };
    struct reply {
        std::string bytes;
        then after = then::close;
        std::chrono::milliseconds drip{0};  // a byte every `drip` (0: all at once)
        bool read_request = true;           // false: answer before reading anything
    };
    // script(n, head) is the reply to connection n (0, 1, ...) whose request
    // head is `head`. It is asked once before reading with head "" (only its
    // read_request counts then), and again once the head has come.
    using script = std::function<reply(int n, const std::string& head)>;

    explicit http_peer(script s)
        : script_(std::move(s)),
          listener_(net::tcp_listener::bind(net::address::loopback())),
          acceptor_(spawn([this] { accept_loop(); })) {}

    // A peer that sends `bytes` to every connection, then does `after`.
    explicit http_peer(std::string bytes, then after = then::close)
        : http_peer([bytes = std::move(bytes), after](int, const std::string&) {
              return reply{bytes, after};
          }) {}

    ~http_peer() {
        listener_.close();
        acceptor_.cancel();
    }

    std::string url(std::string_view path = "/") const {
        return "http://" + listener_.local_address().to_string() + std::string(path);
    }
    int connections() const { return connections_; }
    const std::vector<std::string>& heads() const { return heads_; }

private:
    void accept_loop() {
        std::vector<task<void>> conns;  // dropped (cancelled) with this fiber
        for (;;) {
            std::error_code ec;
            net::tcp_stream s = listener_.accept(ec);
            if (ec) return;
            conns.push_back(
                spawn([this, n = connections_++](net::tcp_stream s) { serve(n, std::move(s)); }, std::move(s)));
        }
    }

    void serve(int n, net::tcp_stream s) {
        std::string head;
        std::error_code ec;
        reply r = script_(n, "");
        if (r.read_request) {
            s.read_until(head, "\r\n\r\n", 1 << 20, ec);
            if (ec) return;
            heads_.push_back(head);
            r = script_(n, head);
        }
        if (r.drip.count() == 0) {
            s.write_all(r.bytes, ec);
        } else {
            for (char c : r.bytes) {
                if (s.write_all(std::string_view(&c, 1), ec); ec) return;
                this_fiber::sleep_for(r.drip);
            }
        }
        if (r.after == then::reset) {
            linger l{1, 0};
            ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        } else if (r.after == then::hang) {
            char buf[4096];
            while (s.read_some(buf, ec) > 0 && !ec) {
            }
        } else if (r.after == then::close_on_next) {
            char buf[4096];
            s.read_some(buf, ec);
        }
    }

    script script_;
    int connections_ = 0;
    std::vector<std::string> heads_;
    net::tcp_listener listener_;
    task<void> acceptor_;  // last: starts after the members it uses
};

}  // namespace weft::test
