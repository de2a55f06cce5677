// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/run_bounded.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;

static_assert(std::input_iterator<weft::channel<int>::iterator>);
static_assert(std::input_iterator<weft::channel<std::unique_ptr<int>>::iterator>);

TEST_CASE("a buffered channel passes values in order", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(3);
        CHECK(ch.capacity() == 3);
        for (int i = 0; i < 3; ++i) ch.send(i);  // fits: no parking
        CHECK(ch.size() == 3);
        CHECK_FALSE(ch.try_send(3));  // full
        for (int i = 0; i < 3; ++i) CHECK(ch.recv() == i);
        CHECK(ch.size() == 0);
        CHECK_FALSE(ch.try_recv());  // empty
    });
}

TEST_CASE("a rendezvous send waits until a receiver takes the value", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(0);
        std::vector<std::string> events;
        auto sender = weft::spawn([&] {
            events.push_back("send 1");
            ch.send(1);
            events.push_back("sent 1");
        });
        CHECK_FALSE(ch.try_send(0));  // no receiver parked
        weft::this_fiber::sleep_for(5ms);
        CHECK(events == std::vector<std::string>{"send 1"});  // still waiting for us
        events.push_back("recv");
        CHECK(ch.recv() == 1);
        sender.join();
        CHECK(events == std::vector<std::string>{"send 1", "recv", "sent 1"});
        CHECK(ch.size() == 0);
    });
}

TEST_CASE("a full channel parks the sender until a receiver makes room", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(1);
        ch.send(1);
        auto sender = weft::spawn([&] { ch.send(2); });
        weft::this_fiber::yield();
        CHECK_FALSE(sender.done());
        CHECK(ch.recv() == 1);  // the parked sender's value refills the buffer
        CHECK(ch.size() == 1);
        CHECK_FALSE(ch.try_send(3));  // so a later sender cannot slip in ahead of it
        sender.join();
        CHECK(ch.recv() == 2);
    });
}

TEST_CASE("send_for and recv_for give up after their timeout", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<std::unique_ptr<int>> ch(1);
        CHECK(ch.try_send(std::make_unique<int>(1)));
        auto p = std::make_unique<int>(2);
        auto start = weft::clock::now();
        CHECK_FALSE(ch.send_for(std::move(p), 20ms));
        auto took = weft::clock::now() - start;
        CHECK((took >= 20ms && took < 5s));
        REQUIRE(p);  // a send that fails leaves the value with the caller
        CHECK_FALSE(ch.try_send(std::move(p)));
        REQUIRE(p);
        CHECK(**ch.recv() == 1);
        start = weft::clock::now();
        CHECK_FALSE(ch.recv_for(20ms));
        took = weft::clock::now() - start;
        CHECK((took >= 20ms && took < 5s));
        CHECK_FALSE(ch.closed());  // nullopt because of the timeout, not a close
        CHECK(ch.send_until(std::move(p), weft::deadline_after(5s)));
        CHECK(**ch.recv_until(weft::deadline_after(5s)) == 2);
    });
}

TEST_CASE("close lets receivers drain the buffer, then ends the stream", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<std::unique_ptr<int>> ch(4);
        ch.send(std::make_unique<int>(1));
        ch.send(std::make_unique<int>(2));
        ch.close();
        ch.close();  // twice is harmless
        CHECK(ch.closed());
        auto p = std::make_unique<int>(3);
        CHECK_THROWS_AS(ch.send(std::move(p)), weft::channel_closed);
        REQUIRE(p);  // thrown before the value was moved
        CHECK_FALSE(ch.try_send(std::move(p)));
        REQUIRE(p);
        CHECK(**ch.recv() == 1);
        CHECK(**ch.try_recv() == 2);
        CHECK_FALSE(ch.recv());
        CHECK_FALSE(ch.recv_for(1s));  // returns at once: closed and drained
    });
}

