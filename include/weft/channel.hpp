// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/timeout.hpp"

namespace weft {

namespace detail {

// channel_access<T> is weft::select's door to a channel's wait lists
// (weft/select.hpp): select links its own waiters there, as recv() and send()
// do, so that one fiber can wait on several channels at once.
template <class T>
struct channel_access;

// ring is the fixed-capacity FIFO behind a bounded channel: one allocation,
// made with the channel, and none per message.
template <class T>
class ring {
public:
    explicit ring(std::size_t capacity)
        : cap_(capacity), data_(capacity ? std::allocator<T>().allocate(capacity) : nullptr) {}
    ~ring() {
        while (size_ > 0) pop_front();
        if (data_) std::allocator<T>().deallocate(data_, cap_);
    }
    ring(const ring&) = delete;
    ring& operator=(const ring&) = delete;

    std::size_t capacity() const noexcept { return cap_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    bool full() const noexcept { return size_ == cap_; }
    T& front() noexcept { return data_[head_]; }

    // emplace_back() constructs at the back; on a throw the ring is unchanged.
    template <class... Args>
    void emplace_back(Args&&... args) {
        std::size_t i = cap_ - head_ > size_ ? head_ + size_ : size_ - (cap_ - head_);
        std::construct_at(data_ + i, std::forward<Args>(args)...);
        ++size_;
    }

    void pop_front() noexcept {
        std::destroy_at(data_ + head_);
        if (++head_ == cap_) head_ = 0;
        --size_;
    }

private:
    std::size_t cap_;
    T* data_;  // cap_ slots; [head_, head_ + size_) mod cap_ hold values
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

// offer is what a parked sender holds out through its waiter's slot: its own
// argument, not yet moved, so a send that ends without a taker loses nothing.
template <class T>
struct offer {
    const T* copy_from = nullptr;  // set when the caller passed const T&
    T* move_from = nullptr;        // set when the caller passed T&&
    bool taken = false;            // set by the receiver once the value is out

    // hand_over(put) calls put(value) with the value copied or moved out.
    template <class Put>
    void hand_over(Put&& put) {
        if constexpr (std::is_copy_constructible_v<T>) {
            if (copy_from) {
                put(*copy_from);
                taken = true;
                return;
            }
        }
        put(std::move(*move_from));
        taken = true;
    }
};

}  // namespace detail

// channel<T> passes values between fibers in FIFO order, like a Go channel.
// capacity 0 makes a rendezvous channel (send() waits until a receiver takes
// the value); capacity N buffers up to N values (send() waits while full).
//
// Values are handed over directly: a sender that finds a parked receiver puts
// the value into that receiver's hands, a receiver that finds a parked sender
// takes its value, so nothing is copied through the buffer needlessly and
// nobody barges ahead of a parked fiber. Senders and receivers are each woken
// in FIFO order. Every wait is a cancellation point (weft::cancelled) and
// honours an enclosing with_timeout() (weft::timeout_error).
//
// close() ends the stream: senders get weft::channel_closed, receivers get the
// values still buffered and then std::nullopt. `for (auto v : ch)` receives
// until then. T may be move-only.
//
// A channel belongs to the fibers of one weft::run(); it is neither copyable
// nor movable, and destroying it while fibers wait on it is a bug.
template <class T>
class channel {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && std::is_move_constructible_v<T>,
                  "channel<T> needs a non-const, move-constructible object type");

public:
    class iterator;

    // channel(capacity) makes an open, empty channel; 0 means rendezvous.
    explicit channel(std::size_t capacity = 0) : buf_(capacity) {}
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    // send(v) delivers v, parking while no receiver and no buffer room is
    // there. Throws weft::channel_closed if the channel is or gets closed (v
    // is left untouched then), weft::cancelled, weft::timeout_error (an
    // enclosing with_timeout()), and std::system_error(errc::no_scheduler)
    // outside a fiber — every time, even when there is room.
    void send(const T& v) requires std::is_copy_constructible_v<T> { send_impl(v, never, "weft::channel::send"); }
    void send(T&& v) { send_impl(std::move(v), never, "weft::channel::send"); }

    // send_until(v, at) is send() that gives up at `at`: false then, v untouched.
    bool send_until(const T& v, deadline at) requires std::is_copy_constructible_v<T> {
        return send_impl(v, at, "weft::channel::send_until");
    }
    bool send_until(T&& v, deadline at) { return send_impl(std::move(v), at, "weft::channel::send_until"); }

    // send_for(v, d) is send_until(v, now + d).
    template <class Rep, class Period>
    bool send_for(const T& v, std::chrono::duration<Rep, Period> d) requires std::is_copy_constructible_v<T> {
        return send_impl(v, deadline_after(d), "weft::channel::send_for");
    }
    template <class Rep, class Period>
    bool send_for(T&& v, std::chrono::duration<Rep, Period> d) {
        return send_impl(std::move(v), deadline_after(d), "weft::channel::send_for");
    }

    // try_send(v) delivers v if that needs no wait (a receiver is parked or the
    // buffer has room); false when it would wait or the channel is closed. v
    // is moved from only when it returns true. It never parks, so it works
    // outside a fiber too (to fill a channel before weft::run()).
    template <class U = T>
    requires std::is_constructible_v<T, U&&>
    bool try_send(U&& v) { return !closed_ && put_now(std::forward<U>(v)); }

