// SPDX-License-Identifier: MIT
// The node another thread hands a loop. Users never include this header.
#pragma once

namespace weft::detail {

// remote_work is one piece of work another thread hands a loop
// (reactor::post, lib/detail/reactor.hpp): an intrusive node, so posting
// allocates nothing, whose run() is called once, on the loop's thread, in the
// order posted. run() may free the node.
struct remote_work {
    remote_work* next = nullptr;
    void (*run)(remote_work*) noexcept = nullptr;
};

}  // namespace weft::detail
