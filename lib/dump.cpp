// SPDX-License-Identifier: MIT
#include "weft/dump.hpp"

#include <ostream>

#include "detail/scheduler.hpp"

namespace weft {

void dump(std::ostream& out) {
    detail::scheduler* s = detail::scheduler::current();
    if (!s) {
        out << "weft: no run() on this thread\n";
        return;
    }
    s->dump(out);
}

}  // namespace weft
