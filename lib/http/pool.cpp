// SPDX-License-Identifier: MIT
#include "http/pool.hpp"

#include <cerrno>
#include <cstdlib>
#include <sys/socket.h>

#include "weft/detail/park.hpp"

namespace weft::http::detail {

namespace {

// quiet() is whether an idle connection is still open with nothing to read:
// a server that closed it sent a FIN (recv gives 0), and any byte it sent
// unasked means the connection is out of step.
bool quiet(connection& c) {
    char byte;
    ssize_t n = ::recv(c.stream().tcp().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

// waiter is a request waiting for a slot; it lives on its fiber's stack.
struct pool::waiter {
    place* at;
    weft::detail::fiber* fib;
    std::uint64_t arrival;
    bool granted = false;
    std::optional<connection> conn;  // an idle connection handed over, if granted one
    waiter* next = nullptr;
    waiter* prev = nullptr;
};

pool::~pool() {
    // A client is destroyed when no request holds it (each holds its state):
    // no waiter is left. The idle connections close with the map.
    if (waiting_ != 0) std::abort();
}

// try_take() takes a slot at `p` if the limits allow: an idle connection
// (out), or a new one reserved (out empty). Idle connections that aged out or
// that the server closed are closed on the way.
bool pool::try_take(place& p, std::optional<connection>& out) {
    const auto now = p.idle.empty() ? deadline{} : clock::now();
    while (!p.idle.empty()) {
        parked c = std::move(p.idle.back());
        p.idle.pop_back();
        --idle_;
        if (now - c.since <= limits_.idle_timeout && c.conn.buffered() == 0 && quiet(c.conn)) {
            out = std::move(c.conn);
            return true;
        }
        --p.open;  // closed as `c` goes
        --open_;
    }
    if (limits_.max_per_host != 0 && p.open >= limits_.max_per_host) return false;
    if (limits_.max_connections != 0 && open_ >= limits_.max_connections && !close_oldest_idle_except(&p)) return false;
    ++p.open;
    ++open_;
    out.reset();
    return true;
}

// close_oldest_idle_except() makes room under max_connections by closing the
// idle connection that waited longest at another place; false if none.
bool pool::close_oldest_idle_except(const place* keep) {
    place* from = nullptr;
    for (auto& [key, p] : places_) {
        if (&p == keep || p.idle.empty()) continue;
        if (!from || p.idle.front().since < from->idle.front().since) from = &p;
    }
    if (!from) return false;
    from->idle.erase(from->idle.begin());
    --from->open;
    --open_;
    --idle_;
    return true;
}

void pool::unlink(place& p, waiter& w) noexcept {
    (w.prev ? w.prev->next : p.first) = w.next;
    (w.next ? w.next->prev : p.last) = w.prev;
    w.next = w.prev = nullptr;
    --waiting_;
}

void pool::forget_if_unused(place& p) {
    if (p.open == 0 && p.first == nullptr) places_.erase(places_.find(*p.key));
}

std::optional<connection> pool::acquire(std::string_view key, place*& at, const char* op) {
    weft::detail::require_fiber(op);
    auto it = places_.find(key);
    if (it == places_.end()) {
        it = places_.try_emplace(std::string(key)).first;
        it->second.key = &it->first;
    }
    place& p = it->second;
    at = &p;
    std::optional<connection> out;
    // Nobody waits for this place: take a slot if there is one. (Those who
    // wait elsewhere could not use this slot, or dispatch() would have served them.)
    if (p.first == nullptr && try_take(p, out)) return out;
    waiter w{&p, weft::detail::current_fiber(), arrivals_++, false, std::nullopt};
    w.prev = p.last;
    (p.last ? p.last->next : p.first) = &w;
    p.last = &w;
    ++waiting_;
    try {
        while (!w.granted) weft::detail::park_or_throw({"a connection slot (http::client limits)", this}, never, op);
    } catch (...) {
        if (w.granted) {
            release(p, std::move(w.conn));  // granted as it was interrupted: the slot goes on
        } else {
            unlink(p, w);
            forget_if_unused(p);
        }
        throw;
    }
    return std::move(w.conn);
}

void pool::release(place& p, std::optional<connection> c) {
    if (c && p.idle.size() < limits_.max_idle_per_host) {
        p.idle.push_back({std::move(*c), clock::now()});
        ++idle_;
    } else {
        c.reset();
        --p.open;
        --open_;
    }
    if (waiting_ != 0) dispatch();
    forget_if_unused(p);
}

// dispatch() serves the waiting requests that can go now, oldest first: at
// each step, of the places with waiters, the one whose first waiter came
// earliest among those the limits let through.
void pool::dispatch() {
    for (;;) {
        place* best = nullptr;
        for (auto& [key, p] : places_) {
            if (!p.first || (best && best->first->arrival < p.first->arrival)) continue;
            const bool can = !p.idle.empty() || limits_.max_per_host == 0 || p.open < limits_.max_per_host;
            if (can) best = &p;
        }
        if (!best) return;
        waiter& w = *best->first;
        std::optional<connection> out;
        if (!try_take(*best, out)) return;  // only max_connections stops it: nobody else goes either
        unlink(*best, w);
        w.conn = std::move(out);
        w.granted = true;
        weft::detail::unpark(w.fib);
    }
}

}  // namespace weft::http::detail
