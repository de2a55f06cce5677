// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "detail/fiber.hpp"
#include "detail/side_stack.hpp"
#include "weft/detail/assert.hpp"
#include "detail/stack_pool.hpp"
#include "detail/timer_heap.hpp"

namespace weft::detail {

class scheduler;
// The only global: this thread's scheduler. initial-exec keeps the access a
// single load even when weft is a shared library.
extern constinit thread_local scheduler* tls_scheduler __attribute__((tls_model("initial-exec")));

// coarse_now() is CLOCK_MONOTONIC_COARSE in nanoseconds: the kernel's last
// tick, read from the vDSO without the TSC (one tick, 1-4 ms, of
// resolution). The first park() of each turn of the loop reads it, the
// others copy it, so that weft::dump can say how long a fiber has waited
// at the price of one read per turn, and none in a turn without a park.
std::int64_t coarse_now() noexcept;

[[noreturn, gnu::cold]] void throw_cancelled();
// throw_outside_fiber() throws std::system_error(errc::no_scheduler):
// "<what> must be called inside a fiber". Defined in this_fiber.cpp.
[[noreturn, gnu::cold]] void throw_outside_fiber(const char* what);

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
    // io_budget is how many I/O calls in a row a fiber may complete without
    // parking before it must let the others run (Tokio's cooperative budget).
    static constexpr std::uint32_t io_budget = 128;
    // woken_stack_lines is how many cache lines of a woken fiber's stack,
    // from where its switch saved its registers up, unpark() prefetches:
    // 2 KiB, the frames an HTTP GET unwinds through after a read parked it.
    static constexpr int woken_stack_lines = 32;

    scheduler();
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    // current() is this thread's scheduler, or nullptr outside weft::run().
    static scheduler* current() noexcept { return tls_scheduler; }

    // running() is the fiber now running, or nullptr on the loop.
    fiber* running() const noexcept { return running_ == &loop_ ? nullptr : running_; }

    // spawn() puts t on a new fiber at the back of the run queue. Throws
    // std::system_error(errc::no_stack); t is untouched then.
    void spawn(task_base* t, spawn_options&& opts);
    // yield() requeues the running fiber behind the ready ones; throws
    // weft::cancelled if it was cancelled. The hot path: all of it is inline.
    void yield() {
        fiber* self = running_;
        fiber* next = ready_head_;
        if (self->cancel_requested || !next || budget_ == 0) return yield_slow();
        --budget_;
        mark_queued(self, true);
        mark_queued(next, false);
        self->next_ready = nullptr;  // self goes behind the others, next leaves the front
        if (fiber* second = next->next_ready) {
            ready_head_ = second;
            ready_tail_->next_ready = self;
        } else {
            ready_head_ = self;
        }
        ready_tail_ = self;
        switch_to(next);
    }
    // io_turn() is called by every I/O call (socket, TLS, DNS) before it
    // starts. A fiber whose calls keep completing without parking (a peer
    // that always has data) would never give the others a turn, nor let the
    // loop poll; after io_budget such calls in a row it goes behind the
    // ready fibers, through the loop. A counter on the hot path; never throws
    // (cancellation is for the call's own park to deliver).
    void io_turn() noexcept {
        fiber* self = running_;
        if (++self->io_streak < io_budget) [[likely]]
            return;
        io_yield();
    }
    // park(): see weft/detail/park.hpp. An uninterruptible park ignores
    // cancel() (the cancel stays requested for the next park).
    wake_reason park(wait_desc what, deadline until, bool interruptible);
    // unpark() and cancel() refuse, in debug builds (no NDEBUG), a fiber of
    // another thread's scheduler: a single-thread object (channel, mutex,
    // task, ...) used from two threads would otherwise put one thread's
    // fiber in the other's run queue. They report it and abort.
    bool unpark(fiber* f, wake_reason why) noexcept;
    // cancel() requests cancellation of f and wakes it if it is parked.
    void cancel(fiber* f) noexcept;

