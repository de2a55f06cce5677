// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <system_error>

namespace weft {

// errc lists the errors weft itself raises; they compare equal to
// std::error_code{e, weft::error_category()}.
enum class errc {
    cancelled = 1,   // the fiber was cancelled while it waited
    timed_out,       // an enclosing with_timeout() deadline passed
    deadlock,        // every fiber is parked and nothing can wake any of them
    channel_closed,  // send() on a closed channel
    no_scheduler,    // a fiber call made outside weft::run()
    nested_run,      // weft::run() called while this thread already runs one
    no_stack,        // spawn() could not allocate a fiber stack
};

// error_category() is the category of weft::errc ("weft").
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// cancelled is thrown by a blocking call in a fiber that was cancelled.
// Cancellation is sticky: every later blocking call of that fiber throws it too.
class cancelled : public std::system_error {
public:
    cancelled();
};

// timeout_error is thrown by a blocking call when an enclosing with_timeout()
// deadline passes while it waits.
class timeout_error : public std::system_error {
public:
    timeout_error();
};

// deadlock is thrown by run() when every live fiber is parked with no timer and
// no file descriptor that could wake one; what() lists each parked fiber.
class deadlock : public std::system_error {
public:
    explicit deadlock(const std::string& report);
};

// channel_closed is thrown by channel<T>::send() once the channel is closed.
class channel_closed : public std::system_error {
public:
    channel_closed();
};

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};
