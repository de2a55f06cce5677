// SPDX-License-Identifier: MIT
// The only file that includes <ares.h>.
// Invariants:
//  - every socket c-ares has open is in its channel's socks and watched by the
//    reactor with that channel as context; the socket-state callback is the one
//    door in and out, and (0, 0) removes it from both at once, before c-ares
//    closes it and the number can come back as another socket;
//  - a channel's tick timer is armed iff c-ares has a query in flight, at the
//    time ares_timeout() gave after the last call into c-ares (rearm());
//  - c-ares' callbacks (socket state, addrinfo) only record, watch/unwatch and
//    unpark: they never call into c-ares, never destroy anything but an
//    abandoned query, and never touch a fiber that has left;
//  - a dns_query not yet `done` is either in flight (c-ares' pending callback
//    owns it) or in its pacing's queue (waiting for room, or for its next
//    try), never both;
//  - a pacing's queue is non-empty only while its window is full (pump() runs
//    after every call into c-ares that can end a query), so a try never waits
//    behind room that is free;
//  - the pacer counts exactly the datagrams of the queries in flight;
//  - a try that timed out is asked again by weft, through the queue (retries
//    first), never by c-ares: each channel has tries = 1.
#include "dns/ares_glue.hpp"

#include <ares.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "detail/reactor.hpp"
#include "detail/scheduler.hpp"
#include "dns/pacer.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

namespace {

std::error_code dns_error(dns::errc e) noexcept { return dns::make_error_code(e); }

// to_error() maps a c-ares status to weft's codes.
std::error_code to_error(int status) noexcept {
    switch (status) {
        case ARES_SUCCESS: return {};
        case ARES_ENOTFOUND:
        case ARES_ENONAME: return dns_error(dns::errc::host_not_found);
        case ARES_ENODATA: return dns_error(dns::errc::no_data);
        case ARES_ESERVFAIL:
        case ARES_ENOTIMP:
        case ARES_EFORMERR: return dns_error(dns::errc::server_failure);
        case ARES_EREFUSED: return dns_error(dns::errc::refused);
        case ARES_ETIMEOUT: return weft::make_error_code(weft::errc::timed_out);  // as every timeout in weft
        case ARES_EBADRESP: return dns_error(dns::errc::malformed_answer);
        case ARES_EBADNAME: return dns_error(dns::errc::bad_name);
        case ARES_ECONNREFUSED: return dns_error(dns::errc::unreachable);
        case ARES_ESERVICE: return dns_error(dns::errc::bad_service);
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION: return weft::make_error_code(weft::errc::cancelled);
        default: return dns_error(dns::errc::failed);
    }
}

// has_input() says whether fd has bytes queued to read now.
bool has_input(int fd) noexcept {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// waited() is how long the oldest datagram queued on the UDP socket fd has
// been there: now less its kernel arrival stamp (SO_TIMESTAMPNS, realtime
// clock), read with MSG_PEEK so that c-ares still reads it. Zero when nothing
// is queued or it carries no stamp. A pending socket error (an ICMP refusal,
// which c-ares must see) is left alone: recvmsg() would take it.
clock::duration waited(int fd) noexcept {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLIN)) != POLLIN) return {};
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    if (::recvmsg(fd, &m, MSG_PEEK | MSG_DONTWAIT) < 0) return {};
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec at{}, now{};
        std::memcpy(&at, CMSG_DATA(c), sizeof at);
        ::clock_gettime(CLOCK_REALTIME, &now);
        const auto d =
            std::chrono::seconds(now.tv_sec - at.tv_sec) + std::chrono::nanoseconds(now.tv_nsec - at.tv_nsec);
        return d.count() > 0 ? std::chrono::duration_cast<clock::duration>(d) : clock::duration{};
    }
    return {};
}

