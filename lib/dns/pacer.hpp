// SPDX-License-Identifier: MIT
// dns_pacer: how many DNS queries weft keeps in flight to one server list at
// once (issue 12). Numbers only: ares_glue.cpp keeps the queue of tries that
// wait for room and hands them to c-ares; tests drive this class directly.
//
// Why: c-ares sends every query it is given at once. 20,000 lookups started
// together were 20,000 datagrams toward one server: its UDP receive buffer
// (Linux's default, 212,992 bytes, holds 256 small datagrams) dropped all but
// a few hundred, c-ares retried them all together after its per-try timeout,
// and most were dropped again.
//
// The window (queries in flight; family::any's A and AAAA count one each)
// adapts once per round trip (a round ends when the first query sent after
// it began is answered):
//  - it starts at 200, its most: a burst of up to 200 queries (100 lookups of
//    family::any) goes out at once, as before pacing, and fits a default
//    buffer even at a server that reads nothing meanwhile;
//  - delay (FAST TCP's rule): `base` is the least round trip seen in the
//    last 10 s, `rtt` the round's mean; window * base / rtt queries are what
//    the path holds with none waiting, the rest wait in a queue (the server's
//    or weft's own, when weft is the busy side). A round that found fewer
//    than 16 waiting grows the window by half; one that found more moves it
//    halfway toward the path plus 32 waiting (an eighth of a default buffer);
//  - loss: a try that timed out halves the window, once per episode (a
//    round trip's worth of queries), and each other try lost with it takes
//    its own place off too;
//  - bounds: 8 to 200. A far server could use more (200 in flight to a
//    server 50 ms away is 4,000 lookups a second), but nothing tells a far
//    server from a near one that is short of CPU: both answer late.
// Only a round in which some lookup waited for room may grow the window, and
// only on a quarter of a window's answers or more.
//
// Measured (bench/README.md, "dns burst"): against dnsmasq 2.90 on loopback
// the window settles at 32-34 (dnsmasq answers in about 30 us with nothing
// waiting) and 20,000 lookups lose none.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

#include "weft/timeout.hpp"

namespace weft::detail {

class dns_pacer {
public:
    static constexpr double max_window = 200;  // and the first: a default receive buffer holds 256
    static constexpr double min_window = 8;
    static constexpr double queue_target = 32;              // queries let wait at the server
    static constexpr std::chrono::seconds base_period{10};  // how long a least RTT is remembered

    // may_send() says whether a query that puts `weight` datagrams in flight
    // (2 for family::any) fits now; one always fits when nothing is in flight.
    bool may_send(unsigned weight) const noexcept {
        return in_flight_ == 0 || in_flight_ + weight <= static_cast<unsigned>(window_);
    }
    // waited() records that a lookup found no room: this round may grow the window.
    void waited() noexcept { limited_ = true; }
    // sent() counts a query as in flight and returns its sequence number.
    std::uint64_t sent(unsigned weight) noexcept {
        in_flight_ += weight;
        return next_seq_++;
    }

    // read_batch() starts a batch of answers read from one socket, the
    // oldest of which had waited `d` in it (its kernel arrival stamp) before
    // weft got to it; end_batch() ends it (timeouts and local answers are
    // outside any). The first answer of a batch arrived when that oldest
    // did, or after: its round trip to the server was at most its sample
    // less `d`. The others' arrivals are unknown: their samples count toward
    // the least only when `d` is too small to matter.
    void read_batch(clock::duration d) noexcept {
        batch_ = true;
        batch_first_ = true;
        batch_delay_ = std::chrono::duration<double>(d).count();
    }
    void end_batch() noexcept { batch_ = false; }

    // outcome is how a query sent with sent() ended.
    enum class outcome {
        answered,  // by the server: `rtt` is a sample
        lost,      // the try timed out: congestion
        other,     // answered locally (/etc/hosts), cancelled, refused by ICMP: no signal
    };

    // done() takes the query out of flight and adapts the window.
    void done(std::uint64_t seq, unsigned weight, outcome how, clock::duration rtt, clock::time_point now) noexcept {
        in_flight_ -= std::min(weight, in_flight_);
        if (how == outcome::lost) {
            if (seq >= recover_seq_) {  // the first loss of a new episode
                window_ = std::max(min_window, window_ / 2);
                recover_seq_ = next_seq_;
                start_round();
            } else {  // lost with the first: the server held that much less again
                window_ = std::max(min_window, window_ - weight);
            }
            return;
        }
        if (how == outcome::answered) {
            // The round's mean takes the round trip as weft saw it, its own
            // delays included; the least takes what the server's side alone
            // can have been (weft busy elsewhere, 20,000 fibers starting, is
            // not a far server): both err toward a smaller window.
            const double s = std::chrono::duration<double>(rtt).count();
            double path = s;
            if (batch_ && batch_first_)
                path = std::max(s - batch_delay_, 1e-6);
            else if (batch_ && batch_delay_ > s / 16)
                path = std::numeric_limits<double>::infinity();  // no sample for the least
            batch_first_ = false;
            rtt_sum_ += s;
            ++rtt_n_;
            base_ = std::min(base_, path);
            period_min_ = std::min(period_min_, path);
        }
        if (seq >= round_seq_) end_round(now);
    }

    unsigned window() const noexcept { return static_cast<unsigned>(window_); }
    unsigned in_flight() const noexcept { return in_flight_; }

private:
    void start_round() noexcept {
        round_seq_ = next_seq_;
        rtt_sum_ = 0;
        rtt_n_ = 0;
        limited_ = false;
    }

    void end_round(clock::time_point now) noexcept {
        // A round decides only on a quarter of a window's samples or more.
        if (limited_ && rtt_n_ > 0 && rtt_n_ >= window_ / 4) {
            const double rtt = std::max(rtt_sum_ / rtt_n_, base_);
            const double path = window_ * base_ / rtt;  // in flight with no queue
            const double queued = window_ - path;
            if (queued < queue_target / 2)
                window_ = std::min(max_window, window_ * 1.5);
            else
                window_ = std::clamp((window_ + path + queue_target) / 2, min_window, max_window);
        }
        // A least RTT from long ago may be a path that is gone: after each
        // period, forget all but that period's least.
        if (now - base_since_ >= base_period) {
            if (period_min_ != std::numeric_limits<double>::infinity()) base_ = period_min_;
            period_min_ = std::numeric_limits<double>::infinity();
            base_since_ = now;
        }
        start_round();
    }

    double window_ = max_window;
    unsigned in_flight_ = 0;      // datagrams c-ares has out (A and AAAA count one each)
    std::uint64_t next_seq_ = 0;  // the next query's sequence number
    // The round ends when a query numbered this or later is answered; the
    // first, when one sent beyond the first window is.
    std::uint64_t round_seq_ = static_cast<std::uint64_t>(max_window);
    std::uint64_t recover_seq_ = 0;  // losses of queries sent before this belong to an episode already counted
    double rtt_sum_ = 0;             // the round's samples, seconds
    unsigned rtt_n_ = 0;
    bool limited_ = false;                                         // some lookup waited for room during the round
    bool batch_ = false;                                           // within read_batch() .. end_batch()
    bool batch_first_ = false;                                     // no answer of the batch seen yet
    double batch_delay_ = 0;                                       // how long the batch's oldest answer waited, seconds
    double base_ = std::numeric_limits<double>::infinity();        // least RTT, seconds
    double period_min_ = std::numeric_limits<double>::infinity();  // least RTT of this period
    clock::time_point base_since_{};                               // when this period began
};

}  // namespace weft::detail
