// SPDX-License-Identifier: MIT
// weft's side of bench/tls.sh: a TLS server and the two clients (handshakes,
// bulk), written as a weft user would, with weft::tls's defaults. The same
// command line and wire protocol as peers/tls_go.go, so either client runs
// against either server.
//
// usage: weft_tls server PORT MAX_SECONDS CERT KEY
//        weft_tls handshake PORT CA full|resumed SECONDS CONNS SERVER_PID [WARMUP_SECONDS]
//        weft_tls bulk PORT CA BYTES SERVER_PID
//
// server listens on 127.0.0.1:PORT (0: the kernel picks; it prints "PORT n"),
// serves every connection in a fiber of its own and exits by itself after
// MAX_SECONDS. A connection's first plaintext byte says what it wants: 'h'
// (handshake) gets one byte back, then the server reads until the client
// closes; 'b' (bulk) has the server read and count everything until the
// client's close_notify and answer the count as "N\n".
//
// handshake runs CONNS fibers, each connecting, handshaking, sending 'h',
// reading the answer (which also takes in the session tickets), sending
// close_notify and closing, over and over. After WARMUP_SECONDS (default 0.5)
// it counts the handshakes finished in the next SECONDS, and its own CPU time
// (getrusage) and the server's (/proc/SERVER_PID/stat) over the same span.
// full: a client context with resume_sessions = false; resumed: the default,
// so every connection after the first tickets came resumes from the run's cache.
//
// bulk sends BYTES (64 KiB writes) through one connection, then close_notify,
// and waits for the server's count. The clock and the CPU counters run from
// after the handshake to the count.
//
// Sockets get TCP_NODELAY before the handshake on both sides, as Go's net
// package sets it on every TCP connection (and weft::http does).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common.hpp"
#include "weft/errors.hpp"
#include "weft/net/address.hpp"
#include "weft/net/tcp_listener.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/run.hpp"
#include "weft/task.hpp"
#include "weft/this_fiber.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/context.hpp"
#include "weft/tls/stream.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t chunk = 64 * 1024;

// self_cpu() is this process's user + sys time in seconds.
double self_cpu() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(r.ru_utime) + s(r.ru_stime);
}

// proc_cpu(pid) is process pid's user + sys time in seconds (fields 14 and
// 15 of /proc/pid/stat, in USER_HZ ticks), -1 when unreadable.
double proc_cpu(long pid) {
    if (pid <= 0) return -1;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto paren = s.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream in(s.substr(paren + 1));
    std::string field;
    double utime = -1, stime = -1;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
    }
    if (utime < 0 || stime < 0) return -1;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// dial() is the client's connection: TCP with TCP_NODELAY, then the handshake.
weft::tls::stream dial(std::uint16_t port, const weft::tls::context& ctx) {
    auto tcp = weft::net::tcp_stream::connect(weft::net::address::loopback(port), 10s);
    tcp.set_nodelay(true);
    return weft::tls::stream::connect(std::move(tcp), "127.0.0.1", ctx, 10s);
}

// --- server ---

void serve(weft::net::tcp_stream tcp, weft::tls::context ctx) {
    try {
        tcp.set_nodelay(true);
        weft::with_timeout(60s, [&] {
            auto s = weft::tls::stream::accept(std::move(tcp), ctx, 10s);
            char what = 0;
            s.read_exact({&what, 1});
            if (what == 'h') {
                s.write_all(std::string_view(&what, 1));
                char buf[256];
                while (s.read_some(buf) > 0) {
                }
            } else if (what == 'b') {
                auto buf = std::make_unique_for_overwrite<char[]>(chunk);
                unsigned long long n = 0;
                for (std::size_t k; (k = s.read_some({buf.get(), chunk})) > 0;) n += k;
                s.write_all(std::to_string(n) + "\n");
            }
            std::error_code ignored;
            s.shutdown(1s, ignored);
        });
    } catch (const weft::cancelled&) {
        throw;
    } catch (const std::system_error&) {
        // the client went away (closed without close_notify, reset): nothing to do
    }
}

int server(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: weft_tls server PORT MAX_SECONDS CERT KEY\n");
        return 2;
    }
    auto port = static_cast<std::uint16_t>(bench::arg_long(argc, argv, 2, 0));
    long max_seconds = bench::arg_long(argc, argv, 3, 60);
    weft::run([&] {
        weft::tls::server_options o;
        o.cert_file = argv[4];
        o.key_file = argv[5];
        auto ctx = weft::tls::context::server(o);
        auto listener = weft::net::tcp_listener::bind(weft::net::address::loopback(port), 4096);
        std::printf("PORT %u\n", static_cast<unsigned>(listener.local_address().port()));
        std::fflush(stdout);
        try {
            weft::with_timeout(std::chrono::seconds(max_seconds), [&] {
                for (;;) weft::spawn(serve, listener.accept(), ctx).detach();
            });
        } catch (const weft::timeout_error&) {
            // MAX_SECONDS passed: returning ends run(), which cancels the connections
        }
    });
    return 0;
}

// --- handshake client ---

struct snapshot {
    double at = 0, cpu = 0, srv = 0;
    long count = 0, resumed = 0;
};

