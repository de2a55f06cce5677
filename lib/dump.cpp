// SPDX-License-Identifier: MIT
// weft::dump, and the dump on a signal (run_options::dump_signal).
#include "weft/dump.hpp"

#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <system_error>

#include "detail/dump_signal.hpp"
#include "detail/reactor.hpp"
#include "detail/scheduler.hpp"

namespace weft {

void dump(std::ostream& out) {
    detail::scheduler* s = detail::scheduler::current();
    if (!s) {
        out << "weft: no run() on this thread\n";
        return;
    }
    s->dump(out);
}

}  // namespace weft

namespace weft::detail {

std::atomic<std::uint64_t> dump_signals{0};

namespace {

// The eventfd the handler writes. Made once and never closed: a handler
// running on another thread as the last loop ends must never write into a
// descriptor that was closed and reused meanwhile.
std::atomic<int> signal_efd{-1};

// The handlers installed so far: how many loops listen for each signal, and
// the action each one replaced. Guarded by the mutex; the handler touches none.
struct handler_table {
    std::mutex m;
    unsigned users[NSIG] = {};
    struct sigaction previous[NSIG] = {};
};

handler_table& handlers() {
    static handler_table* t = new handler_table;  // never destroyed: a run may end after static destructors ran
    return *t;
}

// on_dump_signal() is async-signal-safe: a lock-free atomic add and write(2).
extern "C" void on_dump_signal(int) {
    const int saved = errno;
    dump_signals.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(signal_efd.load(std::memory_order_relaxed), &one, sizeof one);
    errno = saved;
}

[[noreturn]] void throw_signal_error(int err, int sig, const char* what) {
    throw std::system_error(err, std::generic_category(),
                            "weft::run: run_options::dump_signal " + std::to_string(sig) + ": " + what);
}

// write_all() writes the whole text to fd, as one write(2) where it can.
void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

dump_signal_hook::dump_signal_hook(int sig, reactor& io) : sig_(sig), efd_(-1), io_(io), seen_(0) {
    if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
        throw_signal_error(EINVAL, sig, "not a signal that can be caught");
    handler_table& t = handlers();
    std::lock_guard lock(t.m);
    efd_ = signal_efd.load(std::memory_order_relaxed);
    if (efd_ < 0) {
        efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd_ < 0) throw_signal_error(errno, sig, "eventfd");
        signal_efd.store(efd_, std::memory_order_relaxed);
    }
    if (int err = io.add_waker(efd_)) throw_signal_error(err, sig, "epoll_ctl");
    if (t.users[sig] == 0) {
        struct sigaction sa {};
        sa.sa_handler = &on_dump_signal;
        sa.sa_flags = SA_RESTART;  // other threads' blocking calls go on as if nothing came
        ::sigemptyset(&sa.sa_mask);
        if (::sigaction(sig, &sa, &t.previous[sig]) != 0) {
            int err = errno;
            io.remove_waker(efd_);
            throw_signal_error(err, sig, "sigaction");
        }
    }
    ++t.users[sig];
    seen_ = dump_signals.load(std::memory_order_relaxed);  // signals before this run are not its business
}

dump_signal_hook::~dump_signal_hook() {
    io_.remove_waker(efd_);
    handler_table& t = handlers();
    std::lock_guard lock(t.m);
    if (--t.users[sig_] == 0) ::sigaction(sig_, &t.previous[sig_], nullptr);
}

void dump_signal_hook::print(std::size_t index, std::size_t threads) {
    seen_ = dump_signals.load(std::memory_order_relaxed);  // signals that came together make one dump
    std::ostringstream os;
    const char* abbrev = ::sigabbrev_np(sig_);
    os << "weft: SIG" << (abbrev ? abbrev : "?") << " (run_options::dump_signal): pid " << ::getpid();
    if (threads > 1) os << ", thread " << index << " of " << threads;
    os << '\n';
    weft::dump(os);
    write_all(STDERR_FILENO, os.str());
}

}  // namespace weft::detail
