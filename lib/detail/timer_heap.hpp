// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/timeout.hpp"

namespace weft::detail {

// timer is an intrusive entry of the scheduler's timer heap; its owner (a
// parked fiber, the DNS glue) keeps it alive while it is armed.
struct timer {
    static constexpr std::size_t unarmed = static_cast<std::size_t>(-1);

    deadline when{};
    std::uint64_t seq = 0;           // arming order: equal deadlines fire FIFO
    std::size_t index = unarmed;     // position in the heap while armed
    void (*fire)(timer&) = nullptr;  // called by the loop when `when` has passed
    void* owner = nullptr;           // for fire()

    bool armed() const noexcept { return index != unarmed; }
};

// timer_heap is a binary min-heap on (when, seq) with O(log n) removal: a
// million sleepers cost one entry each and no allocation per sleep. Each
// entry holds its timer's key beside the pointer, so ordering reads only the
// heap's own array: with the key behind the pointer, removing one of 10,000
// armed timers (every wake-up before its deadline does) read some 26 timers
// in as many cold fiber blocks. What a move still writes to a timer is its
// index.
class timer_heap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    timer* top() const noexcept { return heap_.front().t; }
    deadline top_when() const noexcept { return heap_.front().when; }

    void push(timer& t, deadline when) {
        t.when = when;
        t.seq = next_seq_++;
        t.index = heap_.size();
        heap_.push_back({when, t.seq, &t});
        sift_up(t.index);
    }

    void erase(timer& t) noexcept {
        std::size_t i = t.index;
        t.index = timer::unarmed;
        const entry last = heap_.back();
        heap_.pop_back();
        if (last.t == &t) return;
        heap_[i] = last;
        last.t->index = i;
        sift_down(i);
        sift_up(last.t->index);
    }

private:
    struct entry {
        deadline when;
        std::uint64_t seq;
        timer* t;
    };
    static bool before(const entry& a, const entry& b) noexcept {
        return a.when < b.when || (a.when == b.when && a.seq < b.seq);
    }
    void place(std::size_t i, const entry& e) noexcept {
        heap_[i] = e;
        e.t->index = i;
    }
    void sift_up(std::size_t i) noexcept {
        const entry e = heap_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!before(e, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, e);
    }
    void sift_down(std::size_t i) noexcept {
        const entry e = heap_[i];
        const std::size_t n = heap_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
            if (!before(heap_[child], e)) break;
            place(i, heap_[child]);
            i = child;
        }
        place(i, e);
    }

    std::vector<entry> heap_;
    std::uint64_t next_seq_ = 0;
};

}  // namespace weft::detail
