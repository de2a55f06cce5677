// SPDX-License-Identifier: MIT
#include "detail/reactor.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft::detail {

reactor::reactor() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "weft: epoll_create1");
}

reactor::~reactor() { ::close(epfd_); }

void reactor::poll(deadline until) {
    epoll_event events[256];
    timespec ts{};
    timespec* timeout = nullptr;
    if (until != never) {
        auto left = until - clock::now();
        if (left > left.zero()) {
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            ts.tv_sec = ns / 1'000'000'000;
            ts.tv_nsec = ns % 1'000'000'000;
        }
        timeout = &ts;
    }
    int n = ::epoll_pwait2(epfd_, events, 256, timeout, nullptr);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "weft: epoll_pwait2");
}

}  // namespace weft::detail
