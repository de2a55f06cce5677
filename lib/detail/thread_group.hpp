// SPDX-License-Identifier: MIT
// The threads of one run(run_options{.threads = N}): a loop per thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "detail/reactor.hpp"
#include "weft/run.hpp"

namespace weft::detail {

// thread_group is what the N loops of one run() share: for each, the door
// other threads post to (spawn_on, cancel, stop). Thread 0 is the thread
// that called run(); it makes the group, starts the others, and at the end
// stops and joins them. A fiber never leaves its loop; only posted work
// crosses.
class thread_group {
public:
    // thread_group(n, opts) is a group of n loops; none is started yet.
    thread_group(std::size_t n, const run_options& opts);
    ~thread_group();
    thread_group(const thread_group&) = delete;
    thread_group& operator=(const thread_group&) = delete;

    std::size_t size() const noexcept { return slots_.size(); }

    // post_to() hands w to loop i; false (w untouched) when that loop does
    // not take work: not started yet, or ended. Any thread.
    bool post_to(std::size_t i, remote_work* w) noexcept;
    // open() makes loop i take posts (its own thread, its reactor open for
    // remote work); close() stops that, before the loop's reactor goes.
    void open(std::size_t i, reactor& io) noexcept;
    void close(std::size_t i) noexcept;

    // start() starts threads 1..n-1, each running a loop until stop(), and
    // returns once they all take posts. Throws std::system_error when one
    // cannot be started (those started are stopped again).
    void start();
    // stop() asks every other loop to end (their fibers are cancelled and
    // unwound) and joins their threads. Thread 0, after its own loop ended.
    void stop() noexcept;

private:
    struct slot {
        std::mutex m;
        reactor* io = nullptr;  // under m: set while the loop takes posts
        remote_work stop;       // posted by stop()
        bool opened = false;    // under start_m_: its loop took posts once
    };

    void run_thread(std::size_t i) noexcept;

    run_options opts_;
    std::vector<std::unique_ptr<slot>> slots_;
    std::vector<std::thread> threads_;
    std::mutex start_m_;
    std::condition_variable start_cv_;
    std::size_t started_ = 0;  // under start_m_: threads whose loop opened, or failed to
    bool failed_ = false;      // under start_m_
};

// run_worker() is the body of thread i (i > 0): a run() whose main fiber
// waits until stop_worker() is posted to it. Defined in run.cpp, which owns
// the runtime; calls group.open(i, ...) once its loop takes posts, and
// reports a failure to start through the exception it throws.
void run_worker(thread_group& group, std::size_t i, const run_options& opts);
// stop_worker is the remote_work::run that stop() posts: the loop's main
// fiber returns. Defined in run.cpp.
void stop_worker(remote_work* w) noexcept;

}  // namespace weft::detail
