// SPDX-License-Identifier: MIT
#include <array>
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/error_of.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("select receives from the channel that has a value", "[select]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(1), b(1);
        b.send(7);
        std::optional<int> got;
        std::size_t i = weft::select(weft::recv(a, [&](std::optional<int>) { FAIL("a had nothing"); }),
                                     weft::recv(b, [&](std::optional<int> v) { got = v; }));
        CHECK(i == 1);
        CHECK(got == 7);
        CHECK(b.size() == 0);
    });
}

TEST_CASE("select parks until one of several channels gets a value", "[select]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0), b(0);
        weft::channel<std::string> c(0);
        auto sender = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            c.send("hello");
        });
        std::string got;
        std::size_t i = weft::select(weft::recv(a, [](std::optional<int>) {}),
                                     weft::recv(c, [&](std::optional<std::string> v) { got = *v; }),
                                     weft::recv(b, [](std::optional<int>) {}));
        CHECK(i == 1);
        CHECK(got == "hello");
        sender.join();
        // select's waiters left a and b when it returned: nobody is parked there now.
        CHECK_FALSE(a.try_send(1));
        CHECK_FALSE(b.try_send(1));
    });
}

TEST_CASE("select chooses fairly among ready receives", "[select][fairness]") {
    weft::test::run_bounded(20s, [] {
        constexpr int rounds = 3000;
        std::array<weft::channel<int>, 3> ch{weft::channel<int>(1), weft::channel<int>(1), weft::channel<int>(1)};
        for (auto& c : ch) c.send(0);
        std::array<int, 3> chosen{};
        for (int r = 0; r < rounds; ++r) {
            std::size_t i =
                weft::select(weft::recv(ch[0], [](std::optional<int>) {}), weft::recv(ch[1], [](std::optional<int>) {}),
                             weft::recv(ch[2], [](std::optional<int>) {}));
            ++chosen[i];
            REQUIRE(ch[i].try_send(0));  // every case stays ready
        }
        // Expected 1000 each, standard deviation ~26: the bounds are ~8 of them.
        INFO("chosen: " << chosen[0] << ' ' << chosen[1] << ' ' << chosen[2]);
        for (int n : chosen) CHECK((n > 800 && n < 1200));
    });
}

TEST_CASE("select chooses fairly between a ready receive and a ready send", "[select][fairness]") {
    weft::test::run_bounded(20s, [] {
        constexpr int rounds = 2000;
        weft::channel<int> in(1), out(1);
        in.send(1);
        std::array<int, 2> chosen{};
        for (int r = 0; r < rounds; ++r) {
            std::size_t i = weft::select(weft::recv(in, [](std::optional<int>) {}), weft::send(out, 2));
            ++chosen[i];
            if (i == 0)
                REQUIRE(in.try_send(1));
            else
                REQUIRE(out.try_recv() == 2);
        }
        INFO("chosen: " << chosen[0] << ' ' << chosen[1]);
        for (int n : chosen) CHECK((n > 800 && n < 1200));
    });
}

TEST_CASE("a closed channel is ready: its receive drains, then gets nullopt", "[select][closed]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> open(0), closing(2);
        closing.send(1);
        closing.close();
        std::vector<std::optional<int>> got;
        for (int k = 0; k < 3; ++k) {
            std::size_t i = weft::select(weft::recv(open, [](std::optional<int>) { FAIL("nothing was sent"); }),
                                         weft::recv(closing, [&](std::optional<int> v) { got.push_back(v); }));
            CHECK(i == 1);
        }
        CHECK(got == std::vector<std::optional<int>>{1, std::nullopt, std::nullopt});
    });
}

TEST_CASE("closing a channel wakes a select parked on it", "[select][closed]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0), b(0);
        auto closer = weft::spawn([&] {
            weft::this_fiber::sleep_for(5ms);
            b.close();
        });
        bool saw_end = false;
        std::size_t i = weft::select(weft::recv(a, [](std::optional<int>) {}),
                                     weft::recv(b, [&](std::optional<int> v) { saw_end = !v; }));
        CHECK(i == 1);
        CHECK(saw_end);
        closer.join();
    });
}

TEST_CASE("a send case on a closed channel throws channel_closed when taken", "[select][closed]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> c(4);
        c.close();
        bool ran = false;
        CHECK_THROWS_AS(weft::select(weft::send(c, 1, [&] { ran = true; })), weft::channel_closed);
        CHECK_FALSE(ran);
        // Parked on it when it closes: the same.
        weft::channel<int> r(0);
        auto closer = weft::spawn([&] {
            weft::this_fiber::sleep_for(3ms);
            r.close();
        });
        CHECK_THROWS_AS(weft::select(weft::send(r, 1)), weft::channel_closed);
        closer.join();
    });
}

TEST_CASE("select with a deadline gives up and takes nothing", "[select][timeout]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0), b(1);
        b.send(0);  // b full: its send case cannot proceed
        bool fired = false;
        auto start = weft::clock::now();
        std::size_t i =
            weft::select(weft::recv(a, [](std::optional<int>) { FAIL("nothing was sent"); }),
                         weft::send(b, 1, [] { FAIL("b is full"); }), weft::after(20ms, [&] { fired = true; }));
        auto took = weft::clock::now() - start;
        CHECK(i == 2);
        CHECK(fired);
        CHECK((took >= 20ms && took < 5s));
        CHECK(b.size() == 1);
        CHECK(b.recv() == 0);
        // An absolute deadline already passed makes it a poll; a ready channel wins over it.
        CHECK(weft::select(weft::recv(a, [](std::optional<int>) {}), weft::at(weft::clock::now())) == 1);
        b.send(5);
        CHECK(weft::select(weft::at(weft::clock::now()), weft::recv(b, [](std::optional<int>) {})) == 1);
    });
}

