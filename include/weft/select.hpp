// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/channel.hpp"
#include "weft/detail/park.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/timeout.hpp"

namespace weft {

namespace detail {

template <class T>
struct channel_access {
    static wait_list& receivers(channel<T>& c) noexcept { return c.recv_waiters_; }
    static wait_list& senders(channel<T>& c) noexcept { return c.send_waiters_; }
};

// select_begin() throws std::system_error(errc::no_scheduler) outside a fiber.
void select_begin();
// select_shuffle(order, n) fills order[0..n) with a uniformly random
// permutation of 0..n-1 (a per-thread generator; n < 256).
void select_shuffle(std::uint8_t* order, std::size_t n) noexcept;

enum class case_kind : unsigned char { channel, timer, fallback };

struct do_nothing {
    void operator()() const noexcept {}
};

}  // namespace detail

// The cases of weft::select. Each is made by the function of the same name
// below, inside the select() call; a case refers to its channel and, for
// send, to the value, so it is not meant to outlive that call.

// recv_case: receive from a channel (weft::recv).
template <class T, class Fn>
class recv_case {
public:
    static constexpr detail::case_kind kind = detail::case_kind::channel;

    recv_case(channel<T>& ch, Fn fn) : ch_(ch), fn_(std::move(fn)) {}
    recv_case(const recv_case&) = delete;
    recv_case& operator=(const recv_case&) = delete;

    // --- select's side ---
    // poll() takes a value if one is there without waiting; a closed, drained
    // channel is ready too (its handler gets std::nullopt).
    bool poll() {
        got_.reset();
        if (std::optional<T> v = ch_.try_recv()) {
            got_.emplace(std::move(*v));
            return true;
        }
        return ch_.closed();
    }
    // link(w) queues w as one of the channel's receivers; a sender hands its
    // value over into got_ (the slot recv() uses too).
    void link(detail::waiter& w) noexcept {
        w.slot = &got_;
        detail::channel_access<T>::receivers(ch_).push_back(w);
    }
    bool fired() const noexcept { return got_.has_value(); }
    void run() { std::invoke(fn_, std::move(got_)); }

private:
    channel<T>& ch_;
    Fn fn_;
    std::optional<T> got_;
};

// send_case: send a value into a channel (weft::send).
template <class T, class Fn>
class send_case {
public:
    static constexpr detail::case_kind kind = detail::case_kind::channel;

    // The value is the caller's, copied (const T&) or moved (T&&) only if
    // this case is taken; one of another type is converted to T up front.
    send_case(channel<T>& ch, const T& v, Fn fn) : ch_(ch), fn_(std::move(fn)) { offer_.copy_from = &v; }
    send_case(channel<T>& ch, T&& v, Fn fn) : ch_(ch), fn_(std::move(fn)) { offer_.move_from = &v; }
    template <class U>
    send_case(channel<T>& ch, std::in_place_t, U&& v, Fn fn)
        : ch_(ch), fn_(std::move(fn)), own_(std::in_place, std::forward<U>(v)) {
        offer_.move_from = &*own_;
    }
    send_case(const send_case&) = delete;
    send_case& operator=(const send_case&) = delete;

    // --- select's side ---
    // poll() hands the value to a parked receiver or the buffer if that needs
    // no wait. A closed channel is ready: taking this case throws
    // weft::channel_closed, as send() would (Go's select panics there).
    bool poll() {
        offer_.taken = false;
        closed_ = ch_.closed();
        if (closed_) return true;
        if constexpr (std::is_copy_constructible_v<T>)
            if (offer_.copy_from) return ch_.try_send(*offer_.copy_from);
        return ch_.try_send(std::move(*offer_.move_from));
    }
    // link(w) queues w as one of the channel's senders, holding out the offer
    // a receiver takes the value from.
    void link(detail::waiter& w) noexcept {
        w.slot = &offer_;
        detail::channel_access<T>::senders(ch_).push_back(w);
    }
    bool fired() const noexcept { return offer_.taken; }
    void run() {
        if (closed_) throw channel_closed();
        std::invoke(fn_);
    }

private:
    channel<T>& ch_;
    Fn fn_;
    std::optional<T> own_;  // the converted value, when the argument was not a T
    detail::offer<T> offer_;
    bool closed_ = false;
};

// timer_case: a deadline (weft::after, weft::at).
template <class Fn>
class timer_case {
public:
    static constexpr detail::case_kind kind = detail::case_kind::timer;

    timer_case(deadline at, Fn fn) : at_(at), fn_(std::move(fn)) {}
    timer_case(const timer_case&) = delete;
    timer_case& operator=(const timer_case&) = delete;

