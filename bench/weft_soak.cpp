// SPDX-License-Identifier: MIT
// soak: for a bounded time, C client fibers churn HTTP connections against a
// weft::http::server in the same process and weft::run, while a sampler reads
// this process's RSS and open descriptors every second. At the end: requests,
// failures by kind, and the least-squares slope of RSS and of the fd count
// over the samples after a warm-up, each judged "flat" or "GROWS".
//
// Each client fiber loops until the end: a connection carries 1 to 8 GETs
// (keep-alive, through the client's pool), then it ends, alternately closed by
// the client (keep_alive = false) and by the server ("Connection: close").
// GET /?n=N&ms=M: the server answers N bytes (0..4096, a pattern the client
// checks) after sleeping M ms (10% of requests, 1..20 ms). 1% of requests are
// aborts on purpose: a 50 ms handler under a 5 ms client timeout, which must
// end in weft::timeout_error (the server then writes to a closed socket).
//
// Flat means: slope x measured window <= 2% of the window's mean (RSS, fds);
// besides, the fd count after weft::run returns must equal the one before.
// usage: weft_soak [SECONDS [CONNECTIONS]]  (or SOAK_SECONDS, SOAK_CONNS;
// defaults 60, at least 10, and 5,000). The warm-up is 20% of the run, at least
// 10 s but at most half. Exit status 0 only when nothing failed and both are flat.
#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>
#include <weft/weft.hpp>

#include "common.hpp"

