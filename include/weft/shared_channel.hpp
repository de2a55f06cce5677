// SPDX-License-Identifier: MIT
// shared_channel<T>: a channel between threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/cross_wait.hpp"
#include "weft/errors.hpp"
#include "weft/timeout.hpp"

namespace weft {

namespace detail {
// destroyed_with_cross_waiters() reports a shared object destroyed while
// fibers or threads wait on it, and aborts: they would wake into freed memory.
[[noreturn, gnu::cold]] void destroyed_with_cross_waiters(const char* what) noexcept;
}  // namespace detail

// shared_channel<T> is channel<T> for fibers of different threads (each in
// its own run(), or the threads of one run(run_options{.threads = N})) and
// for plain threads (a to_thread job, a thread of your own): the same calls,
// the same meaning. It is a distinct type so that channel<T>, which never
// leaves its thread, keeps its speed: this one takes a mutex on every call,
// and a wake-up crosses threads through the waiter's loop (an eventfd write
// only if that loop sleeps).
//
// A fiber that waits parks only itself; a plain thread blocks. Cancellation
// and with_timeout() apply to fibers, as on channel<T>. capacity 0 is a
// rendezvous: send() returns once a receiver has the value. T must be
// nothrow move-constructible (values move under the channel's lock).
template <class T>
class shared_channel {
public:
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && std::is_nothrow_move_constructible_v<T>,
                  "shared_channel<T> needs a nothrow move-constructible object type");

    explicit shared_channel(std::size_t capacity = 0) : cap_(capacity) {}
    shared_channel(const shared_channel&) = delete;
    shared_channel& operator=(const shared_channel&) = delete;
    // Destroying it while anyone waits on it is reported on stderr, and aborts.
    ~shared_channel() {
        if (!senders_.empty() || !receivers_.empty()) [[unlikely]]
            detail::destroyed_with_cross_waiters("weft::shared_channel");
    }

    // send(v) waits for room (capacity 0: for a receiver) and hands v over.
    // Throws weft::channel_closed once closed (v is lost then), and
    // weft::cancelled / timeout_error for a fiber interrupted while it waits.
    void send(T v) { send_impl(std::move(v), never); }
    // send_until(v, at) is send(v) that gives up at `at`: false then.
    bool send_until(T v, deadline at) { return send_impl(std::move(v), at); }
    template <class Rep, class Period>
    bool send_for(T v, std::chrono::duration<Rep, Period> d) {
        return send_impl(std::move(v), deadline_after(d));
    }
    // try_send(v) sends only if it need not wait: false when full (or no
    // receiver waits, at capacity 0) or closed. Never throws channel_closed.
    bool try_send(T v) {
        std::unique_lock lock(m_);
        if (closed_) return false;
        return put_now(v, lock);
    }

    // recv() waits for a value; std::nullopt once the channel is closed and
    // drained. Throws weft::cancelled / timeout_error for a fiber interrupted
    // while it waits.
    std::optional<T> recv() { return recv_impl(never); }
    // recv_until(at) is recv() that gives up at `at`: std::nullopt then too.
    std::optional<T> recv_until(deadline at) { return recv_impl(at); }
    template <class Rep, class Period>
    std::optional<T> recv_for(std::chrono::duration<Rep, Period> d) {
        return recv_impl(deadline_after(d));
    }
    // try_recv() takes a value only if one is there now.
    std::optional<T> try_recv() {
        std::unique_lock lock(m_);
        return take_now(lock);
    }

    // close() ends the channel: values buffered can still be received, then
    // recv() gives std::nullopt; waiting senders throw weft::channel_closed,
    // waiting receivers get std::nullopt. Safe to call more than once.
    void close() {
        std::unique_lock lock(m_);
        if (closed_) return;
        closed_ = true;
        detail::cross_waiter* woken = nullptr;  // chained through remote_work::next until woken
        auto take_all = [&](detail::cross_list& l) {
            while (detail::cross_waiter* w = l.take_front()) {
                w->status = closed_status;
                w->next = woken;
                woken = w;
            }
        };
        take_all(receivers_);
        take_all(senders_);
        lock.unlock();
        while (woken) {
            detail::cross_waiter* w = woken;
            woken = static_cast<detail::cross_waiter*>(w->next);
            w->next = nullptr;
            detail::cross_wake(w);
        }
    }

    bool is_closed() const {
        std::lock_guard lock(m_);
        return closed_;
    }
    std::size_t capacity() const noexcept { return cap_; }
    // size() is the number of values buffered now (a snapshot).
    std::size_t size() const {
        std::lock_guard lock(m_);
        return buf_.size();
    }

private:
    static constexpr int closed_status = 1;

    // put_now() hands v to a waiting receiver or buffers it; false if it
    // would have to wait. Unlocks when it wakes someone.
    bool put_now(T& v, std::unique_lock<std::mutex>& lock) {
        if (detail::cross_waiter* r = receivers_.take_front()) {  // only while nothing is buffered
            static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
            lock.unlock();
            detail::cross_wake(r);
            return true;
        }
        if (buf_.size() < cap_) {
            buf_.push_back(std::move(v));
            return true;
        }
        return false;
    }

    // take_now() takes the oldest value: from the buffer (then lets a waiting
    // sender's value in), or straight from a waiting sender at capacity 0.
    std::optional<T> take_now(std::unique_lock<std::mutex>& lock) {
        std::optional<T> v;
        if (!buf_.empty()) {
            v.emplace(std::move(buf_.front()));
            buf_.pop_front();
            if (detail::cross_waiter* s = senders_.take_front()) {
                buf_.push_back(std::move(*static_cast<T*>(s->slot)));
                lock.unlock();
                detail::cross_wake(s);
            }
        } else if (detail::cross_waiter* s = senders_.take_front()) {
            v.emplace(std::move(*static_cast<T*>(s->slot)));
            lock.unlock();
            detail::cross_wake(s);
        }
        return v;
    }

    bool send_impl(T&& v, deadline at) {
        std::unique_lock lock(m_);
        if (closed_) throw channel_closed();
        if (put_now(v, lock)) return true;
        detail::cross_waiter w;
        w.slot = &v;
        senders_.push_back(w);
        detail::wake_reason why = detail::cross_wait(w, lock, at, "shared_channel send");
        lock.unlock();
        if (why == detail::wake_reason::ready) {
            if (w.status == closed_status) throw channel_closed();
            return true;
        }
        detail::throw_if_interrupted(why);
        return false;
    }

    std::optional<T> recv_impl(deadline at) {
        std::unique_lock lock(m_);
        if (std::optional<T> v = take_now(lock)) return v;
        if (closed_) return std::nullopt;
        std::optional<T> got;
        detail::cross_waiter w;
        w.slot = &got;
        receivers_.push_back(w);
        detail::wake_reason why = detail::cross_wait(w, lock, at, "shared_channel recv");
        lock.unlock();
        if (why != detail::wake_reason::ready) detail::throw_if_interrupted(why);
        return got;  // empty when closed, or when `at` passed
    }

    mutable std::mutex m_;
    const std::size_t cap_;
    std::deque<T> buf_;             // at most cap_ values
    detail::cross_list senders_;    // waiting only while buf_ is full (or cap_ == 0)
    detail::cross_list receivers_;  // waiting only while buf_ is empty
    bool closed_ = false;
};

}  // namespace weft