    // recv() takes the next value, parking while there is none; std::nullopt
    // once the channel is closed and drained. Throws weft::cancelled,
    // weft::timeout_error (an enclosing with_timeout()), and
    // std::system_error(errc::no_scheduler) outside a fiber — every time,
    // even when a value is there.
    std::optional<T> recv() { return recv_impl(never, "weft::channel::recv"); }

    // recv_until(at) is recv() that gives up at `at`: std::nullopt then too
    // (closed() tells the two apart).
    std::optional<T> recv_until(deadline at) { return recv_impl(at, "weft::channel::recv_until"); }

    // recv_for(d) is recv_until(now + d).
    template <class Rep, class Period>
    std::optional<T> recv_for(std::chrono::duration<Rep, Period> d) {
        return recv_impl(deadline_after(d), "weft::channel::recv_for");
    }

    // try_recv() takes the next value if one is buffered or a sender is
    // parked; std::nullopt otherwise. Never parks, so it works outside a
    // fiber too.
    std::optional<T> try_recv() {
        if (!buf_.empty()) {
            std::optional<T> v(std::in_place, std::move(buf_.front()));
            buf_.pop_front();
            // The first parked sender's value goes to the back of the buffer,
            // behind everything sent before it.
            if (detail::waiter* s = send_waiters_.wake_one())
                offer_of(s).hand_over([this](auto&& x) { buf_.emplace_back(std::forward<decltype(x)>(x)); });
            return v;
        }
        std::optional<T> v;
        if (detail::waiter* s = send_waiters_.wake_one())
            offer_of(s).hand_over([&v](auto&& x) { v.emplace(std::forward<decltype(x)>(x)); });
        return v;
    }

    // close() closes the channel: parked senders throw weft::channel_closed,
    // parked receivers drain what is buffered and then get std::nullopt, and
    // every later send fails. Closing twice does nothing.
    void close() noexcept {
        closed_ = true;
        recv_waiters_.wake_all();
        send_waiters_.wake_all();
    }

    // closed() is true once close() was called (values may still be buffered).
    bool closed() const noexcept { return closed_; }
    // size() is the number of buffered values.
    std::size_t size() const noexcept { return buf_.size(); }
    // capacity() is the buffer's size, 0 for a rendezvous channel.
    std::size_t capacity() const noexcept { return buf_.capacity(); }

    // begin() receives the first value; the range ends when recv() returns
    // std::nullopt. Receiving may throw as recv() does.
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    friend struct detail::channel_access<T>;

    static detail::offer<T>& offer_of(detail::waiter* w) noexcept { return *static_cast<detail::offer<T>*>(w->slot); }

    // put_now() hands v to a parked receiver or buffers it; false when neither
    // can be done now (v is untouched then).
    template <class U>
    bool put_now(U&& v) {
        // A receiver parks only on an empty buffer, so giving it v keeps FIFO.
        if (detail::waiter* r = recv_waiters_.wake_one()) {
            static_cast<std::optional<T>*>(r->slot)->emplace(std::forward<U>(v));
            return true;
        }
        if (buf_.full()) return false;
        buf_.emplace_back(std::forward<U>(v));
        return true;
    }

    // V is const T& or T: the caller's argument is only read or moved by the
    // fiber that finally takes it.
    template <class V>
    bool send_impl(V&& v, deadline at, const char* op) {
        detail::require_fiber(op);
        for (;;) {
            if (closed_) throw channel_closed();
            if (put_now(std::forward<V>(v))) return true;
            detail::offer<T> o;
            if constexpr (std::is_const_v<std::remove_reference_t<V>>)
                o.copy_from = &v;
            else
                o.move_from = &v;
            detail::waiter w(&o);
            send_waiters_.push_back(w);
            detail::wake_reason why = detail::park_or_throw({"channel send", this}, at, op);
            if (o.taken) return true;
            if (why == detail::wake_reason::timed_out) return false;
            // woken by close() (thrown above), or by a taker whose copy threw: retry
        }
    }

    std::optional<T> recv_impl(deadline at, const char* op) {
        detail::require_fiber(op);
        for (;;) {
            if (std::optional<T> v = try_recv()) return v;
            if (closed_) return std::nullopt;
            std::optional<T> slot;  // a sender fills it before unparking us
            detail::wake_reason why;
            {
                detail::waiter w(&slot);
                recv_waiters_.push_back(w);
                why = detail::park_or_throw({"channel recv", this}, at, op);
            }
            if (slot) return slot;
            if (why == detail::wake_reason::timed_out) return std::nullopt;
            // woken by close(), or by a sender whose copy threw: look again
        }
    }

    detail::ring<T> buf_;
    detail::wait_list recv_waiters_;  // slot -> std::optional<T> on the receiver's stack
    detail::wait_list send_waiters_;  // slot -> detail::offer<T> on the sender's stack
    bool closed_ = false;
};

// channel<T>::iterator is the input iterator behind `for (auto v : ch)`: each
// step calls recv(), and it equals end() once recv() returned std::nullopt.
template <class T>
class channel<T>::iterator {
public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T&;

    iterator() = default;
    explicit iterator(channel* ch) : ch_(ch) { ++*this; }

    T& operator*() const { return *value_; }
    T* operator->() const { return &*value_; }

    // ++it receives the next value (parking as recv() does).
    iterator& operator++() {
        value_.reset();
        if (std::optional<T> v = ch_->recv()) value_.emplace(std::move(*v));
        return *this;
    }
    void operator++(int) { ++*this; }

    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.value_; }

private:
    channel* ch_ = nullptr;
    mutable std::optional<T> value_;  // the current value; mutable: *it hands out T&
};

}  // namespace weft
