// SPDX-License-Identifier: MIT
#pragma once

#include <iosfwd>

namespace weft {

// dump(out) writes one line per live fiber of this thread's run(), like Go's
// goroutine dump but with names and waits: its id and name, its state
// (running, ready, or parked), what a parked fiber waits on (a channel, a
// mutex, an fd and its direction, a DNS lookup, a sleep, ...), and how much of
// its stack is resident. Safe from any fiber of the run, or from its loop;
// outside run() it writes one line saying there is no run.
void dump(std::ostream& out);

}  // namespace weft
