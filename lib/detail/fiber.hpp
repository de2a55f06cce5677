// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>

#include "detail/context.hpp"
#include "detail/stack_pool.hpp"
#include "detail/timer_heap.hpp"
#include "weft/detail/park.hpp"
#include "weft/task.hpp"

namespace weft::detail {

class scheduler;

// eh_state mirrors the head of libstdc++'s per-thread __cxa_eh_globals: the
// stack of exceptions being handled and the count of those in flight. Each
// fiber has its own, swapped on every switch; otherwise a fiber that yields
// inside a catch block would find another fiber's exception there.
// 16 bytes, the size of libstdc++'s struct, so a swap is one 16-byte copy each
// way. Not over-aligned: the thread's own copy is only 8-aligned.
struct eh_state {
    void* caught = nullptr;
    unsigned int uncaught = 0;
    unsigned int padding_ = 0;
};

// fiber is the control block of one fiber: one of the scheduler's pooled
// 64-byte-aligned blocks (scheduler::new_block), so a fiber is a pooled block,
// a pooled stack from its first run on, and its task's heap block. The loop's
// block (the thread's own stack) is a member of the scheduler.
struct fiber {
    fcontext ctx = nullptr;       // where to resume it; valid while it is not running
    fiber* next_ready = nullptr;  // run-queue link
    fiber* prev_live = nullptr;   // list of live fibers, for teardown and the deadlock report
    fiber* next_live = nullptr;
    task_base* task = nullptr;      // id, name, outcome; shared with the task<T> handle
    scheduler* owner = nullptr;     // the scheduler of its thread (debug builds check every wake)
    stack stk;                      // empty for the loop's block; until its first run, only its size class
    timer wake;                     // armed while parked with a deadline
    wait_desc waiting{nullptr};     // what it is parked on (for the deadlock report)
    deadline scope = never;         // innermost with_timeout() deadline
    deadline parked_until = never;  // the `until` of the current park()
    std::int64_t parked_at = 0;     // coarse_now() of the turn in which it parked (weft::dump), beside
                                    // what park() writes anyway: in the same cache line
    wake_reason reason = wake_reason::ready;
    bool parked = false;                // in park(), not yet woken
    bool started = false;               // has been switched to (scheduler::resume)
    bool woken = false;                 // woken from a park, not run since (its stack is likely cold)
    bool cancel_requested = false;      // sticky: every later park() returns `cancelled`;
                                        // always set on the loop's block, so yield() needs one test
    bool interruptible = true;          // whether cancel() wakes the current park()
    bool queued = false;                // in the run queue; kept only under -Dassertions=true (scheduler::queued)
    std::uint32_t io_streak = 0;        // I/O calls in a row that did not park (scheduler::io_turn)
    eh_state eh;                        // its exception-handling state while it is not running
    asan_switch asan;                   // sanitizer bookkeeping for switches away from it
    const void* asan_bottom = nullptr;  // this fiber's stack, for switches into it
    std::size_t asan_size = 0;
    tsan_fiber tsan;  // its ThreadSanitizer fiber (empty without TSan)
    // Colder fields last, so that the ones every switch touches stay in as
    // few cache lines (eh must not straddle one: its copy is one 16-byte
    // load and store each way; static_assert below).
    std::int64_t first_refused = 0;                   // coarse_now() of the first of refused_parks
    std::uint32_t refused_parks = 0;                  // blocking calls refused since run()'s teardown cancelled it
    const struct activity_label* activity = nullptr;  // the call it is in, for the dump (detail/activity.hpp)
};

// Blocks are 64-aligned (scheduler::new_block).
static_assert(offsetof(fiber, eh) / 64 == (offsetof(fiber, eh) + sizeof(eh_state) - 1) / 64,
              "fiber::eh straddles a cache line: every switch would pay for it");

}  // namespace weft::detail