int handshake(int argc, char** argv) {
    if (argc < 8) {
        std::fprintf(stderr,
                     "usage: weft_tls handshake PORT CA full|resumed SECONDS CONNS SERVER_PID [WARMUP_SECONDS]\n");
        return 2;
    }
    auto port = static_cast<std::uint16_t>(bench::arg_long(argc, argv, 2, 0));
    const std::string ca = argv[3], mode = argv[4];
    if (mode != "full" && mode != "resumed") {
        std::fprintf(stderr, "weft_tls: mode is full or resumed, not %s\n", mode.c_str());
        return 2;
    }
    const double seconds = std::atof(argv[5]);
    const long conns = bench::arg_long(argc, argv, 6, 8);
    const long pid = bench::arg_long(argc, argv, 7, 0);
    const double warmup = argc > 8 ? std::atof(argv[8]) : 0.5;

    long count = 0, resumed = 0, failed = 0;
    bool stop = false;
    std::string first_error, protocol, cipher;
    snapshot s0, s1;
    weft::run([&] {
        weft::tls::client_options o;
        o.ca_file = ca;
        o.resume_sessions = mode == "resumed";
        auto ctx = weft::tls::context::client(o);
        auto one = [&] {
            auto s = dial(port, ctx);
            char b = 'h';
            s.write_all(std::string_view(&b, 1), 10s);
            s.read_exact({&b, 1}, 10s);
            if (s.session_reused()) ++resumed;
            if (protocol.empty()) protocol = s.protocol(), cipher = s.cipher();
            ++count;
            s.shutdown(10s);
        };
        std::vector<weft::task<void>> workers;
        for (long i = 0; i < conns; ++i) {
            workers.push_back(weft::spawn([&] {
                while (!stop) {
                    try {
                        one();
                    } catch (const std::system_error& e) {
                        if (failed++ == 0) first_error = e.what();
                        if (failed > 100) return;
                    }
                }
            }));
        }
        auto snap = [&] { return snapshot{bench::now_ns() / 1e9, self_cpu(), proc_cpu(pid), count, resumed}; };
        weft::this_fiber::sleep_for(std::chrono::duration<double>(warmup));
        s0 = snap();
        weft::this_fiber::sleep_for(std::chrono::duration<double>(seconds));
        s1 = snap();
        stop = true;
        for (auto& w : workers) w.join();
    });

    const double n = static_cast<double>(s1.count - s0.count);
    if (failed)
        std::printf("NOTE weft_tls handshake %s: %ld connections failed (first: %s)\n", mode.c_str(), failed,
                    first_error.c_str());
    std::printf("INFO weft_tls handshake %s: %s %s, %.0f handshakes in %.2f s, %ld resumed\n", mode.c_str(),
                protocol.c_str(), cipher.c_str(), n, s1.at - s0.at, s1.resumed - s0.resumed);
    if (n == 0) return 1;
    std::printf("RESULT handshakes_per_s=%.1f\n", n / (s1.at - s0.at));
    std::printf("RESULT client_cpu_us=%.2f\n", (s1.cpu - s0.cpu) * 1e6 / n);
    if (s0.srv >= 0 && s1.srv >= 0) std::printf("RESULT server_cpu_us=%.2f\n", (s1.srv - s0.srv) * 1e6 / n);
    std::printf("RESULT resumed_share=%.4f\n", static_cast<double>(s1.resumed - s0.resumed) / n);
    std::printf("RESULT failed=%ld\n", failed);
    return 0;
}

// --- bulk client ---

int bulk(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: weft_tls bulk PORT CA BYTES SERVER_PID\n");
        return 2;
    }
    auto port = static_cast<std::uint16_t>(bench::arg_long(argc, argv, 2, 0));
    const std::string ca = argv[3];
    const unsigned long long total = std::strtoull(argv[4], nullptr, 10);
    const long pid = bench::arg_long(argc, argv, 5, 0);
    double t0 = 0, t1 = 0, cpu0 = 0, cpu1 = 0, srv0 = 0, srv1 = 0;
    std::string reply, protocol, cipher;
    weft::run([&] {
        weft::tls::client_options o;
        o.ca_file = ca;
        auto ctx = weft::tls::context::client(o);
        auto s = dial(port, ctx);
        protocol = s.protocol(), cipher = s.cipher();
        weft::with_timeout(120s, [&] {
            s.write_all("b");
            std::string buf(chunk, '\0');
            for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 7);
            t0 = bench::now_ns() / 1e9, cpu0 = self_cpu(), srv0 = proc_cpu(pid);
            for (unsigned long long sent = 0; sent < total;) {
                std::size_t k = total - sent < chunk ? static_cast<std::size_t>(total - sent) : chunk;
                s.write_all(std::string_view(buf.data(), k));
                sent += k;
            }
            s.shutdown();
            char in[64];
            for (std::size_t k; reply.find('\n') == std::string::npos && (k = s.read_some(in)) > 0;)
                reply.append(in, k);
            t1 = bench::now_ns() / 1e9, cpu1 = self_cpu(), srv1 = proc_cpu(pid);
        });
    });
    if (std::strtoull(reply.c_str(), nullptr, 10) != total) {
        std::printf("NOTE weft_tls bulk: the server counted %s bytes, not %llu\n", reply.c_str(), total);
        return 1;
    }
    const double secs = t1 - t0, mb = static_cast<double>(total) / 1e6;
    std::printf("INFO weft_tls bulk: %s %s, %llu bytes in %.3f s\n", protocol.c_str(), cipher.c_str(), total, secs);
    std::printf("RESULT mb_per_s=%.1f\n", mb / secs);
    std::printf("RESULT client_cpu_us=%.2f\n", (cpu1 - cpu0) * 1e6 / mb);
    if (srv0 >= 0 && srv1 >= 0) std::printf("RESULT server_cpu_us=%.2f\n", (srv1 - srv0) * 1e6 / mb);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "";
    try {
        if (what == "server") return server(argc, argv);
        if (what == "handshake") return handshake(argc, argv);
        if (what == "bulk") return bulk(argc, argv);
    } catch (const std::exception& e) {
        std::printf("NOTE weft_tls %s: %s\n", what.c_str(), e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: weft_tls server|handshake|bulk ...\n");
    return 2;
}
