// SPDX-License-Identifier: MIT
// fetch [options] URL...   (or -f FILE, - for stdin)
// Fetches every URL (http:// or https://), CONCURRENCY at a time, streaming
// each body to a file in DIR (-o) or counting it away; shows a progress bar
// per download on a terminal, then a summary table. Exits 1 if any failed.
//
//   -c N          at most N fetches at once (default 10)
//   --per-host N  at most N connections to one host (default 6, as browsers)
//   -t SECONDS    each fetch's time to its response headers, and the longest
//                 silence while its body streams (default 30)
//   --retries N   try a failed GET again up to N times (connection errors,
//                 502/503/504; Retry-After honoured; default 2)
//   -o DIR        save each body in DIR, named after its URL's last segment
//   --cacert FILE trust only FILE's certificates for https://
//   --insecure    accept any certificate and name (for test servers only)
//   --no-proxy    ignore http_proxy / https_proxy / no_proxy (used by default)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

struct download {
    std::string url;
    std::string file;  // where the body goes (-o), or empty
    int status = 0;
    std::uint64_t bytes = 0;
    std::optional<std::uint64_t> total;  // Content-Length, when the server said
    bool active = false;
    double started = 0, seconds = 0;
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

// file_name() is where -o saves a URL's body: its path's last segment (or
// index.html), with characters that do not belong in a file name replaced,
// and a number added when two URLs would share it.
std::string file_name(const std::string& url, std::set<std::string>& taken) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    std::size_t scheme = path.find("://");
    path = scheme == std::string::npos ? path : path.substr(scheme + 3);
    std::size_t slash = path.find('/');
    std::string last = slash == std::string::npos ? "" : path.substr(path.rfind('/') + 1);
    if (last.empty() || last == "." || last == "..") last = "index.html";
    for (char& c : last)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
    std::string name = last;
    for (int n = 1; !taken.insert(name).second; ++n) name = last + "." + std::to_string(n);
    return name;
}

