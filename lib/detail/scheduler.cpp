// SPDX-License-Identifier: MIT
// Invariants:
//  - running_ is the fiber executing now (&loop_ on the loop); every other live
//    fiber is either in the run queue (ready) or parked, never both;
//  - a parked fiber's timer is armed iff its park() had a finite deadline, and
//    it is disarmed by whichever wake comes first (unpark() is that single door);
//  - a fiber's control block comes from the scheduler's pool of blocks, its
//    stack is reserved at spawn and taken at its first switch (launch()); both
//    are dead once the fiber's last switch lands: the landing side gives them back;
//  - the task_base outlives the fiber while the handle holds its reference.
#include "detail/activity.hpp"
#include "detail/scheduler.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <new>
#include <sstream>
#include <vector>

#include <sys/mman.h>
#include <time.h>

#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

// The only global: this thread's scheduler.
constinit thread_local scheduler* tls_scheduler = nullptr;

void scheduler::landed_from_ended(fiber* from) noexcept {
    from->tsan.destroy();
    stacks_.give(from->stk);
    delete_block(from);
}

namespace {
constexpr std::size_t stack_colors = 8;
constexpr std::size_t stack_color_step = 128;
}  // namespace

void scheduler::launch(fiber* self, fiber* next, void* from, bool dying) noexcept {
    stack s = stacks_.take_reserved(next->stk.size_class);
    next->stk = s;
    next->asan_bottom = s.bottom;
    next->asan_size = s.size;
    // Frames start a little below the top, by one of stack_colors steps in
    // turn: otherwise every fiber's hottest frames (the saved registers of
    // its switch, the frames of park or yield) sit at the same offset in
    // their page, and fibers switched among in turn run some 15% slower
    // (1,000 of them). A cache simulation (cachegrind) counts the same L1
    // misses either way: what pays is likely what the CPU tells apart by the low 12
    // bits of an address alone (4K aliasing between the stores that save one
    // fiber's registers and the loads that restore the next's, the L1 way
    // predictor). Photon's paper found the same. Steps of 128 bytes pay as
    // well as 256 did (7.2 vs 7.3 ns, 8.6 with none) and keep the offset
    // within 896 bytes, so that a whole HTTP GET (some 3 KiB of frames, the
    // parse on the side stack) fits in its stack's top page.
    const std::size_t offset = (launches_++ % stack_colors) * stack_color_step;
    next->ctx = make_context(s.top() - offset, s.size - offset, &entry);
    next->started = true;
    self->asan.start(s.bottom, s.size, dying);
    next->tsan.enter();
    jump(next->ctx, from);
}

namespace {
// Control blocks are 64-aligned and a whole number of cache lines, so no two
// share one (fiber.hpp's static_assert relies on the alignment).
constexpr std::size_t block_size = (sizeof(fiber) + 63) & ~std::size_t{63};
}  // namespace

fiber* scheduler::new_block() {
    if (free_blocks_.empty()) {
        block_chunks_.push_back(nullptr);
        free_blocks_.reserve(block_chunks_.size() * blocks_per_chunk_);
        void* chunk = ::operator new (blocks_per_chunk_* block_size, std::align_val_t{64});
        block_chunks_.back() = chunk;
        for (std::size_t i = blocks_per_chunk_; i-- > 0;)  // the lowest address is taken first
            free_blocks_.push_back(reinterpret_cast<fiber*>(static_cast<char*>(chunk) + i * block_size));
    }
    fiber* f = free_blocks_.back();
    free_blocks_.pop_back();
    return new (f) fiber;
}

void scheduler::delete_block(fiber* f) noexcept {
    f->~fiber();
    free_blocks_.push_back(f);  // within capacity (new_block)
}

void scheduler::learn_loop_stack(const void* bottom, std::size_t size) noexcept {
    loop_.asan_bottom = bottom;
    loop_.asan_size = size;
}

void throw_cancelled() { throw cancelled(); }

namespace {
void write_duration(std::ostream& os, std::int64_t ns);
}  // namespace

std::int64_t coarse_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// cxxabi.h keeps __cxa_eh_globals opaque; its head is stable ABI, mirrored by eh_state.
scheduler::scheduler() : eh_(abi::__cxa_get_globals()) {
    loop_.started = true;
    loop_.cancel_requested = true;  // see fiber::cancel_requested
    loop_.tsan.adopt_thread();
    loop_.owner = this;
    tls_scheduler = this;
}

