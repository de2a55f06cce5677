// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace weft {

// errc lists the errors weft itself raises; they compare equal to
// std::error_code{e, weft::error_category()}. Every timeout in weft, whoever's
// deadline it was, is errc::timed_out (and compares equal to
// std::errc::timed_out); every cancellation is errc::cancelled (and compares
// equal to std::errc::operation_canceled).
enum class errc {
    cancelled = 1,   // the fiber was cancelled while it waited
    timed_out,       // a deadline passed: the call's own timeout or an enclosing with_timeout()
    deadlock,        // every fiber is parked and nothing can wake any of them
    channel_closed,  // send() on a closed channel
    no_scheduler,    // a fiber call made outside weft::run() (or on its loop, outside a fiber)
    nested_run,      // weft::run() called while this thread already runs one
    no_stack,        // spawn() could not allocate a fiber stack
};

// error_category() is the category of weft::errc ("weft").
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// cancelled is thrown by a blocking call in a fiber that was cancelled: its
// task's cancel(), its handle dropped, its task_group cancelling it, or run()
// ending. Cancellation is sticky: every later blocking call of that fiber
// throws it too.
//
// cancelled is deliberately NOT a std::exception (Python 3.8 moved
// CancelledError out of Exception for the same reason; Boost.Context's
// forced_unwind is no std::exception either). A handler written for errors,
// `catch (const std::exception&)`, lets it through, so a retry loop such as
// `for (;;) try { sleep_for(100ms); } catch (const std::exception&) {}` ends
// when its fiber is cancelled instead of spinning on a cancel it swallowed.
// A catch-all that really must see everything names it first:
//
//     try { ... }
//     catch (const weft::cancelled&) { throw; }   // clean up first if need be
//     catch (...) { ... }
//
// Its what() and code() (errc::cancelled) read like std::system_error's.
class cancelled {
public:
    cancelled();
    // cancelled(operation): what() is "<operation>: fiber cancelled".
    explicit cancelled(std::string_view operation);
    const char* what() const noexcept { return text_.what(); }
    std::error_code code() const noexcept { return make_error_code(errc::cancelled); }

private:
    std::runtime_error text_;  // copied without throwing, as an exception must be
};

// timeout_error is thrown by a blocking call when a deadline passes while it
// waits: the call's own `timeout` (connect, read, write, accept, resolve,
// http::get, to_thread, ...) or an enclosing with_timeout(). It is a
// std::system_error whose code() is errc::timed_out. what() says what timed
// out, and whose deadline it was, where the call knows it:
// "weft::net::tcp_stream::read_some (timeout 5 s): deadline passed",
// "weft::http::get http://host/ (waiting for the response headers; timeout
// 2 s): deadline passed", "... (an enclosing with_timeout): deadline passed".
class timeout_error : public std::system_error {
public:
    timeout_error();
    // timeout_error(operation, detail): what() is "<operation> (<detail>):
    // deadline passed", without the parentheses when detail is empty.
    explicit timeout_error(std::string_view operation, std::string_view detail = {});
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
