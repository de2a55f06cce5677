// SPDX-License-Identifier: MIT
// The loop: the one place that drives both the scheduler and the reactor.
//
//   while fibers are alive:
//     run the work other threads posted (it may wake fibers)
//     once run()'s main fiber has ended, cancel every other fiber (once)
//     fire due timers
//     nothing ready: if no timer, no fd waiter and no fiber waiting on another
//                    thread either, it is a deadlock; else sleep in the
//                    reactor until the next timer or a post
//     something ready: look at the reactor without sleeping if fds are waited on
//     run the ready fibers (they switch among themselves, then come back)
#include "weft/run.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "detail/dump_signal.hpp"
#include "detail/overflow.hpp"
#include "detail/reactor.hpp"
#include "detail/runtime.hpp"
#include "detail/scheduler.hpp"
#include "detail/thread_group.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

namespace {

// runtime is everything run() owns for this thread, composed here so that no
// layer needs to know another: the scheduler (found through its thread_local
// pointer), the reactor, the overflow reporter's signal stack, and the
// services of the layers above (DNS, TLS, HTTP), each made on first use. The
// services go first, the last made first, while the reactor and the
// scheduler they use still work.
struct runtime {
    run_options opts;
    overflow_guard overflow;
    scheduler sched;
    reactor io;
    std::unique_ptr<dump_signal_hook> dump_hook;  // run_options::dump_signal; after io: it leaves io before io closes
    std::vector<std::pair<const void*, std::unique_ptr<service>>> services;
    // With several threads (run_options::threads): the group, this thread's
    // index in it, and the group itself on thread 0, which owns it.
    std::unique_ptr<thread_group> owned_group;
    thread_group* group = nullptr;
    std::size_t index = 0;
    bool closing = false;          // the loop ended; posted work is only drained
    bool stop_requested = false;   // a worker: stop_worker() came
    fiber* thread_main = nullptr;  // a worker: its main fiber, which waits for stop

    explicit runtime(const run_options& o) : opts(o) {}
    ~runtime() {
        while (!services.empty()) services.pop_back();
    }
};

thread_local runtime* tls_runtime = nullptr;

// Free stacks kept warm when the loop goes idle; the rest go back to the
// kernel once they have stayed free for a whole trim_period (so within two
// of a burst's end: a stack given back a moment ago is likely taken again
// soon, and a short program's stacks go with their regions at the end), at
// most trim_batch per idle pass, and only when the next timer is more than
// trim_when_idle_for away.
constexpr std::size_t warm_stacks = 256;
constexpr std::size_t trim_batch = 64;
constexpr auto trim_when_idle_for = std::chrono::milliseconds(2);
constexpr auto trim_period = std::chrono::seconds(1);
// How long the loop watches for a to_thread result before it sleeps.
constexpr auto remote_spin = std::chrono::microseconds(50);

// The kernel may end a sleep in epoll late by its slack: the thread's timer
// slack (50 µs by default) or, when more, 0.1% of the timeout, up to 100 ms
// (select_estimate_accuracy). Every sleeper of a turn that slept 300 ms woke
// some 300 µs late, and one that slept 10 s would be 10 ms late. So the loop
// sleeps no longer than exact_sleep in one go with the deadline it means:
// a longer sleep ends early by its 0.1%, and the loop sleeps the rest, now
// with the plain slack (one more wake-up per long sleep).
constexpr auto exact_sleep = std::chrono::milliseconds(50);

// poll_until() is when the loop should wake to meet `next` (see exact_sleep).
deadline poll_until(deadline next) noexcept {
    if (next == never) return next;
    const auto left = next - clock::now();
    return left > exact_sleep ? next - left / 1000 : next;
}

}  // namespace

reactor& current_reactor(const char* what) {
    if (!tls_runtime || !tls_runtime->sched.running()) throw_outside_fiber(what);
    return tls_runtime->io;
}

const run_options& run_settings(const char* what) {
    current_reactor(what);
    return tls_runtime->opts;
}

reactor* running_reactor() noexcept { return tls_runtime ? &tls_runtime->io : nullptr; }

