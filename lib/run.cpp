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

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "detail/overflow.hpp"
#include "detail/reactor.hpp"
#include "detail/runtime.hpp"
#include "detail/scheduler.hpp"
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
    std::vector<std::pair<const void*, std::unique_ptr<service>>> services;

    explicit runtime(const run_options& o) : opts(o) {}
    ~runtime() {
        while (!services.empty()) services.pop_back();
    }
};

thread_local runtime* tls_runtime = nullptr;

// Free stacks kept warm when the loop goes idle; the rest go back to the
// kernel, at most trim_batch per idle pass, and only when the next timer is
// more than trim_when_idle_for away.
constexpr std::size_t warm_stacks = 256;
constexpr std::size_t trim_batch = 64;
constexpr auto trim_when_idle_for = std::chrono::milliseconds(2);

}  // namespace

reactor& current_reactor(const char* what) {
    if (!tls_runtime || !tls_runtime->sched.running())
        throw_outside_fiber(what);
    return tls_runtime->io;
}

const run_options& run_settings(const char* what) {
    current_reactor(what);
    return tls_runtime->opts;
}

reactor* running_reactor() noexcept { return tls_runtime ? &tls_runtime->io : nullptr; }

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

run_scope::run_scope(const run_options& opts) {
    if (scheduler::current())
        throw std::system_error(make_error_code(errc::nested_run),
                                "weft::run cannot be called inside weft::run (the thread already runs one)");
    tls_runtime = new runtime(opts);
}

run_scope::~run_scope() {
    delete tls_runtime;
    tls_runtime = nullptr;
}

void run_scope::drive(task_base* main) {
    scheduler& s = tls_runtime->sched;
    reactor& io = tls_runtime->io;
    bool tearing_down = false;
    std::string deadlock_report;

    while (s.live() > 0) {
        if (io.has_posted()) io.run_posted();  // work other threads handed this loop
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
            if (next == never || next - clock::now() > trim_when_idle_for)
                s.stacks().trim(warm_stacks, trim_batch);
            io.poll(next);
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