namespace {

using namespace std::chrono_literals;

long env_or_arg(int argc, char** argv, int i, const char* env, long def) {
    if (argc > i) return std::atol(argv[i]);
    if (const char* v = std::getenv(env); v && *v) return std::atol(v);
    return def;
}

long open_fds() {
    DIR* d = opendir("/proc/self/fd");
    if (!d) return -1;
    long n = 0;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n - 1;  // the directory's own descriptor
}

char pattern(std::size_t i, std::size_t n) { return static_cast<char>('a' + (i * 7 + n) % 26); }

std::size_t param(const weft::http::request& req, std::string_view name) {
    std::size_t v = 0;
    if (auto s = req.query_param(name)) std::from_chars(s->data(), s->data() + s->size(), v);
    return v;
}

struct sample {
    double t;    // s since the start
    double rss;  // KiB
    double fds;
};

struct fit {
    double slope = 0, mean = 0, window = 0;
    int n = 0;
    bool flat() const { return n >= 3 && slope * window <= 0.02 * mean; }
};

// least_squares() fits y over the samples with from <= t < to.
fit least_squares(const std::vector<sample>& s, double from, double to, double sample::*y) {
    fit f;
    auto in = [&](const sample& x) { return x.t >= from && x.t < to; };
    double n = 0, st = 0, sy = 0;
    for (auto& x : s)
        if (in(x)) ++n, st += x.t, sy += x.*y;
    if (n < 2) return f;
    const double mt = st / n, my = sy / n;
    double num = 0, den = 0, t0 = 1e300, t1 = -1e300;
    for (auto& x : s)
        if (in(x)) {
            num += (x.t - mt) * (x.*y - my);
            den += (x.t - mt) * (x.t - mt);
            t0 = std::min(t0, x.t);
            t1 = std::max(t1, x.t);
        }
    f.n = static_cast<int>(n);
    f.slope = den > 0 ? num / den : 0;
    f.mean = my;
    f.window = t1 - t0;
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const long seconds = std::max(10L, env_or_arg(argc, argv, 1, "SOAK_SECONDS", 60));
    long conns = std::max(1L, env_or_arg(argc, argv, 2, "SOAK_CONNS", 5000));
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    getrlimit(RLIMIT_NOFILE, &lim);
    // Two descriptors a connection (client and server ends), and room for churn.
    const long fits = (static_cast<long>(lim.rlim_cur) - 200) / 2;
    if (lim.rlim_cur != RLIM_INFINITY && conns > fits) {
        std::printf("NOTE soak: ulimit -n is %lu: %ld connections instead of %ld\n",
                    static_cast<unsigned long>(lim.rlim_cur), fits, conns);
        conns = fits;
    }
    const double warmup =
        std::min(std::max(10.0, 0.2 * static_cast<double>(seconds)), 0.5 * static_cast<double>(seconds));

    long ok = 0, aborted = 0, bytes = 0;
    std::map<std::string, long> failures;
    long failed = 0;
    std::vector<sample> samples;
    std::uint64_t accepted = 0;
    const long fds_before = open_fds();
    const long rss_before = bench::rss_bytes() / 1024;
    const double t0 = bench::now_ns();
    std::printf("soak: %ld s, %ld client fibers, one weft::run, ulimit -n %lu; warm-up %.0f s\n", seconds, conns,
                static_cast<unsigned long>(lim.rlim_cur), warmup);
    std::printf("%6s %10s %8s %8s %10s %10s %8s %8s\n", "t s", "RSS MiB", "fds", "open", "req/s", "conn/s", "failed",
                "late ms");
    std::fflush(stdout);

    weft::run([&] {
        weft::http::server_options sopts;
        sopts.backlog = 4096;
        auto srv = weft::http::server::bind(
            weft::net::address::loopback(0),
            [](const weft::http::request& req) {
                if (std::size_t ms = param(req, "ms")) weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));
                const std::size_t n = std::min<std::size_t>(param(req, "n"), 64 * 1024);
                std::string body(n, '\0');
                for (std::size_t i = 0; i < n; ++i) body[i] = pattern(i, n);
                return weft::http::response(200, std::move(body));
            },
            sopts);
        auto serving = weft::spawn({.name = "server"}, [&] { srv.serve(); });
        const std::string base = srv.url();
        const auto start = weft::clock::now();
        const auto end = start + std::chrono::seconds(seconds);

        auto client = [&](long index) {
            std::minstd_rand rng(static_cast<unsigned>(index) + 1);
            auto pick = [&](unsigned lo, unsigned hi) { return lo + static_cast<unsigned>(rng() % (hi - lo + 1)); };
            bool client_closes = index % 2 == 0;
            while (weft::clock::now() < end) {
                const unsigned on_this_connection = pick(1, 8);
                for (unsigned k = 1; k <= on_this_connection && weft::clock::now() < end; ++k) {
                    const bool last = k == on_this_connection;
                    const bool abort = pick(0, 99) == 0;
                    const std::size_t n = pick(0, 4096);
                    const unsigned ms = abort ? 50 : pick(0, 9) == 0 ? pick(1, 20) : 0;
                    weft::http::request req;
                    req.target = base + "?n=" + std::to_string(n) + "&ms=" + std::to_string(ms);
                    weft::http::options opts;
                    opts.timeout = abort ? 5ms : 30s;
                    if (last && client_closes) opts.keep_alive = false;
                    if (last && !client_closes) req.headers.add("Connection", "close");
                    try {
                        weft::http::response r = weft::http::send(req, opts);
                        bool good = r.status == 200 && r.body.size() == n && !abort;
                        for (std::size_t i = 0; good && i < n; ++i) good = r.body[i] == pattern(i, n);
                        if (good) {
                            ++ok;
                            bytes += static_cast<long>(n);
                        } else {
                            ++failed;
                            ++failures[abort ? "an abort on purpose got an answer"
                                             : "bad answer (status " + std::to_string(r.status) + ")"];
                        }
                    } catch (const weft::timeout_error&) {
                        if (abort) {
                            ++aborted;
                        } else {
                            ++failed;
                            ++failures["timeout (30 s)"];
                        }
                        break;  // the connection is gone
                    } catch (const std::system_error& e) {
                        ++failed;
                        ++failures[std::string(e.code().category().name()) + ": " + e.code().message()];
                        break;
                    } catch (const std::exception& e) {
                        ++failed;
                        ++failures[e.what()];
                        break;
                    }
                }
                client_closes = !client_closes;
            }
        };

        auto sampler = weft::spawn({.name = "sampler"}, [&] {
            long last_ok = 0;
            std::uint64_t last_acc = 0;
            double last_t = 0;
            for (long k = 1; k <= seconds; ++k) {
                const auto due = start + std::chrono::seconds(k);
                weft::this_fiber::sleep_until(due);
                const auto now = weft::clock::now();
                const double t = std::chrono::duration<double>(now - start).count();
                const double late = std::chrono::duration<double, std::milli>(now - due).count();
                const long rss = bench::rss_bytes() / 1024;
                const long fds = open_fds();
                samples.push_back({t, static_cast<double>(rss), static_cast<double>(fds)});
                const double dt = t - last_t;
                std::printf("%6.1f %10.1f %8ld %8zu %10.0f %10.0f %8ld %8.0f\n", t, static_cast<double>(rss) / 1024,
                            fds, srv.connections(), static_cast<double>(ok + aborted - last_ok) / dt,
                            static_cast<double>(srv.served() - last_acc) / dt, failed, late);
                std::fflush(stdout);
                last_ok = ok + aborted;
                last_acc = srv.served();
                last_t = t;
                // Woken more than a second late (the box is busy): no catching up with back-to-back samples.
                while (k < seconds && start + std::chrono::seconds(k + 1) <= weft::clock::now()) ++k;
            }
        });

        std::vector<weft::task<void>> clients;
        clients.reserve(static_cast<std::size_t>(conns));
        for (long i = 0; i < conns; ++i) clients.push_back(weft::spawn({.name = "client"}, client, i));
        for (auto& c : clients) c.join();
        sampler.join();
        accepted = srv.served();
        srv.stop();
        serving.join();
    });
    const double wall = (bench::now_ns() - t0) / 1e9;
    const long fds_after = open_fds();
    const long rss_after = bench::rss_bytes() / 1024;
    malloc_trim(0);  // what the allocator keeps for reuse, given back: what is left is still allocated
    const long rss_trimmed = bench::rss_bytes() / 1024;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);

    // The last second is left out: the clients stop at the end and their connections close.
    const double until = static_cast<double>(seconds) - 1;
    const fit rss = least_squares(samples, warmup, until, &sample::rss);
    const fit fds = least_squares(samples, warmup, until, &sample::fds);
    const long requests = ok + aborted + failed;
    std::printf(
        "\nrequests: %ld in %.1f s, %.0f/s (%ld answered and checked, %.1f MiB of bodies; %ld aborted on "
        "purpose; %ld failed)\n",
        requests, wall, static_cast<double>(requests) / wall, ok, static_cast<double>(bytes) / 1048576.0, aborted,
        failed);
    std::printf("connections accepted by the server: %lu (%.0f/s), %.1f requests each\n",
                static_cast<unsigned long>(accepted), static_cast<double>(accepted) / wall,
                accepted ? static_cast<double>(requests) / static_cast<double>(accepted) : 0.0);
    for (auto& [what, count] : failures) std::printf("  failed: %ld x %s\n", count, what.c_str());
    std::printf(
        "samples from the %.0f s warm-up to %.0f s (a %.0f s window), least squares; "
        "flat: slope x window <= 2%% of the mean\n",
        warmup, until, rss.window);
    std::printf("  RSS: %+.1f KiB/s (%+.2f bytes per request), mean %.1f MiB, %+.2f MiB over the window: %s\n",
                rss.slope, requests ? rss.slope * 1024 * wall / static_cast<double>(requests) : 0.0, rss.mean / 1024,
                rss.slope * rss.window / 1024, rss.flat() ? "flat" : "GROWS");
    std::printf("  fds: %+.2f /s, mean %.0f, %+.1f over the window: %s\n", fds.slope, fds.mean, fds.slope * fds.window,
                fds.flat() ? "flat" : "GROWS");
    std::printf(
        "  before weft::run: %ld fds, RSS %.1f MiB; after it returned: %ld fds (%s), RSS %.1f MiB, "
        "%.1f MiB after malloc_trim(0)\n",
        fds_before, static_cast<double>(rss_before) / 1024, fds_after,
        fds_after == fds_before ? "all closed" : "LEAKED", static_cast<double>(rss_after) / 1024,
        static_cast<double>(rss_trimmed) / 1024);
    std::printf("  CPU: %.1f s user, %.1f s sys in %.1f s; %ld involuntary context switches (other load on the box)\n",
                static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
                static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6, wall,
                ru.ru_nivcsw);
    const bool pass = failed == 0 && rss.flat() && fds.flat() && fds_after == fds_before;
    std::printf("verdict: %s\n", pass ? "PASS (no failures, RSS and fds flat, every fd closed)" : "FAIL");
    std::printf(
        "RESULT requests=%ld\nRESULT req_per_s=%.0f\nRESULT failed=%ld\nRESULT rss_kib_per_s=%.2f\n"
        "RESULT fds_per_s=%.3f\nRESULT rss_mean_mib=%.1f\n",
        requests, static_cast<double>(requests) / wall, failed, rss.slope, fds.slope, rss.mean / 1024);
    return pass ? 0 : 1;
}
