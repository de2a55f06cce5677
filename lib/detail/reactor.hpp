// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>

#include "weft/timeout.hpp"

namespace weft::detail {

// reactor watches file descriptors with epoll and wakes the fibers parked on
// them. It knows nothing of sockets or timers: poll() is told how long it may
// sleep.
class reactor {
public:
    reactor();   // epoll_create1(EPOLL_CLOEXEC); throws std::system_error
    ~reactor();
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;

    // waiting() is the number of fibers parked on a file descriptor.
    std::size_t waiting() const noexcept { return waiting_; }

    // poll() waits for events until `until` (`never`: no limit; a past
    // deadline: just look) and wakes the fibers whose fds are ready.
    void poll(deadline until);

private:
    int epfd_ = -1;
    std::size_t waiting_ = 0;
};

}  // namespace weft::detail