TEST_CASE("a value arriving before the deadline is taken, not the deadline", "[select][timeout]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0);
        auto sender = weft::spawn([&] {
            weft::this_fiber::sleep_for(3ms);
            a.send(9);
        });
        int got = 0;
        CHECK(weft::select(weft::recv(a, [&](std::optional<int> v) { got = *v; }), weft::after(5s)) == 0);
        CHECK(got == 9);
        sender.join();
    });
}

TEST_CASE("otherwise runs only when no case is ready", "[select][default]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(1);
        bool fallback = false;
        CHECK(weft::select(weft::recv(a, [](std::optional<int>) {}), weft::otherwise([&] { fallback = true; })) == 1);
        CHECK(fallback);
        a.send(3);
        fallback = false;
        int got = 0;
        CHECK(weft::select(weft::otherwise([&] { fallback = true; }),
                           weft::recv(a, [&](std::optional<int> v) { got = *v; })) == 1);
        CHECK_FALSE(fallback);
        CHECK(got == 3);
        CHECK(weft::select(weft::send(a, 4), weft::otherwise()) == 0);  // room: sent
        CHECK(weft::select(weft::send(a, 5), weft::otherwise()) == 1);  // full: the default
        CHECK(a.recv() == 4);
    });
}

TEST_CASE("a send case hands its value to a receiver, and only the chosen one moves", "[select][send]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<std::unique_ptr<int>> to_a(0), to_b(0);
        auto receiver = weft::spawn([&] { return *to_b.recv().value(); });
        weft::this_fiber::yield();  // the receiver is parked on to_b
        auto x = std::make_unique<int>(1);
        auto y = std::make_unique<int>(2);
        std::size_t i = weft::select(weft::send(to_a, std::move(x)), weft::send(to_b, std::move(y)));
        CHECK(i == 1);
        CHECK(receiver.join() == 2);
        CHECK(y == nullptr);    // taken
        REQUIRE(x != nullptr);  // left as it was
        CHECK(*x == 1);
    });
}

TEST_CASE("a parked select's send is taken by a later receiver", "[select][send]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<std::string> full(1), rendezvous(0);
        full.send("old");
        std::string v = "new";
        std::vector<std::string> order;
        auto receiver = weft::spawn([&] {
            weft::this_fiber::sleep_for(3ms);
            order.push_back(*full.recv());  // makes room: the parked send's value goes into the buffer
        });
        std::size_t i = weft::select(weft::send(full, v, [&] { order.push_back("sent"); }),
                                     weft::send(rendezvous, std::string("never")));
        CHECK(i == 0);
        receiver.join();
        CHECK(order == std::vector<std::string>{"old", "sent"});
        CHECK(v == "new");  // an lvalue is copied
        CHECK(full.recv() == "new");
        CHECK_FALSE(rendezvous.try_recv());
    });
}

TEST_CASE("one value goes to exactly one of two selects waiting on it", "[select]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0), b(0);
        int received = 0;
        auto selector = [&] {
            weft::select(weft::recv(a, [&](std::optional<int> v) { received += v ? 1 : 0; }),
                         weft::recv(b, [&](std::optional<int> v) { received += v ? 1 : 0; }));
        };
        auto s1 = weft::spawn(selector);
        auto s2 = weft::spawn(selector);
        weft::this_fiber::yield();
        a.send(1);  // wakes the first; the second stays parked on both
        weft::this_fiber::yield();
        CHECK(received == 1);
        CHECK((s1.done() != s2.done()));
        b.send(2);
        s1.join();
        s2.join();
        CHECK(received == 2);
    });
}

TEST_CASE("a parked select is a cancellation point and honours with_timeout", "[select][cancel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(0), b(0);
        auto t = weft::spawn([&] { weft::select(weft::recv(a, [](std::optional<int>) {}), weft::send(b, 1)); });
        weft::this_fiber::sleep_for(2ms);
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK_FALSE(a.try_send(1));  // its waiters are gone
        CHECK_FALSE(b.try_recv());
        CHECK_THROWS_AS(weft::with_timeout(5ms, [&] { weft::select(weft::recv(a, [](std::optional<int>) {})); }),
                        weft::timeout_error);
        // Its own after() is not an error, even inside a longer with_timeout.
        CHECK(weft::with_timeout(
                  1s, [&] { return weft::select(weft::recv(a, [](std::optional<int>) {}), weft::after(2ms)); }) == 1);
    });
}

TEST_CASE("a select handler may block, and what it throws comes out of select", "[select]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> a(1);
        a.send(1);
        auto start = weft::clock::now();
        weft::select(weft::recv(a, [](std::optional<int>) { weft::this_fiber::sleep_for(5ms); }));
        CHECK(weft::clock::now() - start >= 5ms);
        a.send(2);
        CHECK_THROWS_WITH(weft::select(weft::recv(a, [](std::optional<int>) { throw std::runtime_error("h"); })), "h");
    });
}

TEST_CASE("select converts a value of another type for a send case", "[select][send]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<std::string> c(1);
        CHECK(weft::select(weft::send(c, "text")) == 0);
        CHECK(c.recv() == "text");
    });
}

TEST_CASE("select outside a fiber fails, even with a ready case", "[select]") {
    weft::channel<int> a(1);
    CHECK(weft::test::error_of([&] { weft::select(weft::otherwise()); }).code() == weft::errc::no_scheduler);
    CHECK(weft::test::error_of([&] { weft::select(weft::send(a, 1)); }).code() == weft::errc::no_scheduler);
    CHECK(a.size() == 0);
}
