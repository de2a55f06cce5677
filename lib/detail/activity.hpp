// SPDX-License-Identifier: MIT
// activity: what a fiber is doing at the level the user called — "weft::
// http::get http://example.com/" around the socket waits it makes — so that
// weft::dump and the deadlock report name the call and its target, not only
// "read fd 7". The layers above the loop (dns, http) set it for the length
// of a call; the text is made only when a dump asks.
#pragma once

#include <ostream>

#include "detail/fiber.hpp"
#include "weft/detail/park.hpp"

namespace weft::detail {

// activity_label says what a fiber is doing: describe(ctx, os) writes it.
// It lives in the frame of the call it describes.
struct activity_label {
    void (*describe)(const void* ctx, std::ostream& os);
    const void* ctx;
};

// activity labels the running fiber for its scope (nothing outside a
// fiber), restoring the label it had: calls nest (a redirect's lookup).
class activity {
public:
    activity(void (*describe)(const void*, std::ostream&), const void* ctx) noexcept
        : label_{describe, ctx}, fiber_(current_fiber()) {
        if (fiber_) {
            outer_ = fiber_->activity;
            fiber_->activity = &label_;
        }
    }
    ~activity() {
        if (fiber_) fiber_->activity = outer_;
    }
    activity(const activity&) = delete;
    activity& operator=(const activity&) = delete;

private:
    activity_label label_;
    fiber* fiber_;
    const activity_label* outer_ = nullptr;
};

}  // namespace weft::detail
