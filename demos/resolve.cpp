// SPDX-License-Identifier: MIT
// resolve NAME...: looks every name up at once, one fiber each, and prints
// each with its addresses and how long it took. The lookups share one thread
// and one c-ares channel: ten names take about as long as the slowest one.
// WEFT_DNS_SERVERS=127.0.0.1:5353 points it at another server than resolv.conf's.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <weft/weft.hpp>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s [-4|-6] NAME...\n", argv[0]);
        return 2;
    }
    return weft::run([&] {
        weft::dns::options opts;
        std::vector<std::string> names;
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "-4")
                opts.family = weft::dns::family::v4;
            else if (arg == "-6")
                opts.family = weft::dns::family::v6;
            else
                names.push_back(arg);
        }
        auto start = std::chrono::steady_clock::now();
        std::vector<weft::task<int>> lookups;
        for (const auto& name : names) {
            lookups.push_back(weft::spawn([&opts, &name, start] {
                std::error_code ec;
                auto addrs = weft::dns::resolve(name, 0, opts, ec);
                auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
                std::string line = name + " (" + std::to_string(static_cast<int>(ms)) + " ms):";
                if (ec) line += " error: " + ec.message();
                for (const auto& a : addrs) line += " " + a.ip_string();
                std::printf("%s\n", line.c_str());
                return ec ? 1 : 0;
            }));
        }
        int failed = 0;
        for (auto& t : lookups) failed += t.join();
        auto total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        std::printf("%zu names in %.1f ms, %d failed\n", names.size(), total, failed);
        return failed ? 1 : 0;
    });
}