std::size_t usable_cpus() noexcept {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return static_cast<std::size_t>(CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

thread_group* running_group() noexcept { return tls_runtime ? tls_runtime->group : nullptr; }

bool loop_closing() noexcept { return tls_runtime && tls_runtime->closing; }

service* find_service(const void* key, const char* what) {
    current_reactor(what);
    for (auto& [k, s] : tls_runtime->services)
        if (k == key) return s.get();
    return nullptr;
}

service& add_service(const void* key, std::unique_ptr<service> s) {
    tls_runtime->services.emplace_back(key, std::move(s));
    return *tls_runtime->services.back().second;
}

run_scope::run_scope(const run_options& opts, thread_group* group, std::size_t index) {
    if (scheduler::current())
        throw std::system_error(make_error_code(errc::nested_run),
                                "weft::run cannot be called inside weft::run (the thread already runs one)");
    tls_runtime = new runtime(opts);
    if (opts.dump_signal != 0) {
        try {
            tls_runtime->dump_hook = std::make_unique<dump_signal_hook>(opts.dump_signal, tls_runtime->io);
        } catch (...) {
            delete std::exchange(tls_runtime, nullptr);
            throw;
        }
    }
    if (group) {  // a worker of a group: run_worker() opens it once its main fiber exists
        tls_runtime->group = group;
        tls_runtime->index = index;
        return;
    }
    const std::size_t n = opts.threads == 0 ? usable_cpus() : opts.threads;
    if (n <= 1) return;  // the one-thread run: no group, no eventfd, nothing shared
    try {
        tls_runtime->owned_group = std::make_unique<thread_group>(n, opts);
        tls_runtime->group = tls_runtime->owned_group.get();
        tls_runtime->io.open_remote();
        tls_runtime->group->open(0, tls_runtime->io);
        tls_runtime->group->start();
    } catch (...) {
        delete std::exchange(tls_runtime, nullptr);
        throw;
    }
}

run_scope::~run_scope() {
    runtime* rt = tls_runtime;
    if (rt->group) {
        // No more posts to this loop; what came before the door closed runs
        // now (spawn_on requests are cancelled: no fiber may start). Then
        // thread 0 ends the other loops and joins their threads.
        rt->group->close(rt->index);
        rt->closing = true;
        rt->io.run_posted();
        if (rt->owned_group) rt->owned_group->stop();
    }
    delete rt;
    tls_runtime = nullptr;
}

void run_worker(thread_group& group, std::size_t i, const run_options& opts) {
    run_scope scope(opts, &group, i);
    runtime& rt = *tls_runtime;
    rt.io.open_remote();
    // The thread's main fiber waits for stop_worker(); spawn_on() brings the
    // others. Parked on remote work, it never makes the loop report a deadlock.
    task<void> main = spawn(spawn_options{.name = "thread " + std::to_string(i)}, [&rt] {
        rt.thread_main = current_fiber();
        while (!rt.stop_requested)
            if (rt.io.wait_remote({"stop of its run()"}, never) == wake_reason::cancelled) break;
        rt.thread_main = nullptr;
    });
    group.open(i, rt.io);
    scope.drive(task_access(main));
}

void stop_worker(remote_work*) noexcept {
    runtime& rt = *tls_runtime;
    rt.stop_requested = true;
    if (rt.thread_main) scheduler::current()->unpark(rt.thread_main, wake_reason::ready);
}

void run_scope::drive(task_base* main) {
    scheduler& s = tls_runtime->sched;
    reactor& io = tls_runtime->io;
    dump_signal_hook* dump_hook = tls_runtime->dump_hook.get();
    bool tearing_down = false;
    std::string deadlock_report;
    deadline next_settle{};  // when the free stacks are next settled (trim_period)

    while (s.live() > 0) {
        if (io.has_posted()) io.run_posted();  // work other threads handed this loop
        if (dump_hook && dump_hook->due()) dump_hook->print(thread_index(), thread_count());
        if (!tearing_down && main->done) {
            tearing_down = true;
            s.cancel_all();
        }
        if (s.next_timer() != never) s.fire_due_timers(clock::now());
        if (!s.has_ready()) {
            deadline next = s.next_timer();
            if (next == never && io.waiting() == 0 && io.remote_waiters() == 0) {
                if (!deadlock_report.empty()) {
                    // Cancelling woke nobody: only uninterruptible waits are left.
                    std::fprintf(stderr, "%s\nweft: cannot unwind these fibers; aborting\n", deadlock_report.c_str());
                    std::abort();
                }
                deadlock_report = s.parked_report();
                tearing_down = true;
                s.cancel_all();
                continue;
            }
            // Give memory back only when the loop has time to spare, a little at a
            // time, so trimming never makes a sleeper late.
            if (const deadline now = clock::now(); next == never || next - now > trim_when_idle_for) {
                if (now >= next_settle) {
                    s.stacks().settle();
                    next_settle = now + trim_period;
                }
                s.stacks().trim_settled(warm_stacks, trim_batch);
            }
            // A fiber waits for a to_thread job that may be done within
            // microseconds: watch for it before paying for a sleep in epoll
            // and the eventfd write that would end it.
            if (io.soon_waiters() > 0 && io.spin_for_posts(std::min(next, clock::now() + remote_spin))) {
                if (io.active()) io.poll(deadline{});  // fds may be ready too: look, without sleeping
            } else {
                io.poll(poll_until(next));
                s.note_time();
            }
            if (io.has_posted()) io.run_posted();
            if (s.next_timer() != never) s.fire_due_timers(clock::now());
        } else if (io.active()) {
            // Look without sleeping: fibers parked on fds, or c-ares' callback-driven sockets.
            io.poll(deadline{});
        }
        s.run_ready();
    }
    if (!deadlock_report.empty()) throw deadlock(deadlock_report);
}

}  // namespace weft::detail

namespace weft {

std::size_t thread_index() noexcept { return detail::tls_runtime ? detail::tls_runtime->index : 0; }

std::size_t thread_count() noexcept {
    if (!detail::tls_runtime) return 0;
    return detail::tls_runtime->group ? detail::tls_runtime->group->size() : 1;
}

}  // namespace weft