    // --- the loop's side (run.cpp) ---
    // cancel_all() cancels every live fiber; from now on new fibers start cancelled.
    void cancel_all() noexcept;
    bool has_ready() const noexcept { return ready_head_ != nullptr; }
    std::size_t live() const noexcept { return live_; }
    // next_timer() is the earliest armed deadline, or `never`.
    deadline next_timer() const noexcept { return timers_.empty() ? never : timers_.top_when(); }
    // fire_due_timers() fires every timer due at `now`; returns how many.
    int fire_due_timers(deadline now);
    // run_ready() runs ready fibers until control comes back to the loop.
    void run_ready();
    // note_time() records the time after the loop slept (a syscall's worth
    // of time has passed; one vDSO read more is nothing beside it), so that
    // a debugger reading a stopped process sees a recent loop_time_.
    void note_time() noexcept { loop_time_ = coarse_now(); }
    // parked_report() lists every live fiber and what it waits on.
    std::string parked_report() const;
    // dump() writes every live fiber, its state, wait and resident stack (weft::dump).
    void dump(std::ostream& os) const;

    timer_heap& timers() noexcept { return timers_; }
    stack_pool& stacks() noexcept { return stacks_; }

    // on_side_stack() runs f() on this thread's side stack (side_stack.hpp)
    // when called on a fiber; on the caller's own stack on the loop, outside
    // weft::run, or when the side stack cannot be had. f must not switch.
    template <class F>
    static void on_side_stack(F&& f) {
        scheduler* s = tls_scheduler;
        if (s && s->running_ != &s->loop_ && s->side_.call(f, s->stacks_)) return;
        f();
    }

private:
    // A switch passes the suspending fiber's block as the jump's data, tagged
    // with ended_tag_ when that fiber has ended (see context.hpp).
    static constexpr std::uintptr_t ended_tag_ = 1;

    static void entry(transfer t);
    void yield_slow();
    void io_yield() noexcept;
    [[noreturn]] void finish(fiber* self) noexcept;
    void refused_in_teardown(fiber* self) noexcept;
    void run_body(fiber* self) noexcept;
    static void on_timer(timer& t);
    void landed_from_ended(fiber* from) noexcept;
    [[noreturn, gnu::cold]] void foreign_fiber(const fiber* f, const char* how) const noexcept;
    void check_owner(const fiber* f, const char* how) const noexcept {
#ifndef NDEBUG
        if (f->owner != this) [[unlikely]]
            foreign_fiber(f, how);
#else
        (void)f;
        (void)how;
#endif
    }
    void learn_loop_stack(const void* bottom, std::size_t size) noexcept;
    fiber* new_block();
    void delete_block(fiber* f) noexcept;

    // Whether a fiber is in the run queue is tracked (fiber::queued) only
    // under -Dassertions=true (WEFT_ASSERTIONS): its two stores per switch
    // cost a channel hand-off some 3% (bench: 33.5 -> 34.8 ns), too much for
    // every build without NDEBUG, benchmarks included. Elsewhere queued()
    // is false and its asserts fold away; push_ready's check against the
    // tail, free, still catches a fiber pushed twice in a row.
#if defined(WEFT_ASSERTIONS)
    static constexpr bool track_queued = true;
#else
    static constexpr bool track_queued = false;
#endif
    static bool queued([[maybe_unused]] const fiber* f) noexcept {
        if constexpr (track_queued) return f->queued;
        return false;
    }
    static void mark_queued([[maybe_unused]] fiber* f, [[maybe_unused]] bool queued) noexcept {
        if constexpr (track_queued) f->queued = queued;
    }

    void push_ready(fiber* f) noexcept {
        WEFT_ASSERT(!queued(f) && f != ready_tail_, "a fiber is in the run queue at most once");
        mark_queued(f, true);
        f->next_ready = nullptr;
        (ready_tail_ ? ready_tail_->next_ready : ready_head_) = f;
        ready_tail_ = f;
    }

    fiber* pop_ready() noexcept {
        fiber* f = ready_head_;
        ready_head_ = f->next_ready;
        if (fiber* next = ready_head_) {
            // While this one runs, the one after it is fetched: the block of
            // the one after that, and, when it comes from a park, the top of
            // its stack (its block came in at the pop before). unpark() fetched
            // those frames too, but with a thousand fibers woken together, the
            // fetch made for the last of them is often evicted by its turn. (A
            // fiber that only yielded ran lately: its lines are not fetched
            // again, a switch's cost.)
            if (next->woken) prefetch_stack(next);
            if (next->next_ready) __builtin_prefetch(next->next_ready);
        } else {
            ready_tail_ = nullptr;
        }
        mark_queued(f, false);
        f->woken = false;
        return f;
    }

