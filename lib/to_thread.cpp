// SPDX-License-Identifier: MIT
// to_thread(): the calling fiber's side of a pool call.
#include "weft/to_thread.hpp"

#include <algorithm>

#include "detail/scheduler.hpp"
#include "detail/thread_pool.hpp"
#include "weft/errors.hpp"
#include "weft/run.hpp"

namespace weft {

std::size_t default_thread_pool_size() noexcept { return std::min<std::size_t>(32, detail::usable_cpus() + 4); }

namespace detail {

void run_on_pool(std::unique_ptr<thread_job>& job, deadline until) {
    scheduler* s = scheduler::current();
    fiber* self = s ? s->running() : nullptr;
    if (!self) throw_outside_fiber("weft::to_thread");
    // Already cancelled or out of time: the job is not even queued.
    if (self->cancel_requested) throw_if_interrupted(wake_reason::cancelled);
    if (std::min(until, self->scope) <= clock::now()) {
        if (until <= self->scope) throw timeout_error("weft::to_thread", "its own timeout");
        throw_if_interrupted(wake_reason::scope_expired, "weft::to_thread");
    }

    thread_pool& pool = current_pool();
    reactor& io = current_reactor("weft::to_thread");
    auto owned = std::make_unique<pool_call>();
    owned->run = &pool_call::on_done;
    owned->job = std::move(job);
    owned->waiter = self;
    owned->loop = &io;
    pool.submit(owned.get());
    pool_call* c = owned.release();  // shared with the pool now; see pool_call

    wake_reason why = wake_reason::ready;
    while (!c->finished) {
        why = io.wait_remote({"to_thread", c}, until, true, true);
        if (why != wake_reason::ready) break;
    }
    if (c->finished) {
        job = std::move(c->job);
        delete c;
        return;
    }
    // Given up: the fiber leaves now. A job still queued never runs; one that
    // runs finishes on its thread, and on_done() frees it on the loop.
    c->abandoned = true;
    unsigned char expected = pool_call::queued;
    c->state.compare_exchange_strong(expected, pool_call::abandoned_before_start, std::memory_order_acq_rel);
    if (why == wake_reason::timed_out) throw timeout_error("weft::to_thread", "its own timeout");
    throw_if_interrupted(why, "weft::to_thread");
    throw timeout_error("weft::to_thread");  // not reached: the other reasons throw above
}

}  // namespace detail
}  // namespace weft
