// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "weft/task.hpp"

namespace weft {

// run_options tune one run(): its own fiber, the one that runs fn, and the
// threads it may start.
struct run_options {
    // stack_size of that fiber, as spawn_options::stack_size: 0 is the
    // default (64 KiB, four times that under ASan or TSan).
    std::size_t stack_size = 0;
    // thread_pool_size is the most worker threads to_thread() may start for
    // this run (they are started on demand and joined when run() returns).
    // 0 is the default, default_thread_pool_size(): min(32, cores + 4).
    std::size_t thread_pool_size = 0;
    // threads is how many threads run() drives a loop on, each with its own
    // scheduler, reactor, timers, DNS channel, HTTP and to_thread pools; a
    // fiber never moves from one to another. fn runs on the calling thread
    // (thread 0); spawn_on() starts fibers on the others, shared_task<T> and
    // shared_channel<T> cross between them, and SO_REUSEPORT listeners
    // (net::bind_options::reuse_port) let each thread accept on one port.
    // When fn returns, every thread's fibers are cancelled and unwound and
    // the threads joined. 1 (the default) is the plain one-thread run, which
    // pays nothing for any of this; 0 is one thread per CPU this process may
    // use.
    std::size_t threads = 1;
    // dump_signal, when not 0, is a signal (SIGUSR1, say) on which the run
    // writes weft::dump to stderr, as Go prints its goroutines on SIGQUIT,
    // and goes on running: every thread of the run lists its own fibers,
    // from its loop, between two turns. The handler only counts the signal
    // and writes to an eventfd. Off (0) by default; the signal's previous
    // action comes back when the last run that listens for it ends. run()
    // throws std::system_error(EINVAL) for a signal that cannot be caught.
    int dump_signal = 0;
};

// thread_index() is the index of the calling thread in the running run()
// (0 for the thread that called it, and outside a run); thread_count() is
// how many threads that run() drives (1 for the one-thread run, 0 outside).
std::size_t thread_index() noexcept;
std::size_t thread_count() noexcept;

// default_thread_pool_size() is min(32, the CPUs this process may use + 4),
// asyncio's default for to_thread(): I/O-bound blocking calls need more
// threads than cores, CPU-bound ones are bounded by the cores anyway.
std::size_t default_thread_pool_size() noexcept;

namespace detail {
class thread_group;

// run_scope makes this thread's scheduler and tears it down; drive() runs the
// loop until every fiber has ended. Both live in lib/run.cpp.
class run_scope {
public:
    // run_scope(opts) makes this thread's runtime, and starts the other
    // threads of opts.threads; throws std::system_error(errc::nested_run)
    // inside a run. With a group, it is thread `index` of that group's run.
    explicit run_scope(const run_options& opts, thread_group* group = nullptr, std::size_t index = 0);
    ~run_scope();
    run_scope(const run_scope&) = delete;
    run_scope& operator=(const run_scope&) = delete;
    void drive(task_base* main);  // throws weft::deadlock
};
}  // namespace detail

// run(fn) makes this thread's scheduler, runs fn() as its first fiber ("main"),
// and drives the loop until fn returns. Fibers still alive then are cancelled
// and unwound (their destructors run): nothing outlives run(). Returns fn()'s
// result or rethrows its exception; throws weft::deadlock when every fiber is
// parked with nothing left that could wake one. A fiber never leaves the
// thread that called run(), so thread_local values stay valid across switches.
// run() may be called again after it returns, but not from inside a fiber.
// run(opts, fn) is run(fn) with options (fn's stack, the to_thread pool).
template <class Fn>
std::invoke_result_t<std::decay_t<Fn>> run(run_options opts, Fn&& fn) {
    detail::run_scope scope(opts);
    auto main = spawn(spawn_options{.name = "main", .stack_size = opts.stack_size}, std::forward<Fn>(fn));
    scope.drive(detail::task_access(main));
    return std::move(main).join();
}

template <class Fn>
requires(!std::is_same_v<std::decay_t<Fn>, run_options>) std::invoke_result_t<std::decay_t<Fn>> run(Fn&& fn) {
    return run(run_options{}, std::forward<Fn>(fn));
}

}  // namespace weft