bool is_stream(int fd) noexcept {
    int type = 0;
    socklen_t len = sizeof type;
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

std::string join(const std::vector<std::string>& servers) {
    std::string csv;
    for (const auto& s : servers) {
        if (!csv.empty()) csv += ',';
        csv += s;
    }
    return csv;
}

// weight() is how many datagrams a lookup keeps in flight: family::any asks
// for A and AAAA at once.
unsigned weight(const dns_query& q) noexcept { return q.family == AF_UNSPEC ? 2 : 1; }

std::size_t count_servers(ares_channel ch) {
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(ch, &list) != ARES_SUCCESS) return 1;
    std::size_t n = 0;
    for (auto* p = list; p; p = p->next) ++n;
    ares_free_data(list);
    return std::max<std::size_t>(n, 1);
}

// per_try_ms() cuts `total` so that c-ares' schedule fits in it: each server is
// asked `tries` times, and c-ares doubles the per-try timeout after every round
// of the servers, so the worst case is nservers * t * (2^tries - 1).
int per_try_ms(std::chrono::nanoseconds total, std::size_t nservers, int tries) {
    long long rounds = (1LL << std::clamp(tries, 1, 16)) - 1;
    long long t = std::chrono::duration_cast<std::chrono::milliseconds>(total).count() /
                  (static_cast<long long>(nservers) * rounds);
    return static_cast<int>(std::clamp<long long>(t, 1, 1'000'000));
}

}  // namespace

// dns_pacing is one server list's window and the tries waiting for room in
// it: retries at the front (they are the oldest), new lookups at the back.
// Every channel of that list (one per per-try timeout) shares it.
struct dns_pacing {
    std::string servers;   // the key: the list as given ("" for resolv.conf's)
    std::size_t nservers;  // how many servers it names (cuts each try's timeout)
    dns_pacer pacer;
    std::deque<dns_query*> queue;
    // refused_at is when a server of the list last refused a datagram (an
    // ICMP port unreachable, seen by socket_calls below). c-ares 1.18 loses
    // that refusal when another query's send takes the socket's error, and
    // lets the first query time out; a try that times out after a refusal
    // is taken as the refusal it was.
    clock::time_point refused_at{};
};

// socket_calls are c-ares' socket calls, the system's own, watching for
// ECONNREFUSED (see dns_pacing::refused_at); ctx is the dns_pacing.
namespace socket_calls {
void refused(void* ctx) noexcept { static_cast<dns_pacing*>(ctx)->refused_at = clock::now(); }
// open() makes the socket as c-ares would (c-ares 1.18 leaves configuring a
// socket it did not make to whoever made it): non-blocking, close-on-exec,
// and a UDP socket with room for a window's answers (see channel_at()).
ares_socket_t open(int family, int type, int protocol, void*) {
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0 && type == SOCK_DGRAM) {
        int size = 1 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    if (fd >= 0 && type == SOCK_STREAM) {
        int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    return fd;
}
int close(ares_socket_t fd, void*) { return ::close(fd); }
int connect(ares_socket_t fd, const sockaddr* to, ares_socklen_t len, void*) { return ::connect(fd, to, len); }
ares_ssize_t recvfrom(ares_socket_t fd, void* buf, std::size_t n, int flags, sockaddr* from, ares_socklen_t* len,
                      void* ctx) {
    ssize_t r = ::recvfrom(fd, buf, n, flags, from, len);
    if (r < 0 && errno == ECONNREFUSED) refused(ctx);
    return r;
}
ares_ssize_t sendv(ares_socket_t fd, const iovec* v, int count, void* ctx) {
    ssize_t r = ::writev(fd, v, count);
    if (r < 0 && errno == ECONNREFUSED) refused(ctx);
    return r;
}
const ares_socket_functions all = {open, close, connect, recvfrom, sendv};
}  // namespace socket_calls

// channel is one ares_channel and what drives it.
struct dns_glue::channel {
    struct sock {
        int fd;
        std::uint32_t gen;  // ours: tells a socket from a later one with the same number
        bool stream;        // TCP: c-ares reads it one piece per call (see on_edge)
        bool want_write;    // c-ares asked for writability
    };

