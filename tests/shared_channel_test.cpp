// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <weft/shared_channel.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("shared_channel carries values between two threads' runs, in order", "[shared_channel][threads]") {
    weft::shared_channel<std::string> ch(4);
    std::vector<std::string> got;
    std::thread producer([&] {
        weft::run([&] {
            for (int i = 0; i < 1000; ++i) ch.send(std::to_string(i));
            ch.close();
        });
    });
    weft::test::run_watched(30s, [&] {
        while (auto v = ch.recv()) got.push_back(std::move(*v));
    });
    producer.join();
    REQUIRE(got.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("shared_channel of capacity 0 is a rendezvous", "[shared_channel][threads]") {
    weft::shared_channel<int> ch;
    std::atomic<bool> sent{false};
    std::thread producer([&] {
        weft::run([&] {
            ch.send(7);  // returns only once the receiver has it
            sent = true;
        });
    });
    weft::test::run_watched(30s, [&] {
        weft::this_fiber::sleep_for(30ms);
        CHECK_FALSE(sent.load());
        CHECK_FALSE(ch.try_send(1));  // nobody receives: it would have to wait
        CHECK(ch.recv() == 7);
    });
    producer.join();
    CHECK(sent.load());
}

TEST_CASE("shared_channel: 4 producer and 4 consumer threads, nothing lost or duplicated",
          "[shared_channel][threads]") {
    constexpr int producers = 4, consumers = 4, fibers = 8, per_fiber = 2000;
    weft::shared_channel<int> ch(16);
    std::vector<std::vector<int>> seen(consumers);
    std::atomic<int> producers_left{producers};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            weft::run([&] {
                std::vector<weft::task<void>> ts;
                for (int f = 0; f < fibers; ++f)
                    ts.push_back(weft::spawn([&, f] {
                        for (int i = 0; i < per_fiber; ++i) ch.send((p * fibers + f) * per_fiber + i);
                    }));
                for (auto& t : ts) t.join();
            });
            if (--producers_left == 0) ch.close();
        });
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&, c] {
            weft::run([&] {
                std::vector<weft::task<void>> ts;
                for (int f = 0; f < fibers; ++f)
                    ts.push_back(weft::spawn([&] {
                        while (auto v = ch.recv()) seen[static_cast<std::size_t>(c)].push_back(*v);
                    }));
                for (auto& t : ts) t.join();
            });
        });
    {
        weft::test::watchdog dog(60s, weft::test::current_test_name());
        for (auto& t : threads) t.join();
    }

    std::vector<int> all;
    for (auto& s : seen) {
        CHECK_FALSE(s.empty());  // every consumer thread got some
        all.insert(all.end(), s.begin(), s.end());
    }
    std::sort(all.begin(), all.end());
    REQUIRE(all.size() == static_cast<std::size_t>(producers * fibers * per_fiber));
    for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i] == static_cast<int>(i));
}

TEST_CASE("shared_channel close: waiting receivers get nullopt, waiting senders channel_closed",
          "[shared_channel][threads]") {
    weft::shared_channel<int> ch(1);
    weft::shared_channel<int> full(1);
    full.send(1);
    std::thread closer([&] {
        std::this_thread::sleep_for(30ms);
        ch.close();
        full.close();
    });
    weft::test::run_watched(30s, [&] {
        auto r = weft::spawn([&] { return ch.recv(); });
        auto s = weft::spawn([&] { full.send(2); });
        CHECK(r.join() == std::nullopt);
        CHECK_THROWS_AS(s.join(), weft::channel_closed);
        CHECK(full.recv() == 1);  // what was buffered still comes out
        CHECK(full.recv() == std::nullopt);
        CHECK_THROWS_AS(ch.send(3), weft::channel_closed);
        CHECK_FALSE(ch.try_send(3));
    });
    closer.join();
}

TEST_CASE("shared_channel waits end with a timeout, with_timeout or cancel", "[shared_channel][threads]") {
    weft::shared_channel<int> ch;
    weft::test::run_watched(30s, [&] {
        auto start = std::chrono::steady_clock::now();
        CHECK(ch.recv_for(20ms) == std::nullopt);
        CHECK_FALSE(ch.send_for(1, 20ms));
        CHECK(std::chrono::steady_clock::now() - start >= 40ms);
        CHECK_THROWS_AS(weft::with_timeout(10ms, [&] { ch.recv(); }), weft::timeout_error);
        auto t = weft::spawn([&] { ch.recv(); });
        weft::this_fiber::sleep_for(5ms);
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(ch.try_recv() == std::nullopt);
    });
}

TEST_CASE("shared_channel from plain threads and to_thread jobs", "[shared_channel][threads]") {
    weft::shared_channel<int> ch(2);
    std::thread plain([&] {
        for (int i = 0; i < 100; ++i) ch.send(i);  // blocks the plain thread when full
    });
    weft::test::run_watched(30s, [&] {
        long sum = 0;
        for (int i = 0; i < 100; ++i) sum += *ch.recv();
        CHECK(sum == 4950);
        auto job = weft::spawn([&] { weft::to_thread([&] { ch.send(42); }); });
        CHECK(ch.recv() == 42);
        job.join();
        CHECK(weft::to_thread([&] { return ch.recv_for(10ms); }) == std::nullopt);  // a thread's timeout
    });
    plain.join();
}
