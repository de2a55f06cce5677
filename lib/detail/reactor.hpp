// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/detail/assert.hpp"
#include "weft/detail/park.hpp"
#include "weft/detail/remote_work.hpp"
#include "weft/timeout.hpp"

namespace weft::detail {

enum class io_dir : unsigned char { read, write };

// reactor watches file descriptors with epoll and wakes the fibers parked on
// them. It knows nothing of sockets or timers: poll() is told how long it may
// sleep, and wakes fibers through unpark().
//
// Each fd is registered once, edge-triggered for both directions, and the
// reactor remembers its readiness from the edges: a direction is "ready" from
// an edge until the owner reports EAGAIN (or a short read/write, which drains
// a stream socket) through clear_ready(). An edge that comes while nobody waits
// is remembered, not lost; a wait on a ready direction returns at once.
class reactor {
public:
    reactor();  // epoll_create1(EPOLL_CLOEXEC); throws std::system_error
    ~reactor();
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;

    // add() registers fd (both directions, edge-triggered). A direction
    // assumed ready counts as ready until told otherwise, so the owner's
    // first call just tries the syscall; one not assumed waits for the edge
    // epoll reports at registration when the fd is already ready that way.
    // Returns an errno value (0 on success); EEXIST if fd is already added.
    int add(int fd, bool readable = true, bool writable = true) noexcept;
    // watch() is add() for an fd driven by a callback instead of parked fibers
    // (c-ares' sockets): on every edge, poll() calls cb(ctx, fd, readable,
    // writable) on the loop. The callback may add, watch or remove fds.
    using fd_callback = void (*)(void* ctx, int fd, bool readable, bool writable);
    int watch(int fd, fd_callback cb, void* ctx) noexcept;
    // remove() takes fd out of the epoll set and forgets it; a fiber still
    // parked on it is woken, and its retry then sees the closed descriptor.
    void remove(int fd) noexcept;
    // forget() is remove() for an fd its owner closes right after: close()
    // takes it out of the epoll set (an EPOLL_CTL_DEL would be a syscall per
    // socket for nothing). Where a copy of the descriptor outlives the close
    // (a forked child's, a dup), its registration stays in the set until the
    // copy goes too; its events carry its generation and are dropped.
    void forget(int fd) noexcept;
    // add_waker() puts an fd in the epoll set whose edges only end a sleeping
    // poll() early: no fiber waits on it, no callback runs, nobody reads it
    // (run_options::dump_signal's eventfd, which several loops share and
    // whose owner checks its own flag). remove_waker() takes it out. add_waker
    // returns an errno value (0 on success).
    int add_waker(int fd) noexcept;
    void remove_waker(int fd) noexcept;
    bool watched(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < slots_.size() && slots_[fd].watched;
    }

    bool ready(int fd, io_dir dir) const noexcept {
        WEFT_ASSERT(watched(fd), "a reactor slot exists for every fd the reactor is asked about");
        const slot& s = slots_[fd];
        return dir == io_dir::read ? s.readable : s.writable;
    }
    // clear_ready() records that fd would block in `dir` (EAGAIN, or a short
    // read/write on a stream). Once the peer hung up (EPOLLRDHUP/HUP, which no
    // later edge repeats) it stays ready: the next call must run to see the EOF
    // or the error. (A stream's fatal error comes with EPOLLHUP.)
    void clear_ready(int fd, io_dir dir) noexcept {
        WEFT_ASSERT(watched(fd), "a reactor slot exists for every fd the reactor is told about");
        slot& s = slots_[fd];
        if (dir == io_dir::read)
            s.readable = s.read_hup;
        else
            s.writable = s.write_hup;
    }

    // wait() parks the running fiber until fd is ready in `dir`, `until`, its
    // with_timeout deadline or cancellation (park()'s reasons). A second fiber
    // waiting on the same fd and direction gets EBUSY in `busy` and no wait.
    wake_reason wait(int fd, io_dir dir, deadline until, bool& busy);
    // wait(fd, dir, until) is wait() where no other fiber can be waiting: fd
    // is new and its caller alone knows it (a socket that is connecting).
    wake_reason wait(int fd, io_dir dir, deadline until) {
        bool busy = false;
        wake_reason r = wait(fd, dir, until, busy);
        WEFT_ASSERT(!busy, "no other fiber waits on an fd that only its caller knows");
        return r;
    }

    // waiting() is the number of fibers parked on a file descriptor (a fiber
    // waiting for a callback-driven fd, like a DNS lookup, has its own timer).
    std::size_t waiting() const noexcept { return waiting_; }
    // active() is true while an fd event could matter: fibers wait on fds or
    // callback-driven fds are watched. The loop polls then even if fibers are ready.
    bool active() const noexcept { return waiting_ + callbacks_ > 0; }