TEST_CASE("close wakes parked receivers with nullopt and parked senders with channel_closed", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> rx(0), tx(0);
        std::vector<weft::task<std::optional<int>>> receivers;
        for (int i = 0; i < 3; ++i) receivers.push_back(weft::spawn([&] { return rx.recv(); }));
        std::vector<weft::task<void>> senders;
        for (int i = 0; i < 3; ++i) senders.push_back(weft::spawn([&, i] { tx.send(i); }));
        weft::this_fiber::yield();
        rx.close();
        tx.close();
        for (auto& r : receivers) CHECK_FALSE(r.join());
        for (auto& s : senders) CHECK_THROWS_AS(s.join(), weft::channel_closed);
    });
}

TEST_CASE("a fiber cancelled in recv or send throws cancelled and loses no value", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(0);
        auto a = weft::spawn([&] { return ch.recv(); });
        auto b = weft::spawn([&] { return ch.recv(); });
        weft::this_fiber::yield();
        a.cancel();  // woken but not yet run: still first in line
        ch.send(7);  // so the value must go to b
        CHECK_THROWS_AS(a.join(), weft::cancelled);
        CHECK(b.join() == 7);

        auto s1 = weft::spawn([&] { ch.send(1); });
        auto s2 = weft::spawn([&] { ch.send(2); });
        weft::this_fiber::yield();
        s1.cancel();
        CHECK(ch.recv() == 2);
        CHECK_THROWS_AS(s1.join(), weft::cancelled);
        s2.join();
        CHECK_FALSE(ch.try_recv());
    });
}

TEST_CASE("with_timeout around recv or send throws timeout_error", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> ch(1);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { return ch.recv(); }), weft::timeout_error);
        ch.send(1);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { ch.send(2); }), weft::timeout_error);
        CHECK(ch.size() == 1);
        // the earlier deadline wins: the scope's, not send_for's
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { ch.send_for(3, 5s); }), weft::timeout_error);
        CHECK(ch.recv() == 1);
        CHECK_FALSE(ch.try_recv());
    });
}

TEST_CASE("receivers are served in FIFO order", "[channel]") {
    weft::test::run_bounded(10s, [] {
        auto capacity = GENERATE(0u, 4u);
        weft::channel<int> ch(capacity);
        std::vector<weft::task<int>> receivers;
        for (int i = 0; i < 5; ++i) receivers.push_back(weft::spawn([&] { return *ch.recv(); }));
        weft::this_fiber::yield();
        for (int i = 0; i < 5; ++i) ch.send(i);
        for (int i = 0; i < 5; ++i) CHECK(receivers[i].join() == i);
    });
}

TEST_CASE("senders are served in FIFO order behind the buffer", "[channel]") {
    weft::test::run_bounded(10s, [] {
        auto capacity = GENERATE(0u, 2u);
        weft::channel<int> ch(capacity);
        int first = 0;
        for (; first < static_cast<int>(capacity); ++first) ch.send(first);
        std::vector<weft::task<void>> senders;
        for (int i = first; i < first + 5; ++i) senders.push_back(weft::spawn([&, i] { ch.send(i); }));
        weft::this_fiber::yield();
        std::vector<int> got;
        for (int i = 0; i < first + 5; ++i) got.push_back(*ch.recv());
        for (int i = 0; i < first + 5; ++i) CHECK(got[i] == i);
        for (auto& s : senders) s.join();
    });
}

TEST_CASE("move-only values travel through every path", "[channel]") {
    weft::test::run_bounded(10s, [] {
        auto capacity = GENERATE(0u, 1u, 8u);
        weft::channel<std::unique_ptr<int>> ch(capacity);
        auto producer = weft::spawn([&] {
            for (int i = 0; i < 20; ++i) ch.send(std::make_unique<int>(i));
            ch.close();
        });
        int expect = 0;
        while (auto p = ch.recv()) CHECK(**p == expect++);
        CHECK(expect == 20);
        producer.join();
    });
}

