// SPDX-License-Identifier: MIT
// dns, weft's side: N lookups of distinct names ("name0.bench" ...) at once,
// a fiber each, every one weft::dns::resolve(name, 80) asking for A records of
// the one server given. Measures wall time and this process's CPU time
// (getrusage: user + sys) from before weft::run to after it returns.
// A lookup that fails (its budget, TIMEOUT_S, passed: weft's default 5 s) is
// lost; bench/dns.sh's burst counts them (dnsmasq, 20,000 names, 10 s).
// usage: weft_dns SERVER [N [TIMEOUT_S]]   (SERVER: "127.0.0.1:53"; default 10,000 lookups)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>
#include <weft/dns/resolve.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "common.hpp"

namespace {

double cpu_ms(const rusage& r, bool user) {
    const timeval& t = user ? r.ru_utime : r.ru_stime;
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SERVER [N]\n", argv[0]);
        return 2;
    }
    const std::string server = argv[1];
    const long n = bench::arg_long(argc, argv, 2, 10'000);
    const long timeout_s = bench::arg_long(argc, argv, 3, 5);

    rusage r0{}, r1{};
    getrusage(RUSAGE_SELF, &r0);
    const double t0 = bench::now_ns();
    long failed = 0, wrong = 0;
    std::string first_error;
    double spawned = 0, last_done = 0, slowest = 0;  // ns after t0; the longest lookup
    weft::run([&] {
        weft::dns::options opts;
        opts.servers = {server};
        opts.family = weft::dns::family::v4;  // A only, as the peers ask
        opts.timeout = std::chrono::seconds(timeout_s);
        std::vector<weft::task<void>> lookups;
        lookups.reserve(static_cast<std::size_t>(n));
        for (long i = 0; i < n; ++i) {
            lookups.push_back(weft::spawn([&, i] {
                std::error_code ec;
                const double began = bench::now_ns();
                auto addrs = weft::dns::resolve("name" + std::to_string(i) + ".bench", 80, opts, ec);
                const double ended = bench::now_ns();
                slowest = std::max(slowest, ended - began);
                last_done = ended - t0;
                if (ec) {
                    if (failed++ == 0) first_error = ec.message();
                } else if (addrs.size() != 1 || addrs[0].ip_string() != "192.0.2.1" || addrs[0].port() != 80) {
                    ++wrong;
                }
            }));
        }
        spawned = bench::now_ns() - t0;
        for (auto& t : lookups) t.join();
    });
    const double wall = (bench::now_ns() - t0) / 1e6;
    getrusage(RUSAGE_SELF, &r1);
    const double user = cpu_ms(r1, true) - cpu_ms(r0, true);
    const double sys = cpu_ms(r1, false) - cpu_ms(r0, false);

    if (failed) std::printf("NOTE weft_dns: %ld of %ld lookups failed (first: %s)\n", failed, n, first_error.c_str());
    if (wrong) std::printf("NOTE weft_dns: %ld of %ld lookups gave another address\n", wrong, n);
    std::printf(
        "INFO weft_dns: spawned at %.1f ms, last answer at %.1f ms, slowest lookup %.1f ms; "
        "context switches %ld voluntary, %ld involuntary\n",
        spawned / 1e6, last_done / 1e6, slowest / 1e6, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw);
    std::printf("RESULT weft_dns_wall_ms=%.2f\n", wall);
    std::printf("RESULT weft_dns_cpu_ms=%.2f\n", user + sys);
    std::printf("RESULT weft_dns_user_ms=%.2f\n", user);
    std::printf("RESULT weft_dns_sys_ms=%.2f\n", sys);
    std::printf("RESULT weft_dns_failed=%ld\n", failed + wrong);
    return failed + wrong ? 1 : 0;
}
