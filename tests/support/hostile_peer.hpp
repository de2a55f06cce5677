// SPDX-License-Identifier: MIT
// hostile_peer: a real socket peer on loopback that never stops talking. It
// sends a head once, then repeats a unit without end — up to a byte cap, or
// until the other side closes, resets, or stops reading for `stall` — while
// it reads whatever comes back. The recipes below make an endless line, an
// endless chunk extension, endless trailers, endless interim responses and a
// flood; pour() aims one at a server (as a client), hostile_server at a
// client (as a server). Its fibers run in the test's weft::run().
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>
#include <weft/weft.hpp>

namespace weft::test {

// endless is what a hostile peer sends: `head` once, then `unit` again and
// again, `cap` bytes in all at most.
struct endless {
    std::string head;
    std::string unit;
    std::uint64_t cap = std::uint64_t{256} << 20;
};

// endless_line(head): a line that never ends (a start line, a header value).
inline endless endless_line(std::string head) { return {std::move(head), std::string(4096, 'a')}; }
// endless_fields(head): header fields, one after another, without the empty line.
inline endless endless_fields(std::string head) { return {std::move(head), "X-Flood: 0123456789abcdef\r\n"}; }
// endless_chunk_extension(head): head (whose header says chunked), then a
// chunk-size line whose extensions never end — valid ones, ";e=x" each.
inline endless endless_chunk_extension(std::string head) { return {std::move(head) + "1", ";e=x"}; }
// endless_trailers(head): head (whose header says chunked), the last chunk,
// then trailer fields without the empty line that would end them.
inline endless endless_trailers(std::string head) { return {std::move(head) + "0\r\n", "X-Trailer: 0123456789\r\n"}; }
// endless_interim(): a server that answers "100 Continue" forever.
inline endless endless_interim() { return {"", "HTTP/1.1 100 Continue\r\n\r\n"}; }
// flood(head): head (whose header says chunked), then 4 KiB chunks of body forever.
inline endless flood(std::string head) { return {std::move(head), "1000\r\n" + std::string(4096, 'f') + "\r\n"}; }

// poured is how pouring ended.
struct poured {
    std::uint64_t sent = 0;  // bytes written
    std::string reply;       // what came back (the first 64 KiB)
    bool capped = false;     // all `cap` bytes went: the other side read them all
};

// rss_bytes() is this process's resident set now (from /proc/self/statm).
inline std::uint64_t rss_bytes() {
    unsigned long size = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// pour(s, e) sends e on s while reading what comes back, and returns when
// the cap is reached, a write fails (the other side closed or reset), or a
// write makes no progress for `stall`; then it shuts down its sending side
// and reads what is left for at most `stall`. It never throws for the
// other side's doing.
inline poured pour(net::tcp_stream& s, const endless& e, std::chrono::milliseconds stall = std::chrono::seconds(2)) {
    poured out;
    auto reader = spawn([&] {
        char buf[4096];
        std::error_code ec;
        for (;;) {
            std::size_t n = s.read_some(buf, stall + std::chrono::seconds(1), ec);
            if (ec || n == 0) return;
            if (out.reply.size() < 64 * 1024)
                out.reply.append(buf, std::min<std::size_t>(n, 64 * 1024 - out.reply.size()));
        }
    });
    std::string block;  // the unit repeated into about 64 KiB, written at once
    if (!e.unit.empty())
        while (block.size() < 64 * 1024) block += e.unit;
    std::error_code ec;
    auto send = [&](std::string_view bytes) {
        bytes = bytes.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), e.cap - out.sent)));
        out.sent += s.write_all(bytes, stall, ec);
    };
    send(e.head);
    while (!ec && !block.empty() && out.sent < e.cap) send(block);
    out.capped = !ec && out.sent == e.cap;
    s.shutdown(ec);
    reader.join();
    return out;
}

// hostile_server listens on 127.0.0.1:0; on each connection it reads the
// request head (unless told not to), then pours `e` and closes.
class hostile_server {
public:
    explicit hostile_server(endless e, bool read_request = true)
        : what_(std::move(e)),
          read_request_(read_request),
          listener_(net::tcp_listener::bind(net::address::loopback())),
          acceptor_(spawn([this] { accept_loop(); })) {}
    ~hostile_server() {
        listener_.close();
        acceptor_.cancel();
    }

    std::string url(std::string_view path = "/") const {
        return "http://" + listener_.local_address().to_string() + std::string(path);
    }
    // results() is how pouring ended, one per connection that has ended.
    const std::vector<poured>& results() const { return results_; }

private:
    void accept_loop() {
        std::vector<task<void>> conns;  // dropped (cancelled) with this fiber
        for (;;) {
            std::error_code ec;
            net::tcp_stream s = listener_.accept(ec);
            if (ec) return;
            conns.push_back(spawn([this](net::tcp_stream s) { serve(std::move(s)); }, std::move(s)));
        }
    }

    void serve(net::tcp_stream s) {
        if (read_request_) {
            std::string head;
            std::error_code ec;
            s.read_until(head, "\r\n\r\n", 1 << 20, std::chrono::seconds(5), ec);
            if (ec) return;
        }
        results_.push_back(pour(s, what_));
    }

    endless what_;
    bool read_request_;
    std::vector<poured> results_;
    net::tcp_listener listener_;
    task<void> acceptor_;  // last: starts after the members it uses
};

}  // namespace weft::test
