// SPDX-License-Identifier: MIT
// Invariants:
//  - slots_[fd].watched iff fd is in the epoll set (added, not yet removed);
//  - a slot's reader/writer is the fiber parked in wait() on it, cleared by
//    that same wait() when it returns, whatever woke it; waiting_ counts them;
//  - a slot with a callback (watch()) never has fiber waiters; its edges go
//    to the callback, on the loop, and its readiness flags are not kept;
//  - epoll_event.data carries (gen << 32 | fd): an event whose gen is not the
//    slot's current one belongs to a closed and reused fd and is dropped; the
//    eventfd's events carry remote_token instead, a waker's waker_token;
//  - cross-thread: producers only CAS remote_->posted, read/clear
//    remote_->sleeping and count references to *remote_ (which outlives the
//    reactor while a post() is in progress); everything else is the loop's. A post that finds
//    `sleeping` false is seen by the loop's re-check of `posted` after it set
//    `sleeping` (both sides seq_cst: a store then a load, Dekker's pattern), so
//    no post is left waiting while the loop sleeps.
#include "detail/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <system_error>
#include <utility>

#include "detail/scheduler.hpp"

namespace weft::detail {

namespace {

constexpr std::uint64_t remote_token = ~std::uint64_t{0};
// A waker's events: fd 0xfffffffe (-2) is no descriptor, so no slot's token is this.
constexpr std::uint64_t waker_token = ~std::uint64_t{1};

// epoll_pwait2 is Linux >= 5.11, and tools that emulate syscalls may lack it
// (Valgrind 3.19, Debian 12's, answers ENOSYS): then epoll_wait, its timeout rounded
// up to whole milliseconds so that a timer is never polled for too early.
std::atomic<bool> no_pwait2{false};

int wait_events(int epfd, epoll_event* events, int max, const timespec* timeout) {
    if (!no_pwait2.load(std::memory_order_relaxed)) {
        int n = ::epoll_pwait2(epfd, events, max, timeout, nullptr);
        if (n >= 0 || errno != ENOSYS) return n;
        no_pwait2.store(true, std::memory_order_relaxed);
    }
    int ms = -1;
    if (timeout) {
        long long whole = (static_cast<long long>(timeout->tv_nsec) + 999'999) / 1'000'000;
        long long total = static_cast<long long>(timeout->tv_sec) * 1000 + whole;
        ms = total > INT_MAX ? INT_MAX : static_cast<int>(total);
    }
    return ::epoll_wait(epfd, events, max, ms);
}

}  // namespace

reactor::reactor() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "weft: epoll_create1");
}

reactor::~reactor() {
    if (remote_) remote_->release();
    ::close(epfd_);
}

reactor::remote_state::~remote_state() {
    if (efd >= 0) ::close(efd);
}

void reactor::open_remote() {
    if (remote_) return;
    int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) throw std::system_error(errno, std::generic_category(), "weft: eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = remote_token;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, efd, &ev) != 0) {
        int err = errno;
        ::close(efd);
        throw std::system_error(err, std::generic_category(), "weft: epoll_ctl(eventfd)");
    }
    remote_ = new remote_state;
    remote_->efd = efd;
}

void reactor::post(remote_work* w) noexcept {
    // Once w is pushed the loop may run it and end at once: keep what is
    // still to be touched alive until done.
    remote_state* r = remote_;
    r->refs.fetch_add(1, std::memory_order_relaxed);
    remote_work* head = r->posted.load(std::memory_order_relaxed);
    do {
        w->next = head;
    } while (!r->posted.compare_exchange_weak(head, w, std::memory_order_seq_cst, std::memory_order_relaxed));
    // Only a sleeping loop needs the syscall; the first poster to see it
    // asleep clears the flag, so a burst of posts writes the eventfd once.
    if (r->sleeping.load(std::memory_order_seq_cst) && r->sleeping.exchange(false, std::memory_order_seq_cst)) {
        r->wakes.fetch_add(1, std::memory_order_relaxed);
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(r->efd, &one, sizeof one);  // cannot fail short of overflow
    }
    r->release();
}

