// SPDX-License-Identifier: MIT
// Invariants:
//  - a pool_call is in exactly one place: the queue, a worker, the loop's
//    posted list, or (finished) its fiber; it is freed by the fiber once
//    finished, or by on_done() once abandoned;
//  - every call taken from the queue is posted back, run or not, so the loop
//    sees each one exactly once and no call leaks;
//  - workers never touch a fiber, the scheduler or the reactor but through
//    reactor::post();
//  - the pool dies before the reactor (services go first), and joins its
//    workers first: no post can reach a dead reactor.
#include "detail/thread_pool.hpp"

#include <pthread.h>

#include <chrono>
#include <system_error>
#include <utility>

#include "detail/scheduler.hpp"

namespace weft::detail {

void pool_call::on_done(remote_work* w) noexcept {
    auto* c = static_cast<pool_call*>(w);
    if (c->abandoned) {
        delete c;  // the result, if any, dies here, on the loop's thread
        return;
    }
    c->finished = true;
    scheduler::current()->unpark(c->waiter, wake_reason::ready);
}

thread_pool::thread_pool(std::size_t max, reactor& loop) : loop_(loop), max_(max == 0 ? 1 : max) {
    loop_.open_remote();
    threads_.reserve(max_);
}

thread_pool::~thread_pool() {
    {
        std::lock_guard lock(m_);
        stopping_ = true;
        stopping_flag_.store(true, std::memory_order_relaxed);
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    // Every call the workers took was posted back; the fibers are gone, so
    // these are all abandoned: run them to free them.
    loop_.run_posted();
}

void thread_pool::submit(pool_call* c) {
    bool wake = false;
    {
        std::lock_guard lock(m_);
        queue_.push_back(c);
        queued_.store(queue_.size(), std::memory_order_release);
        // A new worker only when none is idle to take this call: threads are
        // started on demand, up to max_, and then kept until run() ends.
        if (idle_ < queue_.size() && threads_.size() < max_) {
            try {
                threads_.emplace_back([this] { work(); });
            } catch (const std::system_error&) {
                if (threads_.empty()) {  // nobody would ever run it
                    queue_.pop_back();
                    queued_.store(queue_.size(), std::memory_order_release);
                    throw;
                }
                // the workers there are will get to it
            }
        }
        // A spinning worker takes it without a wake-up; wake a sleeper only
        // for the calls the spinners cannot take.
        wake = sleeping_ > 0 && queue_.size() > idle_ - sleeping_;
    }
    if (wake) cv_.notify_one();
}

void thread_pool::work() noexcept {
    ::pthread_setname_np(::pthread_self(), "weft-pool");
    for (;;) {
        pool_call* c;
        {
            std::unique_lock lock(m_);
            ++idle_;
            if (queue_.empty() && !stopping_) {
                // Spin a little before sleeping: a fiber that calls to_thread
                // again right after its last call returned (a loop of reads)
                // finds this worker awake, and neither side pays a futex.
                lock.unlock();
                const auto until = std::chrono::steady_clock::now() + spin_for;
                while (queued_.load(std::memory_order_acquire) == 0 &&
                       !stopping_flag_.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < until)
                    __builtin_ia32_pause();
                lock.lock();
            }
            if (queue_.empty() && !stopping_) {
                ++sleeping_;
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                --sleeping_;
            }
            --idle_;
            if (queue_.empty()) return;  // stopping, and nothing left to hand back
            c = queue_.front();
            queue_.pop_front();
            queued_.store(queue_.size(), std::memory_order_release);
        }
        unsigned char expected = pool_call::queued;
        if (c->state.compare_exchange_strong(expected, pool_call::running, std::memory_order_acq_rel))
            c->job->execute();
        c->loop->post(c);
    }
}

thread_pool& current_pool() {
    const run_options& opts = run_settings("weft::to_thread");
    return current_service<thread_pool>("weft::to_thread", [&] {
        std::size_t n = opts.thread_pool_size ? opts.thread_pool_size : default_thread_pool_size();
        return std::make_unique<thread_pool>(n, current_reactor("weft::to_thread"));
    });
}

}  // namespace weft::detail
