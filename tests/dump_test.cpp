// SPDX-License-Identifier: MIT
// weft::dump: every live fiber, its state and wait, read back from the text.
#include <catch2/catch.hpp>
#include <sstream>
#include <weft/weft.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("dump lists every fiber with its state, what it waits on and its stack") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(0);
        weft::mutex m;
        m.lock();
        auto l = weft::net::tcp_listener::bind(weft::net::address::loopback());
        auto receiver = weft::spawn(weft::spawn_options{.name = "receiver"}, [&] { ch.recv(); });
        auto locker = weft::spawn(weft::spawn_options{.name = "locker"}, [&] { std::lock_guard g(m); });
        auto sleeper = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
        auto acceptor = weft::spawn(weft::spawn_options{.name = "acceptor"}, [&] { l.accept(); });
        auto fresh = weft::spawn(weft::spawn_options{.name = "fresh"}, [] {});
        weft::this_fiber::sleep_for(5ms);  // all but `fresh` parked now; fresh has ended
        auto late = weft::spawn(weft::spawn_options{.name = "late"}, [] {});
        std::ostringstream out;
        weft::dump(out);
        std::string text = out.str();
        INFO(text);
        CHECK_THAT(text, Catch::Contains("weft: 6 live fibers"));  // main, four parked, late
        CHECK_THAT(text, Catch::Contains("fiber #1 'main' is running"));
        CHECK_THAT(text, Catch::Contains("'receiver' waits on channel"));
        CHECK_THAT(text, Catch::Contains("'locker' waits on mutex"));
        CHECK_THAT(text, Catch::Contains("'sleeper' waits on sleep"));
        CHECK_THAT(text, Catch::Contains("'acceptor' waits on "));
        CHECK_THAT(text, Catch::Contains(" fd " + std::to_string(l.native_handle())));
        CHECK_THAT(text, Catch::Contains("'late' is ready"));
        CHECK_THAT(text, !Catch::Contains("'fresh'"));
        CHECK_THAT(text, Catch::Contains("KiB resident"));
        m.unlock();
        ch.close();
        locker.join();
        sleeper.cancel();
        acceptor.cancel();
        late.join();
    });
    std::ostringstream outside;
    weft::dump(outside);
    CHECK(outside.str() == "weft: no run() on this thread\n");
}