    // poll() waits for events until `until` (`never`: no limit; a past
    // deadline: just look) and wakes the fibers whose fds became ready. It
    // returns early when another thread posts work (see post()).
    void poll(deadline until);

    // --- cross-thread wake-up ---
    // Another thread hands this loop work with post(); the loop runs it with
    // run_posted(). The queue is a lock-free stack (producers CAS its head,
    // the loop takes it whole); the eventfd is written only when the loop is
    // asleep in epoll, or about to be (Seastar's rule: poll() sets `sleeping`
    // before it sleeps and looks at the queue again after), so a busy loop
    // pays no syscall. Nothing here touches the switch or the run queue.

    // open_remote() makes the eventfd, once, so that other threads may post();
    // the loop's thread calls it before it hands this reactor to one. Throws
    // std::system_error.
    void open_remote();
    // post() hands w to this loop; any thread may call it once open_remote()
    // has. The reactor must be alive when post() starts; it may be gone
    // before post() returns (the loop may run w, and end, at once): post()
    // holds a reference on the shared part it still touches, and the
    // eventfd lives as long as that.
    void post(remote_work* w) noexcept;
    // has_posted() is true when posted work waits: one plain test while no
    // other thread can post, one load after.
    bool has_posted() const noexcept { return remote_ && remote_->posted.load(std::memory_order_acquire) != nullptr; }
    // run_posted() runs the work posted so far, oldest first (loop thread).
    void run_posted() noexcept;
    // wait_remote() parks the running fiber until posted work unparks it, or
    // park()'s other reasons; while it waits the loop does not call the
    // program deadlocked, and sleeps in epoll for the eventfd. An
    // uninterruptible wait ignores cancel() and with_timeout (park()'s rule).
    // `soon` says the wake is likely within microseconds (a to_thread call):
    // the loop then watches the queue a little before it sleeps (spin_for_posts).
    wake_reason wait_remote(wait_desc what, deadline until, bool interruptible = true, bool soon = false);
    // remote_waiters() is the number of fibers in wait_remote(); soon_waiters()
    // those of them that said `soon`.
    std::size_t remote_waiters() const noexcept { return remote_waiters_; }
    std::size_t soon_waiters() const noexcept { return soon_waiters_; }
    // spin_for_posts() watches the queue until work is posted or `limit`
    // passes (whichever first); true if work came. The loop calls it before
    // sleeping while soon_waiters() > 0: a hand-off that comes back within
    // microseconds then costs neither an eventfd write nor an epoll wake-up.
    bool spin_for_posts(deadline limit) const noexcept;
    // remote_wakes() counts the eventfd writes so far (a busy loop gets none).
    std::uint64_t remote_wakes() const noexcept { return remote_ ? remote_->wakes.load(std::memory_order_relaxed) : 0; }

private:
    struct slot {
        fiber* reader = nullptr;   // parked in wait(read)
        fiber* writer = nullptr;   // parked in wait(write)
        std::uint32_t gen = 0;     // bumped by add(): events of an older registration are stale
        fd_callback cb = nullptr;  // set by watch(): edges go to cb, not to fibers
        void* cb_ctx = nullptr;
        bool watched = false;
        bool readable = false;
        bool writable = false;
        bool read_hup = false;   // sticky: EPOLLRDHUP/HUP seen, reads must see EOF or the error
        bool write_hup = false;  // sticky: EPOLLHUP seen
    };

    // What other threads touch, on cache lines of its own so that their CAS
    // on `posted` never shares one with the loop's fields. On the heap and
    // counted: the reactor holds one reference, a post() in progress
    // another, and the last one closes the eventfd.
    struct alignas(64) remote_state {
        std::atomic<remote_work*> posted{nullptr};  // LIFO; the loop reverses it
        std::atomic<bool> sleeping{false};          // the loop is in (or entering) epoll_wait
        std::atomic<std::uint64_t> wakes{0};        // eventfd writes, for tests and stats
        std::atomic<unsigned> refs{1};              // the reactor + post()s in progress
        int efd = -1;                               // the eventfd, in the epoll set
        ~remote_state();
        void release() noexcept {
            if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
        }
    };

    void read_eventfd() noexcept;
    void drop(int fd, bool deregister) noexcept;

    int epfd_ = -1;
    std::vector<slot> slots_;  // indexed by fd; grows in add()
    std::size_t waiting_ = 0;
    std::size_t callbacks_ = 0;       // watched slots with a callback
    std::size_t remote_waiters_ = 0;  // fibers in wait_remote()
    std::size_t soon_waiters_ = 0;    // of those, the ones expecting a wake soon
    remote_state* remote_ = nullptr;  // made by open_remote(): post() may come
};

}  // namespace weft::detail
