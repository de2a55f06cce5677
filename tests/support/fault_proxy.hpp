// SPDX-License-Identifier: MIT
// fault_proxy: a TCP proxy on 127.0.0.1:0, itself weft fibers, that forwards
// each connection to `upstream` and breaks it on cue. Faults hit the bytes
// flowing back to the client after `cut` of them (so a header or a body is
// hit, depending on cut); duplicate doubles what the client sends instead.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

namespace weft::test {

class fault_proxy {
public:
    enum class fault { none, reset, stall, trickle, truncate, duplicate };
    static constexpr int fault_kinds = 6;
    struct plan {
        fault what = fault::none;
        std::size_t cut = 0;  // bytes passed on to the client before the fault
    };
    // choose(n) is the plan for connection n (0, 1, ...).
    using chooser = std::function<plan(int n)>;

    fault_proxy(net::address upstream, chooser choose)
        : upstream_(upstream),
          choose_(std::move(choose)),
          listener_(net::tcp_listener::bind(net::address::loopback())),
          acceptor_(spawn([this] { accept_loop(); })) {}

    ~fault_proxy() {
        listener_.close();
        acceptor_.cancel();
    }

    std::string url(std::string_view path = "/") const {
        return "http://" + listener_.local_address().to_string() + std::string(path);
    }
    int connections() const { return connections_; }
    // open() is how many proxied connections are still being served.
    int open() const { return open_; }
    int count(fault f) const { return counts_[static_cast<int>(f)]; }

private:
    void accept_loop() {
        std::vector<task<void>> conns;  // dropped (cancelled, waited for) with this fiber
        for (;;) {
            std::error_code ec;
            net::tcp_stream client = listener_.accept(ec);
            if (ec) return;
            std::erase_if(conns, [](const task<void>& t) { return t.done(); });
            int n = connections_++;
            conns.push_back(
                spawn([this, n](net::tcp_stream c) { serve(choose_(n), std::move(c)); }, std::move(client)));
        }
    }

    void serve(plan p, net::tcp_stream client) {
        ++counts_[static_cast<int>(p.what)];
        ++open_;
        struct closing {
            int& open;
            ~closing() { --open; }
        } guard{open_};
        std::error_code ec;
        net::tcp_stream up = net::tcp_stream::connect(upstream_, std::chrono::seconds(5), ec);
        if (ec) return;
        // Client to server, in a fiber of its own (doubled for `duplicate`).
        auto upward = spawn([&] {
            std::error_code e;
            char buf[8192];
            while (std::size_t n = client.read_some(buf, e)) {
                up.write_all(std::string_view(buf, n), e);
                if (!e && p.what == fault::duplicate) up.write_all(std::string_view(buf, n), e);
                if (e) break;
            }
            up.shutdown(e);
        });
        // Server to client, here, with the fault.
        std::size_t passed = 0;
        char buf[8192];
        bool faulted = false;
        while (std::size_t n = up.read_some(buf, ec)) {
            std::string_view chunk(buf, n);
            if (p.what != fault::none && p.what != fault::duplicate && passed + n > p.cut) {
                std::string_view before = chunk.substr(0, p.cut - passed);
                if (p.what == fault::trickle) {
                    trickle(client, chunk, ec);
                    passed += n;
                    if (ec) break;
                    continue;
                }
                client.write_all(before, ec);
                faulted = true;
                break;
            }
            client.write_all(chunk, ec);
            passed += n;
            if (ec) break;
        }
        if (faulted && p.what == fault::reset) {
            linger l{1, 0};
            ::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
            client.close();  // RST; wakes `upward`, parked on the client
        } else if (faulted && p.what == fault::stall) {
            // Hold the connection, silent, until the client gives up (upward sees its EOF).
        } else {
            client.shutdown(ec);  // truncate, or the server closed: the client reads EOF
        }
        upward.join();
    }

    // trickle() passes bytes on one at a time, pausing now and then.
    static void trickle(net::tcp_stream& to, std::string_view bytes, std::error_code& ec) {
        for (std::size_t i = 0; i < bytes.size() && !ec; ++i) {
            to.write_all(bytes.substr(i, 1), ec);
            if (i % 64 == 63) this_fiber::sleep_for(std::chrono::milliseconds(1));
        }
    }

    net::address upstream_;
    chooser choose_;
    int connections_ = 0;
    int open_ = 0;
    std::array<int, fault_kinds> counts_{};
    net::tcp_listener listener_;
    task<void> acceptor_;  // last: starts after the members it uses
};

}  // namespace weft::test
