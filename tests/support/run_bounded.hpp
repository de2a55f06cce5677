// SPDX-License-Identifier: MIT
// run_bounded(limit, fn): weft::run(fn) under a watchdog, checked for leaks.
//  - the watchdog aborts the process, naming the test, if fn has not returned
//    after `limit` (a hang fails fast and loudly instead of eating CI's time);
//  - after run() returns, every fiber has ended by construction; the open fd
//    count must be what it was before (fds are counted in /proc/self/fd).
#pragma once

#include <dirent.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <weft/weft.hpp>

namespace weft::test {

// open_fds() is the number of open file descriptors of this process.
inline int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
        --n;  // the DIR's own fd
    }
    return n;
}

// raise_fd_limit(want) raises the soft RLIMIT_NOFILE to `want`, or to the hard
// limit when that is lower (for tests that hold thousands of sockets).
inline void raise_fd_limit(rlim_t want) {
    rlimit rl{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::min(want, rl.rlim_max);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
}

// watchdog aborts the process if it is not destroyed within `limit`.
class watchdog {
public:
    explicit watchdog(std::chrono::milliseconds limit, std::string what)
        : thread_([this, limit, what = std::move(what)] {
              std::unique_lock lock(m_);
              if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
                  std::fprintf(stderr, "watchdog: '%s' still running after %lld ms; aborting\n", what.c_str(),
                               static_cast<long long>(limit.count()));
                  std::abort();
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(m_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

inline std::string current_test_name() { return Catch::getResultCapture().getCurrentTestName(); }

// run_bounded(limit, opts, fn) is run_bounded(limit, fn) with run_options.
template <class Rep, class Period, class Fn>
decltype(auto) run_bounded(std::chrono::duration<Rep, Period> limit, weft::run_options opts, Fn&& fn) {
    const int fds_before = open_fds();
    struct fd_check {
        int before;
        ~fd_check() noexcept(false) {
            if (std::uncaught_exceptions() == 0) CHECK(open_fds() == before);
        }
    } check{fds_before};
    watchdog dog(std::chrono::duration_cast<std::chrono::milliseconds>(limit), current_test_name());
    return weft::run(opts, std::forward<Fn>(fn));
}

template <class Rep, class Period, class Fn>
decltype(auto) run_bounded(std::chrono::duration<Rep, Period> limit, Fn&& fn) {
    return run_bounded(limit, weft::run_options{}, std::forward<Fn>(fn));
}

// run_watched(limit, fn) is weft::run(fn) under the watchdog only, without
// the fd count, for tests where other threads open and close descriptors at
// the same time (each in a run() of its own). Catch's assertions are not
// thread-safe: only the test's own thread may make them.
template <class Rep, class Period, class Fn>
decltype(auto) run_watched(std::chrono::duration<Rep, Period> limit, Fn&& fn) {
    watchdog dog(std::chrono::duration_cast<std::chrono::milliseconds>(limit), current_test_name());
    return weft::run(std::forward<Fn>(fn));
}

}  // namespace weft::test
