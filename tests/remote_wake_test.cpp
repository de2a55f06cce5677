// SPDX-License-Identifier: MIT
// Cross-thread wake-up (reactor::post): latency to a sleeping loop, no
// syscall for a busy one, nothing lost or reordered under many producers.
#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "detail/reactor.hpp"
#include "detail/runtime.hpp"
#include "detail/scheduler.hpp"
#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
using weft::detail::reactor;
using weft::detail::remote_work;

namespace {

// wake_fiber is posted work that unparks one fiber and says when it ran.
struct wake_fiber : remote_work {
    weft::detail::fiber* fib = nullptr;
    std::chrono::steady_clock::time_point posted_at;
    static void fire(remote_work* w) noexcept {
        auto* self = static_cast<wake_fiber*>(w);
        weft::detail::scheduler::current()->unpark(self->fib, weft::detail::wake_reason::ready);
    }
    wake_fiber() { run = &fire; }
};

}  // namespace

TEST_CASE("a post wakes a loop asleep in epoll, within a bounded latency", "[remote][threads]") {
    weft::test::run_bounded(30s, [] {
        reactor& io = weft::detail::current_reactor("test");
        io.open_remote();
        const std::uint64_t wakes_before = io.remote_wakes();

        // A partner thread: each round it waits for the fiber to be asleep,
        // then posts; the fiber measures how long the wake took.
        std::mutex m;
        std::condition_variable cv;
        wake_fiber* request = nullptr;
        bool quit = false;
        std::thread partner([&] {
            for (;;) {
                std::unique_lock lock(m);
                cv.wait(lock, [&] { return request || quit; });
                if (quit) return;
                wake_fiber* w = std::exchange(request, nullptr);
                lock.unlock();
                std::this_thread::sleep_for(1ms);  // the loop is asleep in epoll by now
                w->posted_at = std::chrono::steady_clock::now();
                io.post(w);
            }
        });

        constexpr int rounds = 200;
        std::vector<double> us;
        for (int i = 0; i < rounds; ++i) {
            wake_fiber w;
            w.fib = weft::detail::current_fiber();
            {
                std::lock_guard lock(m);
                request = &w;
            }
            cv.notify_one();
            auto why = io.wait_remote({"test post"}, weft::never);
            REQUIRE(why == weft::detail::wake_reason::ready);
            us.push_back(
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - w.posted_at).count());
        }
        {
            std::lock_guard lock(m);
            quit = true;
        }
        cv.notify_one();
        partner.join();

        std::sort(us.begin(), us.end());
        double median = us[us.size() / 2];
        double p99 = us[us.size() * 99 / 100];
        INFO("wake latency: median " << median << " us, p99 " << p99 << " us, max " << us.back() << " us");
        CHECK(median < 2000);  // tens of microseconds on an idle machine; generous for a loaded one
        CHECK(p99 < 50000);
        // The loop was asleep for each post: each one wrote the eventfd.
        CHECK(io.remote_wakes() - wakes_before >= rounds / 2);
    });
}

TEST_CASE("a busy loop takes posted work without an eventfd write", "[remote][threads]") {
    weft::test::run_bounded(30s, [] {
        reactor& io = weft::detail::current_reactor("test");
        io.open_remote();
        constexpr int posts = 20000;
        struct bump : remote_work {
            int* ran = nullptr;
        };
        std::vector<bump> nodes(posts);
        int ran = 0;
        for (auto& n : nodes) {
            n.ran = &ran;
            n.run = [](remote_work* w) noexcept { ++*static_cast<bump*>(w)->ran; };
        }

        std::uint64_t wakes_before = 0;
        std::thread producer;
        // A fiber that never parks keeps the loop busy: the run queue is never
        // empty, so the loop never sleeps in epoll while the posts come.
        auto busy = weft::spawn([&] {
            wakes_before = io.remote_wakes();
            producer = std::thread([&] {
                for (auto& n : nodes) io.post(&n);
            });
            while (ran < posts) weft::this_fiber::yield();
        });
        weft::this_fiber::yield();  // let busy start; main stays ready too
        while (ran < posts) weft::this_fiber::yield();
        busy.join();
        producer.join();
        CHECK(ran == posts);
        CHECK(io.remote_wakes() == wakes_before);  // no syscall on the producer side
    });
}

namespace {

// tally is what the loop learns from the posts; only the loop touches it.
struct tally {
    std::vector<int> last;  // per producer, the last sequence number seen
    int count = 0;
    int out_of_order = 0;
    int expected = 0;
    weft::detail::fiber* waiter = nullptr;
};

struct tagged : remote_work {
    tally* to = nullptr;
    int producer = 0;
    int seq = 0;
    static void fire(remote_work* w) noexcept {
        auto* t = static_cast<tagged*>(w);
        tally& k = *t->to;
        if (t->seq != k.last[t->producer] + 1) ++k.out_of_order;
        k.last[t->producer] = t->seq;
        if (++k.count == k.expected)
            weft::detail::scheduler::current()->unpark(k.waiter, weft::detail::wake_reason::ready);
    }
};

}  // namespace

TEST_CASE("posts from four threads at once: none lost, none twice, each thread's in order", "[remote][threads]") {
    weft::test::run_bounded(60s, [] {
        reactor& io = weft::detail::current_reactor("test");
        io.open_remote();
        constexpr int producers = 4, per = 20000;
        tally k{.last = std::vector<int>(producers, -1),
                .expected = producers * per,
                .waiter = weft::detail::current_fiber()};
        std::vector<std::vector<tagged>> nodes(producers, std::vector<tagged>(per));
        for (int p = 0; p < producers; ++p) {
            for (int i = 0; i < per; ++i) {
                tagged& t = nodes[p][i];
                t.run = &tagged::fire;
                t.to = &k;
                t.producer = p;
                t.seq = i;
            }
        }
        std::vector<std::thread> threads;
        for (int p = 0; p < producers; ++p)
            threads.emplace_back([&, p] {
                for (auto& t : nodes[p]) io.post(&t);
            });
        while (k.count < k.expected) io.wait_remote({"test posts"}, weft::never);
        for (auto& t : threads) t.join();
        CHECK(k.count == k.expected);
        CHECK(k.out_of_order == 0);
        for (int p = 0; p < producers; ++p) CHECK(k.last[p] == per - 1);
    });
}

TEST_CASE("a fiber waiting on another thread is not a deadlock", "[remote][threads]") {
    weft::test::run_bounded(30s, [] {
        reactor& io = weft::detail::current_reactor("test");
        io.open_remote();
        wake_fiber w;
        w.fib = weft::detail::current_fiber();
        std::thread late([&] {
            std::this_thread::sleep_for(50ms);  // no timer, no fd: only the post can wake main
            io.post(&w);
        });
        CHECK(io.wait_remote({"late post"}, weft::never) == weft::detail::wake_reason::ready);
        late.join();
    });
}
