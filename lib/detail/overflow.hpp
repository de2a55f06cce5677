// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>

namespace weft::detail {

// overflow_guard turns a fault in a fiber's guard pages into a clear message,
//   weft: fiber #12 'worker' overflowed its 64 KiB stack
// followed by abort(). It installs a SIGSEGV handler (again whenever a run()
// finds another one put in its place since; faults that are not a fiber's
// overflow go on to the handler it found there)
// and, for the life of run(), an alternate signal stack on this thread, since
// the overflowing stack has no room left to run the handler on.
class overflow_guard {
public:
    overflow_guard();
    ~overflow_guard();
    overflow_guard(const overflow_guard&) = delete;
    overflow_guard& operator=(const overflow_guard&) = delete;

private:
    void* alt_stack_ = nullptr;  // ours, if the thread had none
    std::size_t alt_size_ = 0;
};

}  // namespace weft::detail
