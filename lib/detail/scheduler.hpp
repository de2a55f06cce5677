// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "detail/fiber.hpp"
#include "detail/stack_pool.hpp"
#include "detail/timer_heap.hpp"

namespace weft::detail {

// scheduler owns this thread's fibers: the FIFO run queue, the timers, the
// stacks, and park/unpark. It knows nothing of file descriptors: the loop in
// run.cpp asks it what is ready and when the next timer is due, and polls the
// reactor in between.
//
// Switching: a fiber that parks, yields or ends switches straight to the next
// ready fiber; the loop (the thread's own stack, `loop_`) gets control back when
// the run queue is empty or after `poll_budget` fiber-to-fiber switches, so
// fibers woken by I/O and timers are never starved by busy yielders.
class scheduler {
public:
    static constexpr int poll_budget = 61;

    scheduler();
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    // current() is this thread's scheduler, or nullptr outside weft::run().
    static scheduler* current() noexcept;

    // running() is the fiber now running, or nullptr on the loop.
    fiber* running() const noexcept { return running_ == &loop_ ? nullptr : running_; }

    // spawn() puts t on a new fiber at the back of the run queue. Throws
    // std::system_error(errc::no_stack); t is untouched then.
    void spawn(task_base* t, spawn_options&& opts);
    // yield() requeues the running fiber behind the ready ones.
    void yield();
    // park(): see weft/detail/park.hpp. An uninterruptible park ignores
    // cancel() (the cancel stays requested for the next park).
    wake_reason park(wait_desc what, deadline until, bool interruptible);
    bool unpark(fiber* f, wake_reason why) noexcept;
    // cancel() requests cancellation of f and wakes it if it is parked.
    void cancel(fiber* f) noexcept;

    // --- the loop's side (run.cpp) ---
    // cancel_all() cancels every live fiber; from now on new fibers start cancelled.
    void cancel_all() noexcept;
    bool has_ready() const noexcept { return ready_head_ != nullptr; }
    std::size_t live() const noexcept { return live_; }
    // next_timer() is the earliest armed deadline, or `never`.
    deadline next_timer() const noexcept { return timers_.empty() ? never : timers_.top()->when; }
    // fire_due_timers() fires every timer due at `now`; returns how many.
    int fire_due_timers(deadline now);
    // run_ready() runs ready fibers until control comes back to the loop.
    void run_ready();
    // parked_report() lists every live fiber and what it waits on.
    std::string parked_report() const;

    timer_heap& timers() noexcept { return timers_; }
    stack_pool& stacks() noexcept { return stacks_; }

private:
    static void entry(transfer t);
    void land(transfer t) noexcept;
    void switch_to(fiber* next) noexcept;
    [[noreturn]] void finish(fiber* self) noexcept;
    void run_body(fiber* self) noexcept;
    fiber* next_to_run() noexcept;
    void push_ready(fiber* f) noexcept;
    fiber* pop_ready() noexcept;
    static void on_timer(timer& t);

    void swap_eh(fiber* from, fiber* to) noexcept {
        from->eh = *eh_;
        *eh_ = to->eh;
    }

    eh_state* eh_;                   // this thread's __cxa_eh_globals
    fiber loop_;                     // the thread's own stack: runs the loop
    fiber* running_ = &loop_;
    fiber* ready_head_ = nullptr;    // FIFO run queue, linked by next_ready
    fiber* ready_tail_ = nullptr;
    fiber* live_head_ = nullptr;     // every fiber not yet ended
    std::size_t live_ = 0;
    int budget_ = 0;                 // fiber-to-fiber switches left before the loop runs
    bool tearing_down_ = false;      // cancel_all() was called
    std::uint64_t last_id_ = 0;
    timer_heap timers_;
    stack_pool stacks_;
};

}  // namespace weft::detail
