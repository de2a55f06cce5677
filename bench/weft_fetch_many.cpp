// SPDX-License-Identifier: MIT
// fetch_many, weft's side: N concurrent GETs of one URL, a fiber each, every
// one a get(url) (default options but a 60 s bound) on one weft::http::client
// with no connection limits, checking the body is "Hello!". The client's
// default limits (64 connections per host) would queue 10,000 GETs on 64
// sockets, while every peer (the C floor, Go with MaxConnsPerHost 0, aiohttp
// with limit=0) opens a connection per GET: without limits weft does the
// same work as they do, as http::get did before clients had limits (issue
// 12). Measures wall time and this process's CPU time (getrusage: user +
// sys) from before weft::run to after it returns. Raises its descriptor
// limit to the hard limit first (a connection each). With CA_FILE (an
// https:// URL, bench/tls.sh) the options carry a client TLS context that
// trusts that PEM file's certificates only; weft::tls's defaults otherwise.
// usage: weft_fetch_many URL [N [CA_FILE]]   (default 1,000)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>

#include "common.hpp"

namespace {

double ms(const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; }

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s URL [N [CA_FILE]]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const long n = bench::arg_long(argc, argv, 2, 1000);
    const std::string ca_file = bench::arg_str(argc, argv, 3, "");
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }

    rusage r0{}, r1{};
    getrusage(RUSAGE_SELF, &r0);
    const double t0 = bench::now_ns();
    long failed = 0;
    std::string first_error;
    double spawned = 0;
    std::vector<double> took;  // each GET's ns, spawn to answer
    std::vector<double> done;  // when each GET ended, ns after t0
    took.reserve(static_cast<std::size_t>(n));
    done.reserve(static_cast<std::size_t>(n));
    weft::run([&] {
        weft::http::options opts;
        opts.timeout = std::chrono::seconds(60);
        if (!ca_file.empty()) {
            weft::tls::client_options trust;
            trust.ca_file = ca_file;
            opts.tls = weft::tls::context::client(trust);
        }
        weft::http::client client({.max_connections = 0, .max_connections_per_host = 0});
        std::vector<weft::task<void>> gets;
        gets.reserve(static_cast<std::size_t>(n));
        for (long i = 0; i < n; ++i) {
            gets.push_back(weft::spawn([&] {
                const double began = bench::now_ns();
                try {
                    weft::http::response r = client.get(url, opts);
                    if (r.status != 200 || r.body != "Hello!") {
                        if (failed++ == 0) first_error = "status " + std::to_string(r.status) + ", body " + r.body;
                    }
                } catch (const std::system_error& e) {
                    if (failed++ == 0) first_error = e.what();
                }
                const double ended = bench::now_ns();
                took.push_back(ended - began);
                done.push_back(ended - t0);
            }));
        }
        spawned = bench::now_ns() - t0;
        for (auto& t : gets) t.join();
    });
    const double wall = (bench::now_ns() - t0) / 1e6;
    getrusage(RUSAGE_SELF, &r1);
    const double user = ms(r1.ru_utime) - ms(r0.ru_utime);
    const double sys = ms(r1.ru_stime) - ms(r0.ru_stime);

    if (failed)
        std::printf("NOTE weft_fetch_many: %ld of %ld GETs failed (first: %s)\n", failed, n, first_error.c_str());
    std::sort(took.begin(), took.end());
    std::sort(done.begin(), done.end());
    auto at = [](const std::vector<double>& v, double q) {
        return v.empty() ? 0.0
                         : v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))] / 1e6;
    };
    std::printf(
        "INFO weft_fetch_many: spawned at %.1f ms; GETs took %.1f / %.1f / %.1f / %.1f ms (min, median, p99, "
        "max), ended %.1f .. %.1f ms after the start; context switches %ld voluntary, %ld involuntary; "
        "max RSS %ld kB\n",
        spawned / 1e6, at(took, 0), at(took, 0.5), at(took, 0.99), at(took, 1), at(done, 0), at(done, 1),
        r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw, r1.ru_maxrss);
    std::printf("RESULT wall_ms=%.2f\n", wall);
    std::printf("RESULT cpu_ms=%.2f\n", user + sys);
    std::printf("RESULT user_ms=%.2f\n", user);
    std::printf("RESULT sys_ms=%.2f\n", sys);
    std::printf("RESULT failed=%ld\n", failed);
    return failed ? 1 : 0;
}