void reactor::run_posted() noexcept {
    if (!remote_) return;
    remote_work* w = remote_->posted.exchange(nullptr, std::memory_order_acquire);
    remote_work* fifo = nullptr;  // the stack is newest first: reverse it
    while (w) {
        remote_work* next = w->next;
        w->next = fifo;
        fifo = w;
        w = next;
    }
    while (fifo) {
        remote_work* next = fifo->next;  // run() may free the node
        fifo->run(fifo);
        fifo = next;
    }
}

void reactor::read_eventfd() noexcept {
    std::uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(remote_->efd, &v, sizeof v);  // EAGAIN: already read
}

wake_reason reactor::wait_remote(wait_desc what, deadline until, bool interruptible, bool soon) {
    ++remote_waiters_;
    if (soon) ++soon_waiters_;
    struct leave {
        std::size_t& n;
        std::size_t& s;
        bool soon;
        ~leave() {
            --n;
            if (soon) --s;
        }
    } guard{remote_waiters_, soon_waiters_, soon};
    return scheduler::current()->park(what, until, interruptible);
}

bool reactor::spin_for_posts(deadline limit) const noexcept {
    if (!remote_) return false;
    for (;;) {
        if (remote_->posted.load(std::memory_order_acquire)) return true;
        if (clock::now() >= limit) return false;
        for (int i = 0; i < 16; ++i) __builtin_ia32_pause();
    }
}

int reactor::add(int fd, bool readable, bool writable) noexcept {
    if (fd < 0) return EBADF;
    if (static_cast<std::size_t>(fd) >= slots_.size()) {
        try {
            slots_.resize(static_cast<std::size_t>(fd) + 1 + slots_.size() / 2);
        } catch (const std::bad_alloc&) {
            return ENOMEM;
        }
    }
    slot& s = slots_[fd];
    if (s.watched) return EEXIST;
    ++s.gen;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (std::uint64_t{s.gen} << 32) | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
    s.watched = true;
    s.readable = readable;
    s.writable = writable;
    s.read_hup = s.write_hup = false;
    s.cb = nullptr;
    s.cb_ctx = nullptr;
    return 0;
}