    dns_glue* glue;
    dns_pacing* pace;  // its server list's window, shared with the list's other channels
    std::string key;
    ares_channel ch = nullptr;
    timer tick;               // fires ares_process_fd(BAD, BAD): retries and timeouts
    std::vector<sock> socks;  // a handful: one UDP socket per server, TCP on truncation
    std::uint32_t next_gen = 0;

    sock* find(int fd) noexcept {
        for (auto& s : socks)
            if (s.fd == fd) return &s;
        return nullptr;
    }

    // rearm() sets the tick from ares_timeout(); called after every call into c-ares.
    void rearm() {
        timer_heap& heap = glue->sched_.timers();
        if (tick.armed()) heap.erase(tick);
        timeval tv{};
        if (!ares_timeout(ch, nullptr, &tv)) return;  // nothing in flight
        heap.push(tick, clock::now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    }

    static void on_tick(timer& t) {
        auto* c = static_cast<channel*>(t.owner);
        ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        c->glue->pump(*c->pace);
        c->rearm();
    }

    // launch() hands one try of q to c-ares now and counts it in the window.
    void launch(dns_query* q) {
        ares_addrinfo_hints hints{};
        hints.ai_flags = ARES_AI_NUMERICSERV;  // or c-ares reads /etc/services each time
        hints.ai_family = q->family;
        hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
        char service[8];
        std::snprintf(service, sizeof service, "%u", static_cast<unsigned>(q->port));
        q->seq = pace->pacer.sent(weight(*q));
        q->sent_at = clock::now();
        q->in_call = true;
        // c-ares 1.18 takes a numeric service of "0" for an unknown one: port 0 is no service.
        ares_getaddrinfo(ch, q->host.c_str(), q->port ? service : nullptr, &hints, &channel::on_addrinfo, q);
        q->in_call = false;  // q is alive: a query in flight is never abandoned here
    }

    // on_sock_state() is c-ares telling which sockets it wants watched. It runs
    // inside c-ares: it touches the reactor and our table, nothing else.
    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* c = static_cast<channel*>(data);
        dns_glue& g = *c->glue;
        sock* s = c->find(fd);
        if (!readable && !writable) {  // c-ares is about to close it
            if (!s) return;
            g.io_.remove(fd);
            c->socks.erase(c->socks.begin() + (s - c->socks.data()));
            --g.sockets_;
            return;
        }
        if (!s) {
            // A failure here leaves the socket unwatched: its query then ends
            // in c-ares' own timeout instead of an answer.
            if (g.io_.watch(fd, &on_edge, c) != 0) return;
            const bool stream = is_stream(fd);
            if (!stream) {  // arrival stamps for waited(); without them the pacer only sees less
                int on = 1;
                ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
            }
            try {
                c->socks.push_back({fd, ++c->next_gen, stream, writable != 0});
            } catch (const std::bad_alloc&) {
                g.io_.remove(fd);
                return;
            }
            ++g.sockets_;
            return;
        }
        bool was = s->want_write;
        s->want_write = writable != 0;
        if (s->want_write && !was) {
            // The socket may have been writable all along, and an edge-triggered
            // set will not say so again: registering anew reports its state now.
            g.io_.remove(fd);
            if (g.io_.watch(fd, &on_edge, c) != 0) {
                c->socks.erase(c->socks.begin() + (s - c->socks.data()));
                --g.sockets_;
            }
        }
    }