scheduler::~scheduler() {
    side_.release(stacks_);
    for (void* chunk : block_chunks_)
        if (chunk) ::operator delete (chunk, std::align_val_t{64});
    tls_scheduler = nullptr;
}

void scheduler::entry(transfer t) {
    scheduler& s = *tls_scheduler;
    s.land(t);
    fiber* self = s.running_;
    s.run_body(self);
    s.finish(self);
}

void scheduler::run_body(fiber* self) noexcept {
    task_base* t = self->task;
    if (self->cancel_requested) {  // cancelled before it ever ran: the body never starts
        t->error = std::make_exception_ptr(cancelled());
        t->final_state = task_state::cancelled;
        return;
    }
    try {
        t->run_body();
        t->final_state = task_state::finished;
    } catch (const cancelled&) {
        t->error = std::current_exception();
        t->final_state = task_state::cancelled;
    } catch (...) {
        t->error = std::current_exception();
        t->final_state = task_state::failed;
    }
}

void scheduler::finish(fiber* self) noexcept {
    task_base* t = self->task;
    t->done = true;
    t->fib = nullptr;
    t->joiners.wake_all();
    if (t->detached && t->final_state == task_state::failed) report_failure(t, "(detached) ended with an exception");
    if (--t->refs == 0) delete t;

    (self->prev_live ? self->prev_live->next_live : live_head_) = self->next_live;
    if (self->next_live) self->next_live->prev_live = self->prev_live;
    --live_;

    fiber* next = next_to_run();
    running_ = next;
    __builtin_memcpy(eh_, &next->eh, sizeof(eh_state));
    void* from = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(self) | ended_tag_);
    if (!next->started) {
        launch(self, next, from, true);
    } else {
        self->asan.start(next->asan_bottom, next->asan_size, true);
        next->tsan.enter();
        jump_ontop(next->ctx, from, &landed);
    }
    __builtin_unreachable();  // the landing side gave this stack back
}

void scheduler::yield_slow() {
    fiber* self = running_;
    if (self == &loop_) throw_outside_fiber("weft::this_fiber::yield");
    if (self->cancel_requested) {
        if (tearing_down_) refused_in_teardown(self);
        throw_cancelled();
    }
    // Alone in the run queue, or out of budget: through the loop, so that due
    // timers fire and ready fds wake their fibers before this one runs again
    // (a lone yielder would otherwise hold them off for poll_budget yields).
    push_ready(self);
    switch_to(&loop_);
}

void scheduler::io_yield() noexcept {
    fiber* self = running_;
    self->io_streak = 0;
    if (self == &loop_) return;
    push_ready(self);
    switch_to(&loop_);
}

void scheduler::spawn(task_base* t, spawn_options&& opts) {
    // The stack is only promised now; the fiber takes it when it first runs (launch()).
    fiber* f = new_block();
    try {
        f->stk.size_class = stacks_.reserve(opts.stack_size);
    } catch (...) {
        delete_block(f);
        throw;
    }
    f->task = t;
    f->owner = this;
    f->tsan.create();
    f->cancel_requested = tearing_down_;

    t->id = ++last_id_;
    t->name = std::move(opts.name);
    t->fib = f;

    f->next_live = live_head_;
    if (live_head_) live_head_->prev_live = f;
    live_head_ = f;
    ++live_;
    push_ready(f);
}

wake_reason scheduler::park(wait_desc what, deadline until, bool interruptible) {
    fiber* self = running_;
    if (self == &loop_) throw std::system_error(make_error_code(errc::no_scheduler), "weft: the loop cannot park");
    WEFT_ASSERT(!self->parked && !queued(self), "a running fiber is neither parked nor in the run queue");
    WEFT_ASSERT(!side_.busy(), "a call on the side stack never switches fibers");
    if (interruptible && self->cancel_requested) {
        if (tearing_down_) refused_in_teardown(self);
        return wake_reason::cancelled;
    }
    // An uninterruptible park (waiting for a dropped task to unwind, re-locking
    // a mutex) must not end early for the enclosing with_timeout either.
    deadline at = interruptible ? std::min(until, self->scope) : until;
    if (at != never) {
        if (at <= clock::now()) return until <= self->scope ? wake_reason::timed_out : wake_reason::scope_expired;
        self->wake.fire = &on_timer;
        self->wake.owner = self;
        timers_.push(self->wake, at);
    }
    self->parked = true;
    self->io_streak = 0;  // it gave way: its I/O budget starts again
    self->interruptible = interruptible;
    self->waiting = what;
    self->parked_until = until;
    if (!time_read_) {  // the turn's time is close enough for a dump
        loop_time_ = coarse_now();
        time_read_ = true;
    }
    self->parked_at = loop_time_;
    switch_to(next_to_run());
    return self->reason;
}