int reactor::add_waker(int fd) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;  // every write is an edge for each epoll set: nobody need read it
    ev.data.u64 = waker_token;
    return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void reactor::remove_waker(int fd) noexcept { ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

int reactor::watch(int fd, fd_callback cb, void* ctx) noexcept {
    if (int err = add(fd, false, false)) return err;
    slots_[fd].cb = cb;
    slots_[fd].cb_ctx = ctx;
    ++callbacks_;
    return 0;
}

void reactor::remove(int fd) noexcept { drop(fd, true); }
void reactor::forget(int fd) noexcept { drop(fd, false); }

void reactor::drop(int fd, bool deregister) noexcept {
    if (!watched(fd)) return;
    slot& s = slots_[fd];
    if (deregister) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    s.watched = false;
    if (s.cb) --callbacks_;
    s.cb = nullptr;
    s.readable = s.writable = false;
    // The waiters leave the slot now, not when they next run: the number may
    // be the next socket's before then, and its first wait must find the
    // slot free (a woken waiter clears only a slot that still names it).
    scheduler* sched = scheduler::current();
    if (fiber* f = std::exchange(s.reader, nullptr)) sched->unpark(f, wake_reason::ready);
    if (fiber* f = std::exchange(s.writer, nullptr)) sched->unpark(f, wake_reason::ready);
}

wake_reason reactor::wait(int fd, io_dir dir, deadline until, bool& busy) {
    WEFT_ASSERT(watched(fd), "a reactor slot exists for every fd a fiber waits on");
    slot& s = slots_[fd];
    fiber*& waiter = dir == io_dir::read ? s.reader : s.writer;
    busy = waiter != nullptr;
    if (busy) return wake_reason::ready;
    if (ready(fd, dir)) return wake_reason::ready;
    scheduler* sched = scheduler::current();
    fiber* self = sched->running();  // callers are fibers: the public doors check
    waiter = self;
    ++waiting_;
    wake_reason r = sched->park({dir == io_dir::read ? "read" : "write", nullptr, fd}, until, true);
    slot& again = slots_[fd];  // slots_ may have grown while we were parked
    fiber*& w = dir == io_dir::read ? again.reader : again.writer;
    if (w == self) w = nullptr;
    --waiting_;
    return r;
}

void reactor::poll(deadline until) {
    epoll_event events[256];
    timespec ts{};
    timespec* timeout = nullptr;
    if (until != never) {
        auto left = until - clock::now();
        if (left > left.zero()) {
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            ts.tv_sec = ns / 1'000'000'000;
            ts.tv_nsec = ns % 1'000'000'000;
        }
        timeout = &ts;
    }
    // About to sleep with other threads able to post: say so, then look at the
    // queue once more (a post that came before the flag was up did not write
    // the eventfd) and only look at epoll if something is there.
    const bool sleeps = remote_ && (!timeout || ts.tv_sec != 0 || ts.tv_nsec != 0);
    if (sleeps) {
        remote_->sleeping.store(true, std::memory_order_seq_cst);
        if (remote_->posted.load(std::memory_order_seq_cst)) {
            ts = timespec{};
            timeout = &ts;
        }
    }
    int n = wait_events(epfd_, events, 256, timeout);
    if (sleeps) remote_->sleeping.store(false, std::memory_order_relaxed);
    if (n < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::generic_category(), "weft: epoll_wait");
    }
    scheduler* sched = scheduler::current();
    // With hundreds of events, each one's slot and the block of the fiber
    // parked on it are cold: both are fetched a few events ahead of their
    // turn (the slot `2 * ahead` events ahead, the block, read from the slot
    // that came in meanwhile, `ahead` events ahead).
    constexpr int ahead = 4;
    auto slot_at = [&](int i) noexcept -> const slot* {
        const std::uint64_t token = events[i].data.u64;
        const auto fd = static_cast<std::size_t>(token & 0xffffffffu);
        return token < waker_token && fd < slots_.size() ? &slots_[fd] : nullptr;
    };
    for (int i = 0; i < std::min(n, 2 * ahead); ++i)
        if (const slot* s = slot_at(i)) __builtin_prefetch(s);
    for (int i = 0; i < n; ++i) {
        if (i + 2 * ahead < n)
            if (const slot* s = slot_at(i + 2 * ahead)) __builtin_prefetch(s);
        if (i + ahead < n)
            if (const slot* s = slot_at(i + ahead)) {
                if (s->reader) __builtin_prefetch(s->reader);
                if (s->writer) __builtin_prefetch(s->writer);
            }
        if (events[i].data.u64 == remote_token) {  // the loop drains the queue itself (run_posted)
            read_eventfd();
            continue;
        }
        if (events[i].data.u64 == waker_token) continue;  // it has woken us: that was all
        auto fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
        auto gen = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
        if (!watched(fd) || slots_[fd].gen != gen) continue;  // stale: fd closed (and maybe reused)
        slot& s = slots_[fd];
        std::uint32_t e = events[i].events;
        if (s.cb) {  // may add or remove fds, and so move slots_: s is not used after it
            s.cb(s.cb_ctx, fd, e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR), e & (EPOLLOUT | EPOLLHUP | EPOLLERR));
            continue;
        }
        // Only a hang-up is final. EPOLLERR alone is not: a UDP socket's ICMP
        // error is cleared by the recv that reports it.
        if (e & (EPOLLRDHUP | EPOLLHUP)) s.read_hup = true;
        if (e & EPOLLHUP) s.write_hup = true;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            s.readable = true;
            if (s.reader) sched->unpark(s.reader, wake_reason::ready);
        }
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
            s.writable = true;
            if (s.writer) sched->unpark(s.writer, wake_reason::ready);
        }
    }
}

}  // namespace weft::detail
