// SPDX-License-Identifier: MIT
// Uses weft through its public headers only: fibers that sleep side by side,
// a task printed before and after it runs, a cancelled task, a timeout, an
// HTTP request to a weft server, and the same over HTTPS (OpenSSL comes along).
// check.sh compares the output; the exit status is 0 only if every value held.
#include <chrono>
#include <iostream>
#include <vector>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

int main() {
    return weft::run([] {
        int failures = 0;
        auto expect = [&](bool ok, const char* what) {
            if (!ok) {
                std::cout << "FAILED: " << what << '\n';
                ++failures;
            }
        };

        // Five fibers sleep at once (tasks #2..#6; #1 is run()'s main).
        auto start = weft::clock::now();
        std::vector<weft::task<int>> squares;
        for (int i = 1; i <= 5; ++i)
            squares.push_back(weft::spawn([](int x) {
                weft::this_fiber::sleep_for(50ms);
                return x * x;
            }, i));
        int sum = 0;
        for (auto& t : squares) sum += t.join();
        auto took = weft::clock::now() - start;
        std::cout << "sum=" << sum << '\n';
        expect(sum == 55, "sum of squares");
        expect(took < 5 * 50ms, "the sleeps overlapped");

        auto t = weft::spawn([](int x) { return x * 2; }, 21);
        std::cout << t << '\n';  // <task #7 pending>
        int v = t.join();
        std::cout << t << '\n';  // <task #7 finished result=42>
        expect(v == 42, "join() returned 42");

        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] {
            weft::this_fiber::sleep_for(1h);
        });
        weft::this_fiber::yield();  // let it start and park
        sleeper.cancel();
        bool cancelled = false;
        try {
            sleeper.join();
        } catch (const weft::cancelled&) {
            cancelled = true;
        }
        std::cout << sleeper << '\n';  // <task #8 'sleeper' cancelled>
        expect(cancelled && sleeper.state() == weft::task_state::cancelled, "cancel()");

        bool timed_out = false;
        try {
            weft::with_timeout(20ms, [] { weft::this_fiber::sleep_for(1h); });
        } catch (const weft::timeout_error&) {
            timed_out = true;
        }
        std::cout << "timed_out=" << std::boolalpha << timed_out << '\n';
        expect(timed_out, "with_timeout()");

        // HTTP over loopback: Beast lives inside the library, nothing to link here.
        auto server = weft::http::server::bind(weft::net::address::loopback(), [](const weft::http::request& req) {
            return weft::http::response(200, "hello " + std::string(req.path()));
        });
        auto serving = weft::spawn([&] { server.serve(); });
        weft::http::response r = weft::http::get(server.url() + "consumer");
        std::cout << r.status << ' ' << r.body << '\n';
        expect(r.status == 200 && r.body == "hello /consumer", "http::get");
        server.stop();
        serving.join();

        // HTTPS with a certificate made here, verified by the client.
        auto cert = weft::tls::context::self_signed({"127.0.0.1"});
        auto secure = weft::http::server::bind(
            weft::net::address::loopback(), [](const weft::http::request&) { return weft::http::response(200, "tls"); },
            {.tls = cert});
        auto secure_serving = weft::spawn([&] { secure.serve(); });
        weft::http::options opts;
        opts.tls = weft::tls::context::client({.ca_pem = cert.certificate_pem()});
        r = weft::http::get(secure.url(), opts);
        std::cout << r.status << ' ' << r.body << '\n';
        expect(r.status == 200 && r.body == "tls", "https get");
        secure.stop();
        secure_serving.join();

        return failures == 0 ? 0 : 1;
    });
}