std::string human(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char out[32];
    std::snprintf(out, sizeof out, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return out;
}

// bar() is one download's progress line: a bar when the total is known.
std::string bar(const download& d, double now) {
    const double rate = d.bytes / std::max(now - d.started, 1e-3);
    std::string line;
    if (d.total && *d.total > 0) {
        const double part = std::min(1.0, static_cast<double>(d.bytes) / static_cast<double>(*d.total));
        const int width = 24, full = static_cast<int>(part * width);
        line = "[" + std::string(static_cast<std::size_t>(full), '#') + std::string(width - full, '.') + "] ";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%3.0f%% ", part * 100);
        line += pct + human(static_cast<double>(d.bytes)) + " / " + human(static_cast<double>(*d.total));
    } else {
        line = "[" + std::string(24, '?') + "] " + human(static_cast<double>(d.bytes));
    }
    line += "  " + human(rate) + "/s  " + d.url.substr(0, 60);
    return line;
}

// draw_progress() shows, on a terminal, a bar per active download and a
// count, redrawn 10 times a second over the last frame.
void draw_progress(bool live, const std::vector<download>& downloads, const std::size_t& done,
                   weft::clock::time_point start) {
    std::size_t drawn = 0;
    for (; live; weft::this_fiber::sleep_for(100ms)) {
        std::string frame;
        for (std::size_t k = 0; k < drawn; ++k) frame += "\x1b[1A\x1b[2K";  // up a line, and clear it
        drawn = 0;
        const double now = since(start);
        for (const download& d : downloads)
            if (d.active) {
                frame += bar(d, now) + "\n";
                ++drawn;
            }
        char head[96];
        std::snprintf(head, sizeof head, "%zu/%zu done, %.1f s\n", done, downloads.size(), now);
        frame += head;
        ++drawn;
        std::fputs(frame.c_str(), stderr);
    }
}

// fetch_one() streams one URL's body to its file (or nowhere).
void fetch_one(weft::http::client& c, download& d, const weft::http::options& opts) {
    weft::http::request req;
    req.target = d.url;
    weft::http::response_stream body = c.open(req, opts);
    d.status = body.status();
    d.total = body.headers().get("Content-Encoding") ? std::nullopt : body.content_length();
    int fd = -1;
    if (!d.file.empty()) {
        fd = ::open(d.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot write " + d.file);
    }
    std::vector<char> buf(64 * 1024);
    try {
        for (std::size_t n; (n = body.read_some(buf)) > 0;) {
            d.bytes += n;
            for (std::size_t at = 0; fd >= 0 && at < n;) {
                ssize_t w = ::write(fd, buf.data() + at, n - at);  // a local file: it does not stall the loop for long
                if (w < 0 && errno != EINTR)
                    throw std::system_error(errno, std::generic_category(), "writing " + d.file);
                if (w > 0) at += static_cast<std::size_t>(w);
            }
        }
    } catch (...) {
        if (fd >= 0) ::close(fd);
        throw;
    }
    if (fd >= 0) ::close(fd);
}

int main(int argc, char** argv) {
    int concurrency = 10, per_host = 6, retries = 2;
    double timeout_s = 30;
    std::string out_dir;
    bool env_proxy = true;
    std::vector<std::string> urls;
    std::optional<weft::tls::client_options> tls;  // unset: the default, verifying context
    auto usage = [] {
        std::cerr << "usage: fetch [-c N] [--per-host N] [-t SECONDS] [--retries N] [-o DIR] "
                     "[--cacert FILE | --insecure] [--no-proxy] URL... | -f FILE | -\n";
        return 2;
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--insecure") {
            tls.emplace().verify = false;
        } else if (arg == "--no-proxy") {
            env_proxy = false;
        } else if ((arg == "-c" || arg == "-t" || arg == "-f" || arg == "-o" || arg == "--cacert" ||
                    arg == "--per-host" || arg == "--retries") &&
                   i + 1 < argc) {
            std::string value = argv[++i];
            if (arg == "--cacert") tls.emplace().ca_file = value;
            if (arg == "-c") concurrency = std::max(1, std::atoi(value.c_str()));
            if (arg == "--per-host") per_host = std::max(1, std::atoi(value.c_str()));
            if (arg == "--retries") retries = std::max(0, std::atoi(value.c_str()));
            if (arg == "-t") timeout_s = std::atof(value.c_str());
            if (arg == "-o") out_dir = value;
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
            return usage();
        } else {
            urls.push_back(arg);
        }
    }
    if (urls.empty()) return usage();
    const bool live = ::isatty(STDERR_FILENO);
    std::vector<download> downloads(urls.size());
    std::set<std::string> taken;
    for (std::size_t i = 0; i < urls.size(); ++i) {
        downloads[i].url = urls[i];
        if (!out_dir.empty()) downloads[i].file = out_dir + "/" + file_name(urls[i], taken);
    }
    int failed = 0;
    double total_seconds = 0;

    weft::run([&] {
        weft::http::options opts;
        opts.timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));  // to the headers
        opts.read_timeout = opts.timeout;  // then the longest silence in a body
        opts.max_body_bytes = UINT64_MAX;  // streamed to disk, not held in memory
        opts.retries = retries;
        opts.proxy_from_environment = env_proxy;
        if (tls) opts.tls = weft::tls::context::client(*tls);
        weft::http::client c({.defaults = opts,
                              .max_connections = static_cast<std::size_t>(concurrency),
                              .max_connections_per_host = static_cast<std::size_t>(per_host)});
        std::size_t done = 0;
        const auto start = weft::clock::now();
        // At most `concurrency` fetches at a time: the group's spawn() waits
        // for a slot. A failed fetch is a line in the table, not the group's failure.
        weft::task_group group({.limit = static_cast<std::size_t>(concurrency)});
        auto progress = weft::spawn([&] { draw_progress(live, downloads, done, start); });
        for (download& d : downloads)
            group.spawn([&c, &d, &opts, &done, &failed, start, live, n = downloads.size()] {
                d.active = true;
                d.started = since(start);
                try {
                    fetch_one(c, d, opts);
                } catch (const weft::timeout_error& e) {
                    d.error = e.what();
                } catch (const std::exception& e) {
                    d.error = e.what();
                }
                d.active = false;
                failed += !d.error.empty();
                d.seconds = since(start) - d.started;
                ++done;
                if (!live)
                    std::printf("[%zu/%zu] %s %s\n", done, n, d.url.c_str(),
                                d.error.empty() ? std::to_string(d.status).c_str() : "failed");
            });
        group.wait();
        progress.cancel();
        total_seconds = since(start);
    });

    std::uint64_t bytes = 0;
    std::printf("%-6s %12s %9s %10s  %s\n", "status", "bytes", "seconds", "MiB/s", "url");
    for (const download& d : downloads) {
        bytes += d.bytes;
        if (d.error.empty())
            std::printf("%-6d %12llu %9.3f %10.1f  %s%s%s\n", d.status, static_cast<unsigned long long>(d.bytes),
                        d.seconds, d.bytes / 1048576.0 / std::max(d.seconds, 1e-3), d.url.c_str(),
                        d.file.empty() ? "" : " -> ", d.file.c_str());
        else
            std::printf("%-6s %12s %9.3f %10s  %s\n       %s\n", "error", "-", d.seconds, "-", d.url.c_str(),
                        d.error.c_str());
    }
    std::printf("%zu fetched, %d failed, %s in %.2f s (%.1f MiB/s)\n", downloads.size() - failed, failed,
                human(static_cast<double>(bytes)).c_str(), total_seconds,
                bytes / 1048576.0 / std::max(total_seconds, 1e-3));
    return failed == 0 ? 0 : 1;
}