    static void prefetch_stack(const fiber* f) noexcept {
        const char* top = static_cast<const char*>(f->ctx);
        for (int line = 0; line < woken_stack_lines; ++line) __builtin_prefetch(top + 64 * line);
    }

    // next_to_run() is the next ready fiber, or the loop when none is ready or
    // the budget of fiber-to-fiber switches is spent.
    fiber* next_to_run() noexcept {
        if (ready_head_ && budget_ > 0) {
            --budget_;
            return pop_ready();
        }
        return &loop_;
    }

    // land() runs first thing after every switch, on the fiber that resumed:
    // in entry() for a fiber's first run, in landed() for every later one.
    void land(transfer t) noexcept {
        const void* from_bottom = nullptr;
        std::size_t from_size = 0;
        running_->asan.finish(&from_bottom, &from_size);
        auto tag = reinterpret_cast<std::uintptr_t>(t.data);
        auto* from = reinterpret_cast<fiber*>(tag & ~ended_tag_);
        if (tag & ended_tag_) return landed_from_ended(from);  // it ran its last instruction
        from->ctx = t.fctx;
        if (asan_enabled && from == &loop_) learn_loop_stack(from_bottom, from_size);
    }

    // switch_to() suspends the running fiber and resumes `next`; it returns
    // when something switches back.
    void switch_to(fiber* next) noexcept {
        fiber* self = running_;
        WEFT_ASSERT(next != self, "a fiber never switches to itself: it is not in the run queue while it runs");
        running_ = next;
        swap_eh(self, next);
        if (!next->started) [[unlikely]]
            return launch(self, next, self, false);
        self->asan.start(next->asan_bottom, next->asan_size, false);
        next->tsan.enter();
        jump_ontop(next->ctx, self, &landed);  // lands in landed(), on next's stack
    }

    // launch() is the switch from `self` into a fiber that has never run: it
    // takes the stack reserved at spawn now, so that a fiber starting after
    // others ended runs on one they warmed, and enters entry(), which lands
    // itself. `from` is the jump's data, `dying` whether self has ended.
    void launch(fiber* self, fiber* next, void* from, bool dying) noexcept;
    // landed() is land() for a resumed fiber; the common case, a fiber that
    // suspended itself, is one store and needs not even the scheduler.
    static transfer landed(transfer t) noexcept {
        auto tag = reinterpret_cast<std::uintptr_t>(t.data);
        if (asan_enabled || (tag & ended_tag_)) [[unlikely]]
            tls_scheduler->land(t);
        else
            reinterpret_cast<fiber*>(tag)->ctx = t.fctx;
        return t;
    }

    void swap_eh(fiber* from, fiber* to) noexcept {
        void* g = eh_;
        __builtin_memcpy(&from->eh, g, sizeof(eh_state));
        __builtin_memcpy(g, &to->eh, sizeof(eh_state));
    }

    // What every switch and park touches comes first, in one cache line,
    // whatever the size of the loop's fiber block after it.
    void* eh_;  // this thread's __cxa_eh_globals (laid out as eh_state)
    fiber* running_ = &loop_;
    fiber* ready_head_ = nullptr;  // FIFO run queue, linked by next_ready
    fiber* ready_tail_ = nullptr;
    int budget_ = 0;              // fiber-to-fiber switches left before the loop runs
    bool time_read_ = false;      // this turn has read loop_time_ (run_ready() clears it)
    bool tearing_down_ = false;   // cancel_all() was called
    std::int64_t loop_time_ = 0;  // the latest coarse_now() read: by a turn's first park(), after a sleep
    fiber loop_;                  // the thread's own stack: runs the loop
    fiber* live_head_ = nullptr;  // every fiber not yet ended
    std::size_t live_ = 0;
    std::uint64_t last_id_ = 0;
    std::size_t launches_ = 0;  // fibers launched: picks each one's stack color (launch())
    timer_heap timers_;
    stack_pool stacks_;
    side_stack side_;  // given back to stacks_ by ~scheduler
    // Control blocks, carved from chunks of blocks_per_chunk_, kept for reuse.
    // free_blocks_' capacity covers every block made, so that giving one
    // back never allocates.
    static constexpr std::size_t blocks_per_chunk_ = 64;
    std::vector<fiber*> free_blocks_;
    std::vector<void*> block_chunks_;
};

}  // namespace weft::detail