// A fiber that run()'s teardown has cancelled should end at its next
// blocking call. One that keeps making them, each refused at once with
// weft::cancelled, swallows the cancellation (a catch (...) around a
// blocking call, in a loop) and spins without ever switching away: run()
// would hang on it forever with a core at 100%. After refused_min such calls
// spread over refused_grace, say so, with the dump, and abort. (errors.cpp
// warns sooner, at 10,000 cancels told; tests/errors_test.cpp expects that
// warning and the spin to go on for 3 s. A plain cancel() outside the
// teardown is left alone: the fiber may switch and the run goes on.)
constexpr std::uint32_t refused_min = 10;
constexpr std::int64_t refused_grace = 5'000'000'000;  // 5 s

void scheduler::refused_in_teardown(fiber* self) noexcept {
    const std::int64_t now = coarse_now();
    if (self->refused_parks++ == 0) self->first_refused = now;
    if (self->refused_parks < refused_min || now - self->first_refused < refused_grace) return;
    std::ostringstream os;
    os << "weft: fiber #" << self->task->id;
    if (!self->task->name.empty()) os << " '" << self->task->name << "'";
    os << " keeps blocking after run() asked it to end: it was cancelled, and its last " << self->refused_parks
       << " blocking calls (over ";
    write_duration(os, now - self->first_refused);
    os << ") each threw weft::cancelled at once. It catches weft::cancelled and carries on: a catch (...) "
          "around a blocking call, in a loop? Rethrow it (catch (const weft::cancelled&) { throw; } before the "
          "catch (...)), or end the loop when this_fiber::cancellation_requested() is true. run() cannot end "
          "while it lives; aborting. Its run's fibers:\n";
    dump(os);
    std::fprintf(stderr, "%s", os.str().c_str());
    std::abort();
}

void scheduler::on_timer(timer& t) {
    auto* f = static_cast<fiber*>(t.owner);
    WEFT_ASSERT(f->parked, "a fiber is parked while its wake timer is armed (the first wake disarms it)");
    tls_scheduler->unpark(f, f->parked_until <= f->scope ? wake_reason::timed_out : wake_reason::scope_expired);
}

bool scheduler::unpark(fiber* f, wake_reason why) noexcept {
    check_owner(f, "woken");
    if (!f->parked) return false;  // already woken (by its timer, a cancel, another waker)
    WEFT_ASSERT(!queued(f) && f != running_, "a parked fiber is neither running nor in the run queue");
    f->parked = false;
    f->woken = true;
    f->reason = why;
    if (f->wake.armed()) timers_.erase(f->wake);
    push_ready(f);
    // The top of its stack (the registers its switch saved and the frames of
    // the call that parked it) is fetched toward the cache now: with a
    // thousand connections' fibers taking turns, those lines are cold by
    // the time it runs, a miss each on its first instructions.
    prefetch_stack(f);
    return true;
}

void scheduler::cancel(fiber* f) noexcept {
    check_owner(f, "cancelled");
    f->cancel_requested = true;
    if (f->task) request_stop(f->task);  // this_fiber::stop_token() sees every cancel at once, run()'s too
    if (f->parked && f->interruptible) unpark(f, wake_reason::cancelled);
}

void scheduler::cancel_all() noexcept {
    tearing_down_ = true;
    for (fiber* f = live_head_; f; f = f->next_live) cancel(f);
}

int scheduler::fire_due_timers(deadline now) {
    int n = 0;
    while (!timers_.empty() && timers_.top_when() <= now) {
        timer* t = timers_.top();
        timers_.erase(*t);
        t->fire(*t);
        ++n;
    }
    return n;
}

void scheduler::run_ready() {
    budget_ = poll_budget;
    time_read_ = false;  // the turn's first park() reads the clock
    if (ready_head_) switch_to(pop_ready());
}

void assert_failed(const char* condition, const char* invariant, const char* file, int line) noexcept {
    std::fprintf(stderr,
                 "weft: invariant broken at %s:%d: %s (%s). This is a bug in weft, or memory corrupted around "
                 "it; aborting\n",
                 file, line, invariant, condition);
    std::abort();
}

