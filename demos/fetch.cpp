// SPDX-License-Identifier: MIT
// fetch [-c CONCURRENCY] [-t SECONDS] [--cacert FILE | --insecure] URL...   (or -f FILE, - for stdin)
// Fetches every URL (http:// or https://), CONCURRENCY at a time (default
// 10), each within SECONDS (default 30); shows progress while it works, then
// a table. Exits 1 if any failed. https:// is verified against the system's
// trust store, or only FILE's certificates with --cacert; --insecure skips
// verification (any certificate, any name: for test servers only).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

struct outcome {
    std::string url;
    int status = 0;
    std::size_t bytes = 0;
    double seconds = 0;
    std::string error;  // empty: it worked
};

double since(weft::clock::time_point t) { return std::chrono::duration<double>(weft::clock::now() - t).count(); }

void read_urls(std::istream& in, std::vector<std::string>& urls) {
    for (std::string line; std::getline(in, line);) {
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (!line.empty() && line[0] != '#') urls.push_back(line);
    }
}

int main(int argc, char** argv) {
    int concurrency = 10;
    double timeout_s = 30;
    std::vector<std::string> urls;
    std::optional<weft::tls::client_options> tls;  // unset: the default, verifying context
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--insecure") {
            tls.emplace().verify = false;
        } else if ((arg == "-c" || arg == "-t" || arg == "-f" || arg == "--cacert") && i + 1 < argc) {
            std::string value = argv[++i];
            if (arg == "--cacert") tls.emplace().ca_file = value;
            if (arg == "-c") concurrency = std::max(1, std::atoi(value.c_str()));
            if (arg == "-t") timeout_s = std::atof(value.c_str());
            if (arg == "-f" && value == "-") read_urls(std::cin, urls);
            if (arg == "-f" && value != "-") {
                std::ifstream file(value);
                if (!file) {
                    std::cerr << "fetch: cannot read " << value << '\n';
                    return 2;
                }
                read_urls(file, urls);
            }
        } else if (arg == "-") {
            read_urls(std::cin, urls);
        } else if (arg.starts_with("-")) {
            std::cerr << "usage: fetch [-c CONCURRENCY] [-t SECONDS] [--cacert FILE | --insecure] URL... | -f FILE | -\n";
            return 2;
        } else {
            urls.push_back(arg);
        }
    }
    const bool live = ::isatty(STDERR_FILENO);
    std::vector<outcome> results(urls.size());
    int failed = 0;

    weft::run([&] {
        weft::http::options opts;
        opts.timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
        if (tls) opts.tls = weft::tls::context::client(*tls);
        weft::semaphore slots(concurrency);
        std::size_t done = 0, bytes = 0;
        const auto start = weft::clock::now();
        std::vector<weft::task<void>> fetches;
        for (std::size_t i = 0; i < urls.size(); ++i)
            fetches.push_back(weft::spawn([&, i] {
                outcome& o = results[i];
                o.url = urls[i];
                slots.acquire();  // at most `concurrency` fetches at a time
                const auto began = weft::clock::now();
                try {
                    weft::http::response r = weft::http::get(o.url, opts);
                    o.status = r.status;
                    o.bytes = r.body.size();
                } catch (const weft::timeout_error&) {
                    char why[64];
                    std::snprintf(why, sizeof why, "timed out after %g s", timeout_s);
                    o.error = why;
                    ++failed;
                } catch (const std::exception& e) {
                    o.error = e.what();
                    ++failed;
                }
                slots.release();
                o.seconds = since(began);
                bytes += o.bytes;
                ++done;
                if (!live)
                    std::printf("[%zu/%zu] %s %s\n", done, urls.size(), o.url.c_str(),
                                o.error.empty() ? std::to_string(o.status).c_str() : "failed");
            }));
        auto progress = weft::spawn([&] {  // a live line on a terminal, redrawn 10 times a second
            for (; live; weft::this_fiber::sleep_for(100ms))
                std::fprintf(stderr, "\r%zu/%zu done, %.1f MiB, %.1f MiB/s ", done, urls.size(), bytes / 1048576.0,
                             bytes / 1048576.0 / std::max(since(start), 1e-3));
        });
        for (auto& f : fetches) f.join();
        progress.cancel();
        if (live) std::fprintf(stderr, "\r%zu/%zu done in %.2f s%30s\n", done, urls.size(), since(start), "");
    });

    std::printf("%-6s %12s %9s  %s\n", "status", "bytes", "seconds", "url");
    for (const outcome& o : results) {
        if (o.error.empty())
            std::printf("%-6d %12zu %9.3f  %s\n", o.status, o.bytes, o.seconds, o.url.c_str());
        else
            std::printf("%-6s %12s %9.3f  %s\n       %s\n", "error", "-", o.seconds, o.url.c_str(), o.error.c_str());
    }
    return failed == 0 ? 0 : 1;
}
