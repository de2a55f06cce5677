// SPDX-License-Identifier: MIT
// The HTTP client through a proxy that resets, stalls, trickles, truncates
// and duplicates: every fetch ends with its own body intact or a specific
// error, within its deadline, and nothing is left behind.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "support/fault_proxy.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
using weft::test::fault_proxy;
using fault = fault_proxy::fault;

namespace {

// body_for(path) is what the server answers for `path`: unique to it, so a
// reply that went to the wrong request cannot pass for the right one.
std::string body_for(std::string_view path) {
    std::string body = "body of " + std::string(path) + ":";
    std::size_t n = 200 + std::hash<std::string_view>{}(path) % 6000;
    while (body.size() < n) body += static_cast<char>('a' + body.size() % 26);
    return body;
}

// kind() names an error for the tally; "" for one the test does not expect.
std::string kind(const std::system_error& e) {
    const std::error_code ec = e.code();
    if (ec == weft::errc::timed_out) return "timed out";
    if (ec == std::errc::connection_reset) return "connection reset";
    if (ec == std::errc::broken_pipe) return "broken pipe";
    if (ec.category() == weft::http::error_category()) return ec.message();
    return "";
}

}  // namespace

TEST_CASE("2,000 fetches through a faulty proxy: intact bodies or specific errors, none late, nothing left",
          "[http][fault]") {
    weft::test::raise_fd_limit(4096);
    weft::test::run_bounded(120s, [] {
        auto server = weft::http::server::bind(weft::net::address::loopback(), [](const weft::http::request& req) {
            return weft::http::response(200, body_for(req.target));
        });
        auto serving = weft::spawn([&] { server.serve(); });
        fault_proxy proxy(server.local_address(), [](int n) {
            // Every kind in turn, each cut at a different point of the reply.
            return fault_proxy::plan{static_cast<fault>(n % fault_proxy::fault_kinds),
                                     static_cast<std::size_t>(n * 7919 % 700)};
        });

        constexpr int fibers = 100, each = 20;
        constexpr auto timeout = 500ms;
        std::map<std::string, int> outcomes;
        int intact = 0, wrong_body = 0;
        weft::clock::duration longest{};
        std::vector<std::string> unexpected;
        std::vector<weft::task<void>> clients;
        for (int f = 0; f < fibers; ++f)
            clients.push_back(weft::spawn([&, f] {
                weft::http::options o;
                o.timeout = timeout;
                o.keep_alive = f % 2 == 0;  // half through the pool, half on fresh connections
                for (int i = 0; i < each; ++i) {
                    const std::string path = "/f" + std::to_string(f) + "/r" + std::to_string(i);
                    const auto start = weft::clock::now();
                    try {
                        weft::http::response r = weft::http::get(proxy.url(path), o);
                        if (r.status == 200 && r.body == body_for(path)) {
                            ++intact;
                        } else {
                            ++wrong_body;
                        }
                    } catch (const std::system_error& e) {
                        std::string k = kind(e);
                        ++outcomes[k.empty() ? "unexpected" : k];
                        if (k.empty()) unexpected.push_back(e.what());
                    }
                    longest = std::max(longest, weft::clock::now() - start);
                }
            }));
        for (auto& c : clients) c.join();

        const auto longest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(longest).count();
        std::string tally = "longest fetch: " + std::to_string(longest_ms) + " ms; intact: " + std::to_string(intact);
        int errors = 0;
        for (const auto& [k, n] : outcomes) {
            tally += "; " + k + ": " + std::to_string(n);
            errors += n;
        }
        for (const auto& u : unexpected) tally += "\nunexpected: " + u;
        INFO(tally);
        CHECK(intact + wrong_body + errors == fibers * each);
        CHECK(wrong_body == 0);
        CHECK(unexpected.empty());
        // Past its deadline a fetch ends as soon as the loop gets to it; on a
        // loaded machine (or under ASan) that can be a while, but not forever.
        CHECK(longest < timeout + 3s);
        CHECK(intact > fibers * each / 4);
        CHECK(outcomes["timed out"] > 0);  // the stalls
        CHECK(outcomes["connection reset"] + outcomes["connection closed in the middle of the body"] > 0);
        for (int k = 0; k < fault_proxy::fault_kinds; ++k) CHECK(proxy.count(static_cast<fault>(k)) > 0);

        server.stop();
        serving.join();
        CHECK(server.connections() == 0);
    });
}
