// SPDX-License-Identifier: MIT
// Invariants:
//  - slot i's `io` is set only while loop i takes posts: from open() (its
//    reactor can take remote work) to close() (called before the reactor
//    goes); post_to() posts under the slot's mutex, so no post reaches a
//    reactor that is gone;
//  - threads_[k] runs loop k + 1; thread 0 is run()'s caller and is not here;
//  - stop() is called once, by thread 0, after its own loop ended.
#include "detail/thread_group.hpp"

#include <pthread.h>

#include <cstdio>
#include <exception>
#include <string>
#include <system_error>

namespace weft::detail {

thread_group::thread_group(std::size_t n, const run_options& opts) : opts_(opts) {
    slots_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        slots_.push_back(std::make_unique<slot>());
        slots_.back()->stop.run = &stop_worker;
    }
}

thread_group::~thread_group() { stop(); }

bool thread_group::post_to(std::size_t i, remote_work* w) noexcept {
    slot& s = *slots_[i];
    std::lock_guard lock(s.m);
    if (!s.io) return false;
    s.io->post(w);
    return true;
}

void thread_group::open(std::size_t i, reactor& io) noexcept {
    slot& s = *slots_[i];
    {
        std::lock_guard lock(s.m);
        s.io = &io;
    }
    if (i == 0) return;
    {
        std::lock_guard lock(start_m_);
        s.opened = true;
        ++started_;
    }
    start_cv_.notify_all();
}

void thread_group::close(std::size_t i) noexcept {
    slot& s = *slots_[i];
    std::lock_guard lock(s.m);
    s.io = nullptr;
}

void thread_group::start() {
    const std::size_t workers = slots_.size() - 1;
    try {
        threads_.reserve(workers);
        for (std::size_t i = 1; i <= workers; ++i) threads_.emplace_back([this, i] { run_thread(i); });
    } catch (...) {
        stop();
        throw;
    }
    std::unique_lock lock(start_m_);
    start_cv_.wait(lock, [&] { return started_ == workers; });
    if (failed_) {
        lock.unlock();
        stop();
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "weft::run: a thread's loop could not start");
    }
}

void thread_group::stop() noexcept {
    for (std::size_t i = 1; i < slots_.size(); ++i) post_to(i, &slots_[i]->stop);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

void thread_group::run_thread(std::size_t i) noexcept {
    std::string name = "weft-loop-" + std::to_string(i);
    ::pthread_setname_np(::pthread_self(), name.c_str());
    try {
        run_worker(*this, i, opts_);
        return;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft: thread %zu of run(): %s\n", i, e.what());
    } catch (...) {
        std::fprintf(stderr, "weft: thread %zu of run(): an exception\n", i);
    }
    bool tell = false;
    {
        std::lock_guard lock(start_m_);
        if (!slots_[i]->opened) {  // start() is waiting for this one
            failed_ = true;
            ++started_;
            tell = true;
        }
    }
    if (tell) start_cv_.notify_all();
}

}  // namespace weft::detail
