// SPDX-License-Identifier: MIT
// dns_server: a real DNS server for the tests (and bench/dns), on 127.0.0.1 at
// a port the kernel picks or a given one, over UDP and TCP (same port),
// answering A and AAAA queries from a table. It runs on its own std::thread with plain poll() and blocking-free
// sockets, so it does not depend on weft; the destructor stops it and closes
// every fd it opened.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace weft::test {

class dns_server {
public:
    // behavior is how the server answers one name.
    enum class behavior {
        answer,    // NOERROR with the entry's addresses (none of the asked type: NODATA)
        nxdomain,  // NXDOMAIN (also what names missing from the table get)
        servfail,  // SERVFAIL
        refused,   // REFUSED
        truncate,  // over UDP: TC bit and no answers; over TCP: the full answer
        garbage,   // right id and question, then an answer section that does not parse
        wrong_id,  // a good answer with another query id (a resolver must drop it)
        silence,   // no reply at all
        noise,     // a burst of junk datagrams (random bytes, short, wrong ids), then the answer
        respond,   // exactly the replies the entry's `respond` makes from the query, in order
    };

    struct entry {
        std::vector<std::string> v4 = {};  // "192.0.2.1"
        std::vector<std::string> v6 = {};  // "2001:db8::1"
        behavior how = behavior::answer;
        std::chrono::milliseconds delay{0};  // before the reply (others are served meanwhile)
        // behavior::respond: called on the server's thread with the whole query
        // (and whether it came over TCP); returns the replies' bytes
        // (fuzz/dns_reply.cpp answers with fuzzed bytes this way).
        std::function<std::vector<std::vector<unsigned char>>(std::span<const unsigned char> query, bool tcp)> respond =
            {};
    };

    // Binds UDP and TCP on 127.0.0.1:port (0: a free port) and starts the
    // thread; throws std::system_error.
    explicit dns_server(std::uint16_t port = 0);
    ~dns_server();  // stops the thread, closes every socket
    dns_server(const dns_server&) = delete;
    dns_server& operator=(const dns_server&) = delete;

    // set() adds or replaces the entry for `name` (case-insensitive, no trailing dot).
    void set(const std::string& name, entry e);
    // set_suffix() answers every name under `suffix` ("bench" covers
    // "name1.bench") that has no entry of its own with `e`.
    void set_suffix(const std::string& suffix, entry e);

    // overload() makes the server one that a burst overruns, as a real one
    // whose receive buffer is full: UDP replies leave at `answers_per_second`
    // at most, at most `queue` wait at a time, and a UDP query that comes
    // while `queue` wait is dropped unanswered (counted by dropped()).
    // overload(0, 0) ends it.
    void overload(std::size_t queue, unsigned answers_per_second);
    // dropped() counts the queries overload() dropped.
    std::size_t dropped() const noexcept { return dropped_.load(); }

    std::uint16_t port() const noexcept { return port_; }
    // address() is "127.0.0.1:<port>", for weft::dns::options::servers.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    // queries() counts every query received (UDP and TCP); tcp_queries() the TCP ones.
    std::size_t queries() const noexcept { return queries_.load(); }
    std::size_t tcp_queries() const noexcept { return tcp_queries_.load(); }

private:
    struct pending;
    void serve();
    void handle(const unsigned char* q, std::size_t len, bool tcp, int reply_fd, const void* peer, unsigned peer_len,
                std::vector<pending>& out);

    int udp_ = -1;
    int tcp_ = -1;
    int wake_[2] = {-1, -1};  // a pipe: the destructor writes, poll() wakes
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> queries_{0};
    std::atomic<std::size_t> tcp_queries_{0};
    std::atomic<std::size_t> dropped_{0};
    std::mutex m_;
    std::size_t queue_limit_ = 0;                         // overload(): 0 is none (guarded by m_)
    std::chrono::nanoseconds reply_gap_{0};               // overload(): least time between two UDP replies (m_)
    std::chrono::steady_clock::time_point next_reply_{};  // the server thread's: when the next may leave
    std::map<std::string, entry> table_;
    std::vector<std::pair<std::string, entry>> suffixes_;  // (".bench", entry)
    std::thread thread_;                                   // last: starts after everything it uses
};

}  // namespace weft::test