void scheduler::foreign_fiber(const fiber* f, const char* how) const noexcept {
    // Racy reads of another thread's fiber: acceptable on the way to abort().
    std::fprintf(stderr,
                 "weft: fiber #%llu of another thread's run() was %s from this thread: a weft object that belongs "
                 "to one thread (channel, mutex, condition_variable, semaphore, wait_group, event, task) is used "
                 "from two. Between threads use shared_channel, spawn_on/shared_task or to_thread. Aborting\n",
                 static_cast<unsigned long long>(f->task ? f->task->id : 0), how);
    std::abort();
}

void destroyed_with_waiters(const waiter* first) noexcept {
    std::ostringstream os;
    os << "weft: a channel, mutex, condition_variable, semaphore, wait_group, event, latch or task_group was "
          "destroyed while fibers were parked on it:";
    for (const waiter* w = first; w; w = w->next) {
        const fiber* f = w->fib;
        os << "\n  fiber #" << (f && f->task ? f->task->id : 0);
        if (f && f->task && !f->task->name.empty()) os << " '" << f->task->name << "'";
        if (f && f->waiting.what) os << " waits on " << f->waiting.what;
    }
    os << "\nweft: they would wake into freed memory; destroy it after they are done (join them first). Aborting";
    std::fprintf(stderr, "%s\n", os.str().c_str());
    std::abort();
}

namespace {

// write_duration() writes ns for a person: "40 ms", "2.5 s", "3 min 20 s", "2 h 5 min".
void write_duration(std::ostream& os, std::int64_t ns) {
    const std::int64_t ms = ns < 0 ? 0 : ns / 1'000'000;
    if (ms < 1000)
        os << ms << " ms";
    else if (ms < 60'000)
        os << ms / 1000 << '.' << ms % 1000 / 100 << " s";
    else if (ms < 3'600'000)
        os << ms / 60'000 << " min " << ms % 60'000 / 1000 << " s";
    else
        os << ms / 3'600'000 << " h " << ms % 3'600'000 / 60'000 << " min";
}

// describe() is one fiber's line: "fiber #3 'fetch' waits on read fd 7 for
// 2.5 s (deadline in 27.5 s)". `now` is coarse_now(), `steady` clock::now().
void describe(std::ostream& os, const fiber* f, const fiber* running, std::int64_t now, deadline steady) {
    os << "fiber #" << f->task->id;
    if (!f->task->name.empty()) os << " '" << f->task->name << "'";
    if (f == running) {
        os << " is running";
    } else if (f->parked) {
        os << " waits on " << (f->waiting.what ? f->waiting.what : "something");
        if (f->waiting.object) os << " " << f->waiting.object;
        if (f->waiting.fd >= 0) os << " fd " << f->waiting.fd;
        os << " for ";
        write_duration(os, now - f->parked_at);
        const deadline at = f->interruptible ? std::min(f->parked_until, f->scope) : f->parked_until;
        if (at != never) {
            os << " (deadline in ";
            write_duration(os, std::chrono::duration_cast<std::chrono::nanoseconds>(at - steady).count());
            os << ")";
        }
        if (!f->interruptible) os << ", uninterruptible";
        if (f->activity) {
            os << ", in ";
            f->activity->describe(f->activity->ctx, os);
        }
    } else {
        os << " is ready";
    }
    if (f->cancel_requested && f != running) os << ", cancelled";
}

// resident_kib() is how much of a stack has been touched (and is still
// resident): pages the kernel says are in memory.
std::size_t resident_kib(const stack& s) {
    if (!s) return 0;
    const std::size_t page = 4096, pages = s.size / page;
    std::vector<unsigned char> in(pages);
    if (::mincore(s.bottom, pages * page, in.data()) != 0) return 0;
    std::size_t n = 0;
    for (unsigned char c : in) n += c & 1;
    return n * page / 1024;
}

}  // namespace

std::string scheduler::parked_report() const {
    std::ostringstream os;
    os << "weft: deadlock: all " << live_ << " fibers are parked and nothing can wake them:";
    const std::int64_t now = coarse_now();
    const deadline steady = clock::now();
    for (const fiber* f = live_head_; f; f = f->next_live) {
        os << "\n  ";
        describe(os, f, running(), now, steady);
    }
    return os.str();
}

void scheduler::dump(std::ostream& os) const {
    os << "weft: " << live_ << " live fibers on this thread\n";
    const std::int64_t now = coarse_now();
    const deadline steady = clock::now();
    for (const fiber* f = live_head_; f; f = f->next_live) {
        os << "  ";
        describe(os, f, running(), now, steady);
        os << "; stack " << resident_kib(f->stk) << " of " << f->stk.size / 1024 << " KiB resident\n";
    }
}

}  // namespace weft::detail
