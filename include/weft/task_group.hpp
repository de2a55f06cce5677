// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <list>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/task.hpp"
#include "weft/this_fiber.hpp"

namespace weft {

// task_group_error is what task_group::wait() throws when children failed:
// every failure, in the order they happened.
//
// How failures are reported, against the two best-known designs:
//  - Go's errgroup keeps the first error and drops the rest. weft keeps the
//    first as the one that matters (it is the nested exception, so
//    std::rethrow_if_nested(e) rethrows it as its own type: errgroup's rule in
//    one line) but drops nothing: exceptions() lists them all, the
//    failures of siblings that broke while being cancelled included.
//  - asyncio's TaskGroup raises an ExceptionGroup, even for a single failure,
//    and Python 3.11 added `except*` to match inside it. C++ has no
//    `except*`, so weft has one type to catch, always: wait() never
//    rethrows a lone failure bare, because a handler that sometimes sees the
//    bare exception and sometimes the group is the trap Trio's MultiError fell
//    into (and left, with strict exception groups).
//  - Cancellation and timeouts of the fiber that waits are not failures of
//    the group: they come out of wait() as weft::cancelled or
//    weft::timeout_error, never wrapped and never swallowed.
class task_group_error : public std::runtime_error, public std::nested_exception {
public:
    // task_group_error(errors) must be made while errors.front() is being
    // handled (inside its catch block), so that it is the nested exception;
    // task_group does that.
    explicit task_group_error(std::vector<std::exception_ptr> errors);

    // exceptions() is every failure, first first.
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }

private:
    std::vector<std::exception_ptr> errors_;
};

// task_group_options configure a task_group.
struct task_group_options {
    // limit is the most children that may run at once; spawn() parks while
    // that many are running. 0: no limit.
    std::size_t limit = 0;
    // supervise: a failing child does not cancel its siblings (an Erlang
    // supervisor's one-for-one, without the restart). The failures are still
    // collected and thrown by wait().
    bool supervise = false;
};

// task_group owns a set of fibers and never lets one outlive it: Trio's
// nursery, asyncio's TaskGroup, Go's errgroup, libdill's bundle.
//
//     weft::task_group g({.limit = 8});
//     for (auto& url : urls) g.spawn([&, url] { pages[url] = weft::http::get(url).body; });
//     g.wait();   // every child has ended; throws task_group_error if any failed
//
// - wait() and the destructor join every child, always, whatever happens.
// - The first child to fail (end with an exception) cancels its siblings,
//   unless the group supervises; wait() then throws task_group_error with
//   that failure first and any later ones after it. A child that ends with
//   weft::cancelled because it was cancelled has not failed.
// - Cancellation from outside is never swallowed: when the fiber in wait() is
//   cancelled, or its with_timeout() passes, wait() cancels the children,
//   joins them, and throws weft::cancelled or weft::timeout_error; a child
//   failure it cannot report that way is written to stderr. So
//   with_timeout(d, [&] { g.wait(); }) bounds a whole tree of fibers, which
//   with_timeout alone does not (it bounds the calls of its own fiber).
// - The destructor joins what wait() did not: it cancels the children first
//   when an exception is leaving the group's scope, and when its own wait is
//   interrupted (the cancellation or the expired deadline then reaches the
//   fiber's next blocking call); otherwise it waits for them to end. It
//   cannot throw, so failures nobody collected with wait() go to stderr:
//   call wait().
// - Children are ordinary fibers: they may spawn into the same group. Their
//   results are theirs to store (capture a place for them); spawn() returns
//   nothing.
// - After wait() returns or throws, the group is empty and may be used again.
//
// A task_group belongs to the fibers of one weft::run(); it is neither
// copyable nor movable.
class task_group {
public:
    using options = task_group_options;

