// SPDX-License-Identifier: MIT
// run_options::dump_signal: a signal on which a run prints weft::dump, as
// Go prints its goroutines on SIGQUIT, except that the run goes on.
//
// A signal handler may do almost nothing safely, so it does two things: it
// counts the signal in a process-wide atomic and writes to a process-wide
// eventfd. Every loop that listens has that eventfd in its epoll set, so a
// sleeping loop wakes; a busy one sees the count change at its next turn.
// The loop then writes its thread's dump to stderr, from the loop's own
// stack, between two turns: no fiber is running, none is interrupted.
// Implemented in lib/dump.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::detail {

class reactor;

// dump_signals counts the dump signals this process has received.
extern std::atomic<std::uint64_t> dump_signals;

// dump_signal_hook is one loop listening for its run's dump_signal.
class dump_signal_hook {
public:
    // dump_signal_hook(sig, io) installs the handler for sig (one handler per
    // signal, shared by every loop of the process that asks for it; the
    // previous action comes back when the last one ends) and adds the
    // eventfd to io's epoll set. Throws std::system_error: EINVAL for a
    // signal that cannot be caught (SIGKILL, SIGSTOP, out of range).
    dump_signal_hook(int sig, reactor& io);
    ~dump_signal_hook();
    dump_signal_hook(const dump_signal_hook&) = delete;
    dump_signal_hook& operator=(const dump_signal_hook&) = delete;

    // due() is true when a dump signal came since the last print(): one load.
    bool due() const noexcept { return dump_signals.load(std::memory_order_relaxed) != seen_; }
    // print() writes this thread's dump to stderr, headed by the signal and
    // the thread (`index` of `threads`).
    void print(std::size_t index, std::size_t threads);

private:
    int sig_;
    int efd_;
    reactor& io_;
    std::uint64_t seen_;
};

}  // namespace weft::detail
