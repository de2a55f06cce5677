// SPDX-License-Identifier: MIT
// The c-ares side of weft::dns, kept behind this header so that no other file
// includes <ares.h>. One dns_glue per weft::run(), made on first use and
// destroyed before the reactor and the scheduler (see runtime.hpp). Lookups
// to one server list are paced (dns/pacer.hpp): those beyond the window wait
// in weft's queue, not in c-ares.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "detail/runtime.hpp"
#include "weft/detail/park.hpp"
#include "weft/dns/resolve.hpp"
#include "weft/net/address.hpp"
#include "weft/timeout.hpp"

namespace weft::detail {

class reactor;
class scheduler;
struct dns_pacing;

// dns_query is one lookup, on the heap because two parties share it: the fiber
// that waits for it and c-ares, whose callback fills it. While `done` is false
// the callback is still to come; a fiber that leaves before then (cancelled,
// timed out) sets `abandoned`, and the callback frees the record instead of
// touching the departed fiber. dns_query_ptr does that hand-over.
// A query waiting for room in its server list's window (not yet handed to
// c-ares, or to be asked again) is owned by that queue the same way: the queue
// frees it when it comes up abandoned.
struct dns_query {
    fiber* waiter = nullptr;          // the parked fiber, unparked by the callback
    bool done = false;                // the callback ran: ec and addrs are final
    bool abandoned = false;           // the fiber left first: the callback (or the queue) owns and frees this
    std::error_code ec;               // a weft::dns::errc, or none
    std::vector<net::address> addrs;  // on success, in c-ares' order, without duplicates
    int family = 0;                   // AF_INET or AF_INET6 when only those were asked for, else 0
    // Pacing and retries (ares_glue.cpp): weft, not c-ares, asks again.
    std::string host;  // what to ask, each try
    std::uint16_t port = 0;
    dns_pacing* pace = nullptr;   // its server list's window and queue
    int tries_left = 0;           // tries after this one
    int try_ms = 0;               // this try's timeout per server; doubles for each next try
    bool in_call = false;         // inside ares_getaddrinfo(): a callback now is a local answer
    std::uint64_t seq = 0;        // its number in the pacer's count, this try
    clock::time_point sent_at{};  // when c-ares got it, this try: its round trip starts here
};

struct dns_query_release {
    void operator()(dns_query* q) const noexcept;  // frees a done query, abandons one in flight
};
using dns_query_ptr = std::unique_ptr<dns_query, dns_query_release>;

// dns_glue drives c-ares on the loop: its sockets are watched by the reactor
// (the socket-state callback adds and removes them), their edges call
// ares_process_fd(), and one scheduler timer per channel, re-armed from
// ares_timeout() after every call into c-ares, runs c-ares' retries and timeouts.
//
// Channels are keyed by (servers, per-try timeout), each asking every server
// once per ares_getaddrinfo (c-ares' tries = 1): weft makes the next try
// itself, on the channel of twice the timeout, as c-ares would have, but
// through the window. Never reconfigured, so queries in flight are never
// disturbed by another fiber's options; a run has a few. The channels of one
// server list share one pacing (dns_pacing, ares_glue.cpp): its window bounds
// the queries in flight to those servers, whatever the options of each lookup.
class dns_glue final : public service {
public:
    dns_glue(scheduler& sched, reactor& io);
    ~dns_glue();  // cancels what is in flight (callbacks free abandoned queries), closes c-ares' sockets
    dns_glue(const dns_glue&) = delete;
    dns_glue& operator=(const dns_glue&) = delete;

    // start() begins ares_getaddrinfo(host, port) on the channel for `opts`,
    // or queues it when its server list's window is full (it then starts
    // when an answer makes room, oldest first). The query may be done on
    // return (/etc/hosts, errors). Returns null with ec set
    // (errc::bad_servers, errc::failed) when no channel can be made.
    dns_query_ptr start(const char* host, std::uint16_t port, const dns::options& opts, std::error_code& ec);

    dns::options defaults;  // what resolve() without options uses in this run

    struct channel;  // one ares_channel with its timer and sockets (ares_glue.cpp)

private:
    dns_pacing& pacing_for(const std::string& servers);
    channel* channel_at(dns_pacing& p, int try_ms, std::error_code& ec);
    void pump(dns_pacing& p);  // starts queued tries while the window has room

    scheduler& sched_;
    reactor& io_;
    std::string env_servers_;                           // WEFT_DNS_SERVERS, read when the glue is made
    std::vector<std::unique_ptr<dns_pacing>> pacings_;  // before channels_: outlives them
    std::vector<std::unique_ptr<channel>> channels_;
    std::size_t sockets_ = 0;  // c-ares sockets now watched, over all channels
};

// current_dns() is this run's dns_glue, made on first use (a service of the
// runtime). Throws std::system_error(errc::no_scheduler) with `what` outside a fiber.
dns_glue& current_dns(const char* what);

}  // namespace weft::detail
