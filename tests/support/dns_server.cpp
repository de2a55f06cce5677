// SPDX-License-Identifier: MIT
#include "support/dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>

namespace weft::test {

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

std::uint16_t get16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void put16(std::vector<unsigned char>& out, unsigned v) {
    out.push_back(static_cast<unsigned char>(v >> 8));
    out.push_back(static_cast<unsigned char>(v));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

constexpr unsigned type_a = 1, type_aaaa = 28;
constexpr unsigned rcode_servfail = 2, rcode_nxdomain = 3, rcode_refused = 5;

}  // namespace

// pending is a reply due at `due`: to a UDP peer, or on a TCP connection.
struct dns_server::pending {
    std::chrono::steady_clock::time_point due;
    std::vector<unsigned char> bytes;
    int tcp_fd = -1;  // -1: UDP to `peer`
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
};

dns_server::dns_server(std::uint16_t port) {
    // UDP and TCP share the port: take a free UDP port, then try TCP on it.
    for (int attempt = 0;; ++attempt) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(port);
        udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (udp_ < 0) fail("dns_server: socket");
        int big = 4 << 20;  // a burst of a thousand queries must not overflow it
        ::setsockopt(udp_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        ::setsockopt(udp_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        if (::bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) fail("dns_server: bind udp");
        socklen_t len = sizeof sa;
        ::getsockname(udp_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (tcp_ < 0) fail("dns_server: socket");
        int one = 1;
        ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) break;
        int err = errno;
        ::close(tcp_);
        ::close(udp_);
        if (err != EADDRINUSE || port != 0 || attempt == 100) {
            errno = err;
            fail("dns_server: bind tcp");
        }
    }
    if (::listen(tcp_, 64) != 0) fail("dns_server: listen");
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) fail("dns_server: pipe");
    thread_ = std::thread([this] { serve(); });
}

dns_server::~dns_server() {
    char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    for (int fd : {udp_, tcp_, wake_[0], wake_[1]}) ::close(fd);
}

void dns_server::set(const std::string& name, entry e) {
    std::string key = lower(name);
    std::lock_guard lock(m_);
    table_[key] = std::move(e);
}

void dns_server::set_suffix(const std::string& suffix, entry e) {
    std::string key(1, '.');
    key += lower(suffix);
    std::lock_guard lock(m_);
    suffixes_.emplace_back(std::move(key), std::move(e));
}

void dns_server::overload(std::size_t queue, unsigned answers_per_second) {
    std::lock_guard lock(m_);
    queue_limit_ = queue;
    reply_gap_ =
        answers_per_second ? std::chrono::nanoseconds(1'000'000'000 / answers_per_second) : std::chrono::nanoseconds(0);
}

void dns_server::handle(const unsigned char* q, std::size_t len, bool tcp, int reply_fd, const void* peer,
                        unsigned peer_len, std::vector<pending>& out) {
    ++queries_;
    if (tcp) ++tcp_queries_;
    if (len < 12 || get16(q + 4) < 1) return;
    // The question: labels up to the root, then type and class.
    std::size_t p = 12;
    std::string name;
    while (p < len && q[p] != 0) {
        std::size_t n = q[p];
        if (n > 63 || p + 1 + n > len) return;
        if (!name.empty()) name += '.';
        for (std::size_t i = 0; i < n; ++i) name += static_cast<char>(std::tolower(q[p + 1 + i]));
        p += 1 + n;
    }
    if (p + 5 > len) return;
    const std::size_t question_end = p + 5;
    const unsigned qtype = get16(q + p + 1);

    entry e;
    e.how = behavior::nxdomain;
    std::chrono::nanoseconds gap{0};
    {
        std::lock_guard lock(m_);
        if (!tcp && queue_limit_ > 0) {
            std::size_t waiting = 0;
            for (const auto& item : out) waiting += item.tcp_fd < 0;
            if (waiting >= queue_limit_) {
                ++dropped_;
                return;
            }
        }
        if (!tcp) gap = reply_gap_;
        if (auto it = table_.find(name); it != table_.end()) {
            e = it->second;
        } else {
            for (const auto& [suffix, se] : suffixes_)
                if (name.size() > suffix.size() && name.ends_with(suffix)) {
                    e = se;
                    break;
                }
        }
    }
    if (e.how == behavior::silence) return;

    auto due = std::chrono::steady_clock::now() + e.delay;
    if (gap.count() > 0) {  // overload(): one reply per gap, in the order the queries came
        due = std::max(due, next_reply_);
        next_reply_ = due + gap;
    }
    auto push = [&](std::vector<unsigned char> bytes) {
        pending item;
        item.due = due;
        item.bytes = std::move(bytes);
        if (tcp) {
            item.tcp_fd = reply_fd;
        } else {
            std::memcpy(&item.peer, peer, peer_len);
            item.peer_len = peer_len;
        }
        out.push_back(std::move(item));
    };
    if (e.how == behavior::respond) {
        if (e.respond)
            for (auto& bytes : e.respond({q, len}, tcp)) push(std::move(bytes));
        return;
    }

    unsigned rcode = 0;
    if (e.how == behavior::nxdomain) rcode = rcode_nxdomain;
    if (e.how == behavior::servfail) rcode = rcode_servfail;
    if (e.how == behavior::refused) rcode = rcode_refused;
    const bool truncated = e.how == behavior::truncate && !tcp;

    std::vector<unsigned char> answers;
    unsigned ancount = 0;
    if (rcode == 0 && !truncated && e.how != behavior::garbage) {
        auto add = [&](int family, const std::string& ip, unsigned type, unsigned size) {
            unsigned char raw[16];
            if (::inet_pton(family, ip.c_str(), raw) != 1) return;
            put16(answers, 0xc00c);  // the name: a pointer to the question's
            put16(answers, type);
            put16(answers, 1);  // IN
            put16(answers, 0);  // TTL 60
            put16(answers, 60);
            put16(answers, size);
            answers.insert(answers.end(), raw, raw + size);
            ++ancount;
        };
        if (qtype == type_a)
            for (const auto& ip : e.v4) add(AF_INET, ip, type_a, 4);
        if (qtype == type_aaaa)
            for (const auto& ip : e.v6) add(AF_INET6, ip, type_aaaa, 16);
    }
    if (e.how == behavior::garbage) {
        // An A record whose data runs past the end of the message.
        for (unsigned v : {0xc00cu, type_a, 1u, 0u, 60u, 0xffu}) put16(answers, v);
        answers.insert(answers.end(), {0xde, 0xad, 0xbe});
        ancount = 1;
    }

    std::vector<unsigned char> r;
    unsigned id = get16(q);
    if (e.how == behavior::wrong_id) id ^= 0x5a5a;
    put16(r, id);
    unsigned flags = 0x8000 | (get16(q + 2) & 0x7900) | 0x0400 | 0x0080 | rcode;  // QR, opcode+RD, AA, RA
    if (truncated) flags |= 0x0200;
    put16(r, flags);
    put16(r, 1);
    put16(r, ancount);
    put16(r, 0);
    put16(r, 0);
    r.insert(r.end(), q + 12, q + question_end);
    r.insert(r.end(), answers.begin(), answers.end());

    if (e.how == behavior::noise && !tcp) {
        static thread_local std::minstd_rand rng(12345);
        for (int i = 0; i < 8; ++i) {
            std::vector<unsigned char> junk(1 + rng() % 80);
            for (auto& b : junk) b = static_cast<unsigned char>(rng());
            if (i % 2 == 0 && junk.size() >= 12) {  // a header with this id but a wrong question
                junk[0] = q[0];
                junk[1] = q[1];
                junk[2] = 0x80;
            }
            push(std::move(junk));
        }
    }
    push(std::move(r));
}

void dns_server::serve() {
    struct conn {
        int fd;
        std::vector<unsigned char> in;
    };
    std::vector<conn> conns;
    std::vector<pending> queue;
    std::vector<unsigned char> buf(65536);
    for (;;) {
        int timeout = -1;
        auto now = std::chrono::steady_clock::now();
        for (const auto& item : queue) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(item.due - now).count();
            int ms = static_cast<int>(std::max<long long>(left, 0));
            timeout = timeout < 0 ? ms : std::min(timeout, ms);
        }
        std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
        for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
        if (fds[0].revents) break;

        if (fds[1].revents & POLLIN) {
            for (;;) {
                sockaddr_storage peer{};
                socklen_t plen = sizeof peer;
                ssize_t n = ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &plen);
                if (n < 0) break;
                handle(buf.data(), static_cast<std::size_t>(n), false, -1, &peer, plen, queue);
            }
        }
        if (fds[2].revents & POLLIN) {
            for (;;) {
                int fd = ::accept4(tcp_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;
                conns.push_back({fd, {}});
            }
        }
        for (std::size_t i = 3; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            conn& c = *std::find_if(conns.begin(), conns.end(), [&](const conn& x) { return x.fd == fds[i].fd; });
            bool closed = false;
            for (;;) {
                ssize_t n = ::read(c.fd, buf.data(), buf.size());
                if (n > 0) {
                    c.in.insert(c.in.end(), buf.data(), buf.data() + n);
                    continue;
                }
                closed = n == 0 || (errno != EAGAIN && errno != EINTR);
                break;
            }
            while (c.in.size() >= 2 && c.in.size() >= 2u + get16(c.in.data())) {
                std::size_t mlen = get16(c.in.data());
                handle(c.in.data() + 2, mlen, true, c.fd, nullptr, 0, queue);
                c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<std::ptrdiff_t>(mlen));
            }
            if (closed) {
                int fd = c.fd;
                std::erase_if(queue, [fd](const pending& item) { return item.tcp_fd == fd; });
                ::close(fd);
                std::erase_if(conns, [fd](const conn& x) { return x.fd == fd; });
            }
        }

        now = std::chrono::steady_clock::now();
        std::stable_sort(queue.begin(), queue.end(), [](const pending& a, const pending& b) { return a.due < b.due; });
        std::size_t sent = 0;
        for (; sent < queue.size() && queue[sent].due <= now; ++sent) {
            pending& item = queue[sent];
            if (item.tcp_fd < 0) {
                ::sendto(udp_, item.bytes.data(), item.bytes.size(), 0, reinterpret_cast<sockaddr*>(&item.peer),
                         item.peer_len);
            } else {
                std::vector<unsigned char> framed;
                put16(framed, static_cast<unsigned>(item.bytes.size()));
                framed.insert(framed.end(), item.bytes.begin(), item.bytes.end());
                (void)!::send(item.tcp_fd, framed.data(), framed.size(), MSG_NOSIGNAL);
            }
        }
        queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(sent));
    }
    for (const auto& c : conns) ::close(c.fd);
}

}  // namespace weft::test