    task_group() : task_group(options{}) {}
    explicit task_group(options opts) noexcept : limit_(opts.limit), supervise_(opts.supervise) {}
    ~task_group();
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // spawn(opts, fn, args...) starts fn(args...) in a child fiber, as
    // weft::spawn does; at the limit it first parks until a child ends. In a
    // group that is cancelling (a failure, cancel()) the child is cancelled
    // before it runs. Throws weft::cancelled / weft::timeout_error while
    // parked at the limit (fn is not started then), and what weft::spawn
    // throws.
    template <class Fn, class... Args>
    void spawn(spawn_options opts, Fn&& fn, Args&&... args) {
        acquire_slot();
        launch(std::move(opts), std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    template <class Fn, class... Args>
    requires(!std::is_same_v<std::decay_t<Fn>, spawn_options>) void spawn(Fn&& fn, Args&&... args) {
        spawn(spawn_options{}, std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    // try_spawn(...) is spawn() that never parks: false, with fn and args
    // untouched, when the group is at its limit.
    template <class Fn, class... Args>
    [[nodiscard]] bool try_spawn(spawn_options opts, Fn&& fn, Args&&... args) {
        if (!try_acquire_slot()) return false;
        launch(std::move(opts), std::forward<Fn>(fn), std::forward<Args>(args)...);
        return true;
    }

    template <class Fn, class... Args>
    requires(!std::is_same_v<std::decay_t<Fn>, spawn_options>) [[nodiscard]] bool try_spawn(Fn&& fn, Args&&... args) {
        return try_spawn(spawn_options{}, std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    // wait() parks until every child has ended, then throws task_group_error
    // if any failed. Throws weft::cancelled / weft::timeout_error when the
    // waiting fiber is interrupted (after cancelling and joining the
    // children), std::system_error(errc::no_scheduler) outside a fiber, and
    // resource_deadlock_would_occur when a child waits for its own group.
    void wait();

    // cancel() cancels every child; children spawned later are cancelled
    // before they run, until wait() returns. It is not a failure: wait()
    // then returns normally unless a child failed.
    void cancel() noexcept;

    // size() is the number of children that have not ended.
    std::size_t size() const noexcept { return children_.size(); }
    // limit() is the concurrency limit, 0 for none.
    std::size_t limit() const noexcept { return limit_; }

private:
    struct child {
        detail::task_base* task = nullptr;  // null while spawn() is making it
    };
    using child_iter = std::list<child>::iterator;

    // token is a child's place in the group: made when its slot is taken,
    // it lives in the child's task (inside the callable) and, destroyed,
    // ends the child in the group: after the body ran, or when a child
    // cancelled before it ran is freed. So the group learns of every end.
    class token {
    public:
        token(task_group* g, child_iter it) noexcept : g_(g), it_(it) {}
        token(token&& o) noexcept : g_(std::exchange(o.g_, nullptr)), it_(o.it_) {}
        token& operator=(token&&) = delete;
        ~token() {
            if (g_) g_->ended(it_);
        }
        void failed(std::exception_ptr e) { g_->failed(std::move(e)); }

    private:
        task_group* g_;
        child_iter it_;
    };

    // body<F, A...> runs fn(args...) for the group: it reports a failure,
    // then (its members destroyed in reverse order) frees the callable
    // before the token ends the child.
    template <class F, class... A>
    class body {
    public:
        template <class Fn, class... Args>
        explicit body(token tok, Fn&& fn, Args&&... args)
            : tok_(std::move(tok)), call_(std::forward<Fn>(fn), std::forward<Args>(args)...) {}

        void operator()() {
            try {
                auto call = [](F& f, A&... a) { static_cast<void>(std::invoke(std::move(f), std::move(a)...)); };
                std::apply(call, call_);
            } catch (const cancelled&) {
                // Cancelled, and it let cancelled out: not a failure. A
                // cancelled that escapes a fiber nobody cancelled (from a
                // join of another task) is one.
                if (this_fiber::cancellation_requested()) throw;
                tok_.failed(std::current_exception());
            } catch (...) {
                tok_.failed(std::current_exception());
            }
        }

    private:
        token tok_;  // first: destroyed last
        std::tuple<F, A...> call_;
    };

    template <class Fn, class... Args>
    void launch(spawn_options&& opts, Fn&& fn, Args&&... args) {
        child_iter it = children_.emplace(children_.end());
        token tok(this, it);  // from here on, the slot and the entry are the token's to give back
        task<void> t =
            weft::spawn(std::move(opts), body<std::decay_t<Fn>, std::decay_t<Args>...>(
                                             std::move(tok), std::forward<Fn>(fn), std::forward<Args>(args)...));
        it->task = detail::task_access(t);
        if (cancelling_) t.cancel();
        t.detach();  // the group holds the task through `it` until the token ends it
    }

    void acquire_slot();
    bool try_acquire_slot() noexcept;
    void release_slot() noexcept;
    void ended(child_iter it) noexcept;
    void failed(std::exception_ptr e);
    detail::wake_reason join(bool interruptible);
    void report_lost(const char* why) noexcept;

    std::size_t limit_;
    bool supervise_;
    bool cancelling_ = false;
    std::size_t slots_ = 0;                      // slots held by children (only with a limit)
    int uncaught_ = std::uncaught_exceptions();  // at construction, to tell unwinding apart
    std::list<child> children_;                  // every child not yet ended
    std::vector<std::exception_ptr> errors_;     // failures since the last wait()
    detail::wait_list joiners_;                  // fibers in wait() or the destructor
    detail::wait_list slot_waiters_;             // spawners parked at the limit; slot -> bool granted
};

}  // namespace weft
