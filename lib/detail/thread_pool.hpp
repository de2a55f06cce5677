// SPDX-License-Identifier: MIT
// The worker threads behind weft::to_thread(): one pool per run(), a service.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "detail/reactor.hpp"
#include "detail/runtime.hpp"
#include "weft/to_thread.hpp"

namespace weft::detail {

// pool_call is one to_thread() call in flight. The calling fiber makes it and
// waits; a worker runs its job and posts it back to the loop, where on_done()
// wakes the fiber. If the fiber gives up first (timeout, cancel) it marks the
// call abandoned and on_done() frees it instead: the call outlives the fiber.
struct pool_call final : remote_work {
    enum : unsigned char { queued, running, abandoned_before_start };

    std::unique_ptr<thread_job> job;
    fiber* waiter = nullptr;  // the fiber parked on it (loop thread only)
    reactor* loop = nullptr;  // where the worker posts it back
    bool abandoned = false;   // the fiber stopped waiting (loop thread only)
    bool finished = false;    // on_done() ran (loop thread only)
    // The only field both threads write: a worker takes the call with
    // queued -> running; a fiber that gives up first makes it
    // queued -> abandoned_before_start and the job never runs.
    std::atomic<unsigned char> state{queued};

    static void on_done(remote_work* w) noexcept;
};

// thread_pool starts up to `max` worker threads, on demand, for one run();
// its destructor (at the end of run(), before the reactor goes) lets them
// finish what they run, joins them, and hands the calls they posted back to
// the loop so that abandoned ones are freed.
//
// The queue is a mutex and a condition variable: workers are ordinary
// threads that block, and the loop holds the lock for a push only.
class thread_pool final : public service {
public:
    thread_pool(std::size_t max, reactor& loop);
    ~thread_pool() override;

    // submit() queues c (loop thread). Throws std::system_error when no
    // worker thread exists and none can be started; c is not queued then.
    void submit(pool_call* c);

    // threads() is the number of worker threads started so far.
    std::size_t threads() const noexcept { return threads_.size(); }

private:
    void work() noexcept;

    // spin_for is how long an idle worker watches the queue before it sleeps.
    static constexpr std::chrono::microseconds spin_for{50};

    reactor& loop_;
    const std::size_t max_;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<pool_call*> queue_;            // guarded by m_
    std::size_t idle_ = 0;                    // workers waiting for a call (spinning or asleep), guarded by m_
    std::size_t sleeping_ = 0;                // of those, asleep on cv_, guarded by m_
    bool stopping_ = false;                   // guarded by m_
    std::atomic<std::size_t> queued_{0};      // queue_.size(), for spinners to watch without the lock
    std::atomic<bool> stopping_flag_{false};  // stopping_, likewise
    std::vector<std::thread> threads_;        // loop thread only
};

// current_pool() is this run's pool, made on first use. Throws
// std::system_error(errc::no_scheduler) outside a fiber.
thread_pool& current_pool();

}  // namespace weft::detail
