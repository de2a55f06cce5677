// SPDX-License-Identifier: MIT
// The public edge: the one place where an error_code becomes an exception and
// where error messages are worded (STYLE.md, principle 10). Internals return
// std::error_code; each public throwing call ends in throw_error() with the
// name of the function the user called and its target, never an internal one.
#pragma once

#include <cerrno>
#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>

namespace weft::detail {

// errno_code() is errno (or e) in the generic category.
inline std::error_code errno_code(int e = errno) noexcept { return {e, std::generic_category()}; }

// throw_error(ec, what) throws what `ec` stands for: weft::cancelled(what),
// weft::timeout_error(what, ...) or std::system_error(ec, what). A timeout
// that an enclosing with_timeout() caused says so.
[[noreturn]] void throw_error(std::error_code ec, std::string_view what);
// throw_error(ec, what, timeout) is throw_error() for a call that took its own
// `timeout`: a timeout names it ("(timeout 5 s)") unless an enclosing
// with_timeout() was what passed.
[[noreturn]] void throw_error(std::error_code ec, std::string_view what, std::chrono::nanoseconds timeout);

// timeout_detail(timeout, name) is what a timeout_error says in parentheses:
// "an enclosing with_timeout" when that deadline has passed, otherwise
// "<name> 5 s" (name: "timeout", or an option's name such as "connect_timeout").
std::string timeout_detail(std::chrono::nanoseconds timeout, std::string_view name = "timeout");

// format_duration(d) writes d in the largest unit that says it exactly:
// "5 s", "250 ms", "1500 us", "2 min"; "no limit" for weft::no_timeout.
std::string format_duration(std::chrono::nanoseconds d);

// without_message(e) is e's what() without the ": <message>" that
// std::system_error appends, so that an error rewrapped with more context
// says its message once.
inline std::string without_message(const std::system_error& e) {
    std::string w = e.what();
    const std::string tail = ": " + e.code().message();
    if (w.size() >= tail.size() && w.compare(w.size() - tail.size(), tail.size(), tail) == 0)
        w.resize(w.size() - tail.size());
    return w;
}

// exception_text(e) is e's what(), for a std::exception or weft::cancelled.
std::string exception_text(const std::exception_ptr& e);

}  // namespace weft::detail
