// SPDX-License-Identifier: MIT
// The program tests/gdb_test.sh looks at with scripts/weft-gdb.py: it parks
// three named fibers, each in a function of its own — a channel recv, a
// sleep and a socket read — then calls weft_gdb_test_stop(), where gdb
// stops it. Left alone it goes on and ends by itself; with the argument
// "abort" it aborts there instead (a core dump, where the limit allows one).
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

using namespace std::chrono_literals;

// The breakpoint: gdb stops here with every fiber but main parked.
extern "C" [[gnu::noinline]] void weft_gdb_test_stop() { asm volatile("" ::: "memory"); }

namespace {

// Each waits in a frame of its own; the empty asm after the call keeps the
// call from becoming a tail call, which would leave no frame to show.
[[gnu::noinline]] void receive_forever(weft::channel<int>& ch) {
    ch.recv();
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void sleep_long() {
    weft::this_fiber::sleep_for(1h);
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void read_socket(weft::net::tcp_stream& s) {
    char buf[16];
    s.read_some(std::span(buf));
    asm volatile("" ::: "memory");
}

}  // namespace

int main(int argc, char** argv) {
    const bool abort_there = argc > 1 && std::string_view(argv[1]) == "abort";
    return weft::run([abort_there] {
        weft::channel<int> ch(0);
        auto l = weft::net::tcp_listener::bind(weft::net::address::loopback());
        auto client = weft::net::tcp_stream::connect(l.local_address());
        auto server = l.accept();
        auto receiver = weft::spawn(weft::spawn_options{.name = "receiver"}, [&] { receive_forever(ch); });
        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { sleep_long(); });
        auto reader = weft::spawn(weft::spawn_options{.name = "reader"}, [&] { read_socket(server); });
        weft::this_fiber::sleep_for(20ms);
        weft_gdb_test_stop();
        if (abort_there) std::abort();
        ch.close();
        std::puts("gdb_fibers: done");
        return 0;
    });
}