    // on_edge() is the reactor telling that a c-ares socket became ready.
    static void on_edge(void* ctx, int fd, bool readable, bool writable) {
        auto* c = static_cast<channel*>(ctx);
        sock* s = c->find(fd);
        if (!s) return;
        const std::uint32_t gen = s->gen;
        const bool stream = s->stream;
        ares_socket_t rfd = readable ? fd : ARES_SOCKET_BAD;
        ares_socket_t wfd = writable && s->want_write ? fd : ARES_SOCKET_BAD;
        if (rfd == ARES_SOCKET_BAD && wfd == ARES_SOCKET_BAD) return;
        dns_pacer& pacer = c->pace->pacer;
        pacer.read_batch(readable && !stream ? waited(fd) : clock::duration{});
        ares_process_fd(c->ch, rfd, wfd);  // UDP: reads until EAGAIN; answers make room
        pacer.end_batch();
        // c-ares reads a TCP answer one recv() per call (the length, then the
        // body), so with edge-triggered epoll what is already queued must be
        // drained here: no further edge would come for it.
        for (int i = 0; stream && i < 4096; ++i) {
            s = c->find(fd);
            if (!s || s->gen != gen || !has_input(fd)) break;
            ares_process_fd(c->ch, fd, ARES_SOCKET_BAD);
        }
        c->glue->pump(*c->pace);
        c->rearm();
    }