TEST_CASE("range-for receives until the channel is closed and drained", "[channel]") {
    weft::test::run_bounded(10s, [] {
        auto capacity = GENERATE(0u, 3u);
        weft::channel<std::string> ch(capacity);
        weft::spawn([&] {
            for (int i = 0; i < 10; ++i) {
                std::string s = std::to_string(i);
                ch.send(s);  // by const reference: copied when taken
            }
            ch.close();
        }).detach();
        std::string all;
        for (auto& s : ch) all += s;
        CHECK(all == "0123456789");
        for (auto s : ch) FAIL("a closed, drained channel yields nothing: " << s);
    });
}

TEST_CASE("a pipeline of channels delivers everything", "[channel]") {
    weft::test::run_bounded(10s, [] {
        weft::channel<int> numbers(4), squares(0);
        weft::spawn([&] {
            for (int i = 1; i <= 100; ++i) numbers.send(i);
            numbers.close();
        }).detach();
        weft::spawn([&] {
            for (int n : numbers) squares.send(n * n);
            squares.close();
        }).detach();
        long sum = 0;
        for (int s : squares) sum += s;
        CHECK(sum == 338350);
    });
}

TEST_CASE("a million fibers park on one channel and are released", "[slow]") {
    weft::test::run_bounded(120s, [] {
        constexpr int fibers = 1'000'000;
        weft::channel<int> ch(0);
        weft::wait_group wg;
        long long sum = 0;
        int received = 0;
        wg.add(fibers);
        for (int i = 0; i < fibers; ++i)
            weft::spawn([&] {
                if (auto v = ch.recv()) {
                    sum += *v;
                    ++received;
                }
                wg.done();
            }).detach();
        weft::this_fiber::yield();                    // every receiver runs once and parks in recv()
        for (int i = 0; i < fibers; ++i) ch.send(i);  // each send hands over to a parked receiver
        wg.wait();
        CHECK(received == fibers);
        CHECK(sum == static_cast<long long>(fibers) * (fibers - 1) / 2);
    });
}

TEST_CASE("destroying a channel while fibers wait on it is reported, naming them, not a crash into freed memory") {
    auto r = weft::test::run_child([] {
        return weft::run([] {
            auto* ch = new weft::channel<int>(0);
            auto consumer = weft::spawn(weft::spawn_options{.name = "consumer"}, [ch] { ch->recv(); });
            auto producer = weft::spawn(weft::spawn_options{.name = "producer"}, [ch] {
                ch->send(1);
                ch->send(2);
            });
            weft::this_fiber::sleep_for(std::chrono::milliseconds(10));  // both parked now
            delete ch;
            return 0;
        });
    });
    INFO(r.output);
    CHECK(r.signal == SIGABRT);
    CHECK_THAT(r.output, Catch::Contains("destroyed while fibers were parked on it"));
    CHECK_THAT(r.output, Catch::Contains("'producer'"));
}

// A call that may park fails outside run() every time, not only when it
// would have had to wait; the calls that never park work anywhere.
TEST_CASE("outside a fiber send and recv fail every time, try_send and try_recv work", "[channel][rule]") {
    weft::channel<int> ch(4);
    CHECK(ch.try_send(1));  // filling a channel before run() is fine
    auto no_scheduler = [](auto&& fn, const char* name) {
        try {
            fn();
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == weft::errc::no_scheduler);
            CHECK_THAT(e.what(), Catch::StartsWith(std::string(name) + " must be called inside a fiber"));
        }
    };
    no_scheduler([&] { ch.send(2); }, "weft::channel::send");  // there is room
    no_scheduler([&] { ch.recv(); }, "weft::channel::recv");   // there is a value
    no_scheduler([&] { ch.send_for(2, 1s); }, "weft::channel::send_for");
    no_scheduler([&] { ch.recv_for(1s); }, "weft::channel::recv_for");
    CHECK(ch.size() == 1);  // nothing moved
    CHECK(ch.try_recv() == 1);
    weft::test::run_bounded(5s, [&] {
        ch.send(3);
        CHECK(ch.recv() == 3);
    });
}