    deadline when() const noexcept { return at_; }
    void run() { std::invoke(fn_); }

private:
    deadline at_;
    Fn fn_;
};

// fallback_case: what to do when nothing is ready (weft::otherwise).
template <class Fn>
class fallback_case {
public:
    static constexpr detail::case_kind kind = detail::case_kind::fallback;

    explicit fallback_case(Fn fn) : fn_(std::move(fn)) {}
    fallback_case(const fallback_case&) = delete;
    fallback_case& operator=(const fallback_case&) = delete;

    void run() { std::invoke(fn_); }

private:
    Fn fn_;
};

// recv(ch, fn): receive from ch; fn gets the value, or std::nullopt once ch
// is closed and drained.
template <class T, class Fn>
requires std::invocable < std::decay_t<Fn>
&, std::optional<T>&& > [[nodiscard]] recv_case<T, std::decay_t<Fn>> recv(channel<T>& ch, Fn&& fn) {
    return recv_case<T, std::decay_t<Fn>>(ch, std::forward<Fn>(fn));
}

// send(ch, v, fn): send v into ch, then call fn(). v is copied (an lvalue) or
// moved (an rvalue) only if this case is the one taken; otherwise it is left
// as it was. A value of another type is converted to T first. fn may be left
// out.
template <class T, class U, class Fn>
requires std::constructible_from<T, U&&> && std::invocable < std::decay_t<Fn>
& > [[nodiscard]] send_case<T, std::decay_t<Fn>> send(channel<T>& ch, U&& v, Fn&& fn) {
    using S = send_case<T, std::decay_t<Fn>>;
    constexpr bool a_T = std::is_same_v<std::remove_cvref_t<U>, T>;
    if constexpr (a_T && std::is_lvalue_reference_v<U>) {
        static_assert(std::is_copy_constructible_v<T>,
                      "weft::send(ch, v, ...) copies v when taken; pass std::move(v) for a "
                      "move-only T");
        return S(ch, static_cast<const T&>(v), std::forward<Fn>(fn));
    } else if constexpr (a_T && !std::is_const_v<std::remove_reference_t<U>>) {
        return S(ch, static_cast<T&&>(v), std::forward<Fn>(fn));
    } else {
        return S(ch, std::in_place, std::forward<U>(v), std::forward<Fn>(fn));
    }
}

template <class T, class U>
requires std::constructible_from<T, U&&>
[[nodiscard]] send_case<T, detail::do_nothing> send(channel<T>& ch, U&& v) {
    return send(ch, std::forward<U>(v), detail::do_nothing{});
}

// after(d, fn): when nothing else was taken within d of the select() call,
// call fn(). A deadline already passed makes select() a poll.
template <class Rep, class Period, class Fn = detail::do_nothing>
requires std::invocable < std::decay_t<Fn>
& > [[nodiscard]] timer_case<std::decay_t<Fn>> after(std::chrono::duration<Rep, Period> d, Fn&& fn = {}) {
    return timer_case<std::decay_t<Fn>>(deadline_after(d), std::forward<Fn>(fn));
}

// at(t, fn): after() with an absolute deadline.
template <class Fn = detail::do_nothing>
requires std::invocable < std::decay_t<Fn>
& > [[nodiscard]] timer_case<std::decay_t<Fn>> at(deadline t, Fn&& fn = {}) {
    return timer_case<std::decay_t<Fn>>(t, std::forward<Fn>(fn));
}

// otherwise(fn): Go's `default:` — call fn() at once when no other case is
// ready, so select() never parks.
template <class Fn = detail::do_nothing>
requires std::invocable < std::decay_t<Fn>
& > [[nodiscard]] fallback_case<std::decay_t<Fn>> otherwise(Fn&& fn = {}) {
    return fallback_case<std::decay_t<Fn>>(std::forward<Fn>(fn));
}

namespace detail {

template <class C>
struct is_select_case : std::false_type {};
template <class T, class Fn>
struct is_select_case<recv_case<T, Fn>> : std::true_type {};
template <class T, class Fn>
struct is_select_case<send_case<T, Fn>> : std::true_type {};
template <class Fn>
struct is_select_case<timer_case<Fn>> : std::true_type {};
template <class Fn>
struct is_select_case<fallback_case<Fn>> : std::true_type {};

template <class... C>
constexpr std::size_t first_of(case_kind k) {
    constexpr case_kind kinds[] = {C::kind...};
    for (std::size_t i = 0; i < sizeof...(C); ++i)
        if (kinds[i] == k) return i;
    return sizeof...(C);
}

template <class C>
bool poll_case(C& c) {
    if constexpr (C::kind == case_kind::channel)
        return c.poll();
    else
        return false;
}

template <class C>
void link_case(C& c, waiter& w) noexcept {
    if constexpr (C::kind == case_kind::channel) c.link(w);
}

template <class C>
bool fired_case(const C& c) noexcept {
    if constexpr (C::kind == case_kind::channel)
        return c.fired();
    else
        return false;
}

template <class C>
deadline deadline_of(const C& c) noexcept {
    if constexpr (C::kind == case_kind::timer)
        return c.when();
    else
        return never;
}

template <std::size_t... I, class... C>
std::size_t select_impl(std::index_sequence<I...>, C&... c) {
    constexpr std::size_t n = sizeof...(C);
    constexpr std::size_t timer_at = first_of<C...>(case_kind::timer);
    constexpr std::size_t fallback_at = first_of<C...>(case_kind::fallback);
    select_begin();
    const deadline until = std::min({deadline_of(c)...});
    // run_at(k) runs case k's handler and returns k (as a constant the
    // compiler can see is below n).
    auto run_at = [&](std::size_t k) -> std::size_t {
        std::size_t r = n;
        ((k == I ? (c.run(), r = I, true) : false) || ...);
        if (r == n) __builtin_unreachable();  // k is always a case's index
        return r;
    };

    for (;;) {
        // 1. Every channel case, in a fresh random order: the first ready one
        //    in a uniform permutation is uniform among the ready ones.
        std::array<std::uint8_t, n> order;
        select_shuffle(order.data(), n);
        for (std::uint8_t k : order) {
            bool ready = false;
            ((k == I ? (ready = poll_case(c), true) : false) || ...);
            if (ready) return run_at(k);
        }
        // 2. A deadline that has passed; 3. the fallback.
        if constexpr (timer_at < n) {
            if (until <= clock::now()) return run_at(timer_at);
        }
        if constexpr (fallback_at < n) return run_at(fallback_at);
        // 4. Wait on every channel at once: a waiter in each one's list; the
        //    first to unpark this fiber hands its value over, the others find
        //    it no longer parked and pass it by (see docs/internals.md).
        std::size_t taken = n;
        wake_reason why;
        {
            std::array<waiter, n> ws;  // unlinked by their destructors, however the park ends
            (link_case(c, ws[I]), ...);
            why = park_or_throw({"select"}, until, "weft::select");
            ((fired_case(c) ? (taken = I, true) : false) || ...);
        }
        if (taken < n) return run_at(taken);
        if constexpr (timer_at < n) {
            if (why == wake_reason::timed_out) return run_at(timer_at);
        }
        // Woken with nothing handed over (a close, or a hand-over whose copy
        // threw): look again.
    }
}

}  // namespace detail

// select(cases...) waits until one of the cases can proceed, performs it,
// runs its handler, and returns its index in the argument list, as Go's
// select does:
//
//     std::size_t i = weft::select(
//         weft::recv(jobs, [&](std::optional<job> j) { ... }),    // nullopt: jobs was closed
//         weft::send(results, r, [&] { ++sent; }),
//         weft::after(100ms, [&] { ... }));                      // nothing within 100 ms
//
// - When several channel cases are ready, one is chosen at random, each with
//   the same chance. A ready channel case wins over a deadline that has also
//   passed, and the fallback (otherwise) runs only when nothing is ready.
// - A closed channel counts as ready: its recv case gets std::nullopt (once
//   the buffered values are drained); taking a send case on it throws
//   weft::channel_closed.
// - Nothing is taken from or given to a channel whose case was not chosen;
//   a send case's value is left as it was.
// - The handler runs after select() has stopped waiting, so it may block.
//   What it throws comes out of select().
// - At most one timer case (after/at) and one otherwise case.
//
// Throws weft::cancelled, weft::timeout_error (an enclosing with_timeout();
// an after() case is select's own and is not an error), and
// std::system_error(errc::no_scheduler) outside a fiber.
template <class... Cases>
requires(detail::is_select_case<std::remove_cvref_t<Cases>>::value&&...) std::size_t select(Cases&&... cases) {
    static_assert(sizeof...(Cases) > 0, "weft::select needs at least one case");
    static_assert(sizeof...(Cases) < 256, "weft::select takes fewer than 256 cases");
    static_assert(((std::remove_cvref_t<Cases>::kind == detail::case_kind::timer) + ...) <= 1,
                  "weft::select takes at most one after()/at() case");
    static_assert(((std::remove_cvref_t<Cases>::kind == detail::case_kind::fallback) + ...) <= 1,
                  "weft::select takes at most one otherwise() case");
    return detail::select_impl(std::index_sequence_for<Cases...>{}, cases...);
}

}  // namespace weft