    // on_addrinfo() is c-ares' answer to one try of one lookup: store and
    // unpark, or queue the next try when this one timed out.
    static void on_addrinfo(void* arg, int status, int timeouts, ares_addrinfo* ai) {
        auto* q = static_cast<dns_query*>(arg);
        // A try that timed out (no server of the list answered in its time)
        // is the one sign of an overrun that UDP gives. An answer from
        // /etc/hosts, a cancellation or an ICMP refusal says nothing of the
        // servers' load, nor does an answer from the list's second server
        // after the first was silent (its round trip holds that timeout).
        dns_pacer::outcome how = dns_pacer::outcome::answered;
        if (status == ARES_ETIMEOUT)
            how = dns_pacer::outcome::lost;
        else if (q->in_call || timeouts > 0 || status == ARES_ECANCELLED || status == ARES_EDESTRUCTION ||
                 status == ARES_ECONNREFUSED)
            how = dns_pacer::outcome::other;
        const auto now = clock::now();
        if (status == ARES_ETIMEOUT && q->pace->refused_at >= q->sent_at) {
            status = ARES_ECONNREFUSED;  // refused, and the refusal lost in c-ares (see dns_pacing)
            how = dns_pacer::outcome::other;
        }
        q->pace->pacer.done(q->seq, weight(*q), how, now - q->sent_at, now);
        if (status == ARES_ETIMEOUT && !q->abandoned && q->tries_left > 0) {
            // Ask again, with twice the time (c-ares' own backoff), ahead of
            // the lookups not yet asked; pump() sends it when there is room.
            try {
                q->pace->queue.push_front(q);
                --q->tries_left;
                q->try_ms = static_cast<int>(std::min(2LL * q->try_ms, 1'000'000LL));
                if (ai) ares_freeaddrinfo(ai);
                return;
            } catch (const std::bad_alloc&) {
                // No room to queue it: it ends as timed out.
            }
        }
        if (q->abandoned) {
            if (ai) ares_freeaddrinfo(ai);
            delete q;
            return;
        }
        q->done = true;
        q->ec = to_error(status);
        if (status == ARES_SUCCESS && ai) {
            try {
                for (auto* n = ai->nodes; n; n = n->ai_next) {
                    if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
                    // c-ares takes A and AAAA records from any answer: a server that
                    // slips an AAAA into the answer to an A question would give a v6
                    // address to a caller that asked for v4 only.
                    if (q->family && n->ai_family != q->family) continue;
                    auto a = net::address::from_sockaddr(n->ai_addr, n->ai_addrlen);
                    if (std::find(q->addrs.begin(), q->addrs.end(), a) == q->addrs.end()) q->addrs.push_back(a);
                }
                if (q->addrs.empty()) q->ec = dns_error(dns::errc::no_data);
            } catch (const std::exception&) {
                q->addrs.clear();
                q->ec = dns_error(dns::errc::failed);
            }
        }
        if (ai) ares_freeaddrinfo(ai);
        if (q->waiter) scheduler::current()->unpark(q->waiter, wake_reason::ready);
    }
};

void dns_query_release::operator()(dns_query* q) const noexcept {
    if (q->done) {
        delete q;
    } else {
        q->waiter = nullptr;
        q->abandoned = true;  // on_addrinfo frees it when c-ares is done with it
    }
}

dns_glue::dns_glue(scheduler& sched, reactor& io) : sched_(sched), io_(io) {
    static const int library = ares_library_init(ARES_LIB_INIT_ALL);
    (void)library;
    if (const char* env = std::getenv("WEFT_DNS_SERVERS")) env_servers_ = env;
}

dns_glue::~dns_glue() {
    // Tries still waiting for room end as cancelled, as c-ares ends those in
    // flight (a try that times out in ares_cancel() below is not queued again:
    // its status is ARES_ECANCELLED).
    for (auto& p : pacings_) {
        for (dns_query* q : p->queue) {
            if (q->abandoned) {
                delete q;
                continue;
            }
            q->done = true;
            q->ec = weft::make_error_code(weft::errc::cancelled);
            if (q->waiter) sched_.unpark(q->waiter, wake_reason::ready);
        }
        p->queue.clear();
    }
    for (auto& c : channels_) {
        if (c->tick.armed()) sched_.timers().erase(c->tick);
        // ares_cancel() ends each lookup through the normal path (one callback
        // per ares_getaddrinfo, freeing the abandoned ones); ares_destroy() then
        // finds nothing in flight and closes the sockets (state callback 0, 0).
        ares_cancel(c->ch);
        ares_destroy(c->ch);
        for (const auto& s : c->socks) io_.remove(s.fd);  // in case c-ares did not say
        sockets_ -= c->socks.size();
    }
}

dns_pacing& dns_glue::pacing_for(const std::string& servers) {
    for (auto& p : pacings_)
        if (p->servers == servers) return *p;
    auto p = std::make_unique<dns_pacing>();
    p->servers = servers;
    p->nservers = 1;
    if (!servers.empty()) {
        p->nservers = static_cast<std::size_t>(std::count(servers.begin(), servers.end(), ',')) + 1;
    } else {
        // resolv.conf's servers: count them, to cut the per-try timeout.
        ares_options o{};
        char lookups[] = "fb";
        o.lookups = lookups;
        ares_channel probe = nullptr;
        if (ares_init_options(&probe, &o, ARES_OPT_LOOKUPS) == ARES_SUCCESS) {
            p->nservers = count_servers(probe);
            ares_destroy(probe);
        }
    }
    pacings_.push_back(std::move(p));
    return *pacings_.back();
}

dns_glue::channel* dns_glue::channel_at(dns_pacing& p, int try_ms, std::error_code& ec) {
    std::string key = p.servers + '|' + std::to_string(try_ms);
    for (auto& c : channels_)
        if (c->key == key) return c.get();

    auto c = std::make_unique<channel>();
    c->glue = this;
    c->pace = &p;
    c->key = std::move(key);
    c->tick.fire = &channel::on_tick;
    c->tick.owner = c.get();

    ares_options o{};
    char lookups[] = "fb";  // /etc/hosts first, then DNS
    o.lookups = lookups;
    o.tries = 1;  // each server once: the next try is weft's (on_addrinfo)
    o.timeout = try_ms;
    o.sock_state_cb = &channel::on_sock_state;
    o.sock_state_cb_data = c.get();
    // The window keeps up to 200 queries in flight on one UDP socket per
    // server, and their answers can come in one burst while weft is busy:
    // room for more than the default 208 KiB (256 answers; the kernel caps
    // this at net.core.rmem_max).
    o.socket_receive_buffer_size = 1 << 20;
    int mask = ARES_OPT_LOOKUPS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_SOCK_RCVBUF;
    if (!p.servers.empty()) {
        mask |= ARES_OPT_DOMAINS;  // no search domains: the names are asked as given
        o.ndomains = 0;
    }
    if (p.nservers == 1) {
        // c-ares 1.18 turns SERVFAIL and REFUSED into "try the next server",
        // and with none left reports ECONNREFUSED, hiding what the server said.
        // With one server there is no next one: take its answer as it is.
        mask |= ARES_OPT_FLAGS;
        o.flags = ARES_FLAG_NOCHECKRESP;
    }
    int rc = ares_init_options(&c->ch, &o, mask);
    if (rc != ARES_SUCCESS) {
        ec = dns_error(dns::errc::failed);
        return nullptr;
    }
    ares_set_socket_functions(c->ch, &socket_calls::all, &p);
    if (!p.servers.empty() && ares_set_servers_ports_csv(c->ch, p.servers.c_str()) != ARES_SUCCESS) {
        ares_destroy(c->ch);
        ec = dns_error(dns::errc::bad_servers);
        return nullptr;
    }
    channels_.push_back(std::move(c));
    return channels_.back().get();
}

void dns_glue::pump(dns_pacing& p) {
    channel* touched[4] = {};  // channels given tries here, to rearm once each (a list has a few)
    std::size_t ntouched = 0;
    while (!p.queue.empty()) {
        dns_query* q = p.queue.front();
        if (q->abandoned) {  // its fiber timed out or was cancelled while it waited
            p.queue.pop_front();
            delete q;
            continue;
        }
        if (!p.pacer.may_send(weight(*q))) {
            p.pacer.waited();
            break;
        }
        p.queue.pop_front();
        std::error_code ec;
        channel* c = channel_at(p, q->try_ms, ec);
        if (!c) {  // the next try's channel cannot be made (out of memory): the lookup ends
            q->done = true;
            q->ec = ec;
            if (q->waiter) sched_.unpark(q->waiter, wake_reason::ready);
            continue;
        }
        c->launch(q);
        if (std::find(touched, touched + ntouched, c) != touched + ntouched) continue;
        if (ntouched == std::size(touched))
            c->rearm();  // more channels than expected: rearm now
        else
            touched[ntouched++] = c;
    }
    for (std::size_t i = 0; i < ntouched; ++i) touched[i]->rearm();
}

dns_query_ptr dns_glue::start(const char* host, std::uint16_t port, const dns::options& opts, std::error_code& ec) {
    ec.clear();
    dns_pacing& p = pacing_for(opts.servers.empty() ? env_servers_ : join(opts.servers));
    const int tries = std::max(opts.tries, 1);
    // Zero (or less) is a deadline already passed: the lookup's park ends at
    // once. c-ares still gets a schedule of its own (1 ms a try at least).
    const auto total = std::max<std::chrono::nanoseconds>(opts.timeout, std::chrono::milliseconds(1));
    const int first_ms = per_try_ms(total, p.nservers, tries);
    channel* c = channel_at(p, first_ms, ec);  // now, so that bad servers are said now
    if (!c) return nullptr;
    dns_query_ptr q(new dns_query);
    q->family = opts.family == dns::family::v4 ? AF_INET : opts.family == dns::family::v6 ? AF_INET6 : AF_UNSPEC;
    q->host = host;
    q->port = port;
    q->pace = &p;
    q->tries_left = tries - 1;
    q->try_ms = first_ms;
    if (p.queue.empty() && p.pacer.may_send(weight(*q))) {
        c->launch(q.get());
        c->rearm();
        return q;
    }
    // The window is full: wait in line. The answers that make room start it.
    p.pacer.waited();
    p.queue.push_back(q.get());
    return q;
}

dns_glue& current_dns(const char* what) {
    return current_service<dns_glue>(
        what, [] { return std::make_unique<dns_glue>(*scheduler::current(), *running_reactor()); });
}

}  // namespace weft::detail
