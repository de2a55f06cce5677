// SPDX-License-Identifier: MIT
// Invariants: the handler only reads (the running fiber's stack bounds, id and
// name) and calls async-signal-safe functions (write, sigaction, abort).
#include "detail/overflow.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "detail/scheduler.hpp"

namespace weft::detail {

namespace {

// The handler a fault that is not an overflow goes on to: the one found in
// place when on_segv was installed.
struct sigaction previous_action;
std::mutex install_mutex;
// Set while on_segv hands a fault on: a previous handler that hands it back
// (one that restores its own saved action, which was ours, and raises again)
// then ends in the default action instead of a loop.
std::atomic<bool> handing_on{false};

// Appends text or a decimal number to a fixed buffer, without allocating.
struct line {
    char buf[512];
    std::size_t n = 0;
    line& operator<<(const char* s) {
        while (*s && n < sizeof buf) buf[n++] = *s++;
        return *this;
    }
    line& operator<<(std::uint64_t v) {
        char tmp[24];
        int i = 0;
        do tmp[i++] = static_cast<char>('0' + v % 10);
        while ((v /= 10) && i < 24);
        while (i > 0 && n < sizeof buf) buf[n++] = tmp[--i];
        return *this;
    }
};

void on_segv(int sig, siginfo_t* info, void* uctx) {
    scheduler* s = scheduler::current();
    fiber* f = s ? s->running() : nullptr;
    auto* addr = static_cast<char*>(info->si_addr);
    if (f && f->stk && addr < f->stk.bottom && addr >= f->stk.bottom - stack_pool::guard_size) {
        line msg;
        msg << "weft: fiber #" << f->task->id;
        if (!f->task->name.empty()) msg << " '" << f->task->name.c_str() << "'";
        // Task #1 is run()'s own fiber: its size is run_options', not spawn_options'.
        msg << " overflowed its " << static_cast<std::uint64_t>(f->stk.size / 1024) << " KiB stack; give it more with "
            << (f->task->id == 1 ? "weft::run_options::stack_size\n" : "spawn_options::stack_size\n");
        [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg.buf, msg.n);
        ::signal(SIGABRT, SIG_DFL);
        ::abort();
    }
    // Not ours: hand the fault to whoever handled it before.
    if (!handing_on.exchange(true)) {
        bool handed = true;
        if (previous_action.sa_flags & SA_SIGINFO) {
            if (previous_action.sa_sigaction)
                previous_action.sa_sigaction(sig, info, uctx);
            else
                handed = false;
        } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
            previous_action.sa_handler(sig);
        } else {
            handed = false;
        }
        handing_on = false;
        if (handed) return;  // it dealt with the fault (or it repeats, and comes back here)
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGSEGV, &dfl, nullptr);  // default: the fault repeats and kills
}

}  // namespace

overflow_guard::overflow_guard() {
    // Every run() puts on_segv back when it finds another handler in its
    // place: a program, test framework or crash reporter that sets its own
    // after a run() would otherwise silence the overflow message of every
    // later run. The handler it finds is where other faults go.
    {
        std::lock_guard lock(install_mutex);
        struct sigaction current {};
        ::sigaction(SIGSEGV, nullptr, &current);
        if (!(current.sa_flags & SA_SIGINFO) || current.sa_sigaction != &on_segv) {
            struct sigaction sa {};
            sa.sa_sigaction = &on_segv;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            ::sigaction(SIGSEGV, &sa, &previous_action);
        }
    }
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
        alt_size_ = 64 * 1024;
        alt_stack_ = ::mmap(nullptr, alt_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (alt_stack_ == MAP_FAILED) {
            alt_stack_ = nullptr;  // no alternate stack: an overflow still dies, just without the message
            return;
        }
        stack_t ss{};
        ss.ss_sp = alt_stack_;
        ss.ss_size = alt_size_;
        ::sigaltstack(&ss, nullptr);
    }
}

overflow_guard::~overflow_guard() {
    if (!alt_stack_) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);
    ::munmap(alt_stack_, alt_size_);
}

}  // namespace weft::detail
