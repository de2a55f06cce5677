// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

TEST_CASE("a consumer waits with a predicate until a producer fills the queue", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        std::deque<int> queue;
        bool finished = false;
        auto consumer = weft::spawn([&] {
            std::vector<int> got;
            std::unique_lock lock(m);
            for (;;) {
                cv.wait(lock, [&] { return !queue.empty() || finished; });
                CHECK(m.held_by_me());
                if (queue.empty()) return got;
                got.push_back(queue.front());
                queue.pop_front();
            }
        });
        for (int i = 0; i < 5; ++i) {
            {
                std::lock_guard guard(m);
                queue.push_back(i);
            }
            cv.notify_one();
            weft::this_fiber::sleep_for(1ms);
        }
        {
            std::lock_guard guard(m);
            finished = true;
        }
        cv.notify_one();
        CHECK(consumer.join() == std::vector<int>{0, 1, 2, 3, 4});
    });
}

TEST_CASE("notify_one wakes waiters in FIFO order, notify_all wakes them all", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        std::vector<int> order;
        std::vector<weft::task<void>> waiters;
        for (int i = 0; i < 4; ++i)
            waiters.push_back(weft::spawn([&, i] {
                std::unique_lock lock(m);
                cv.wait(lock);
                order.push_back(i);
            }));
        weft::this_fiber::yield();  // all four wait, in spawn order
        cv.notify_one();
        cv.notify_one();
        weft::this_fiber::yield();
        CHECK(order == std::vector<int>{0, 1});
        cv.notify_all();
        for (auto& w : waiters) w.join();
        CHECK(order == std::vector<int>{0, 1, 2, 3});
        cv.notify_one();  // nobody waits: nothing happens
    });
}

TEST_CASE("wait_for times out with the mutex held again", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        std::unique_lock lock(m);
        auto start = weft::clock::now();
        CHECK(cv.wait_for(lock, 20ms) == std::cv_status::timeout);
        auto took = weft::clock::now() - start;
        CHECK(took >= 20ms);
        CHECK(took < 5s);
        CHECK(lock.owns_lock());
        CHECK(m.held_by_me());
        CHECK(cv.wait_until(lock, weft::clock::now() - 1ms) == std::cv_status::timeout);
        CHECK(m.held_by_me());
    });
}

TEST_CASE("wait_for with a predicate returns its value", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        bool ready = false;
        std::unique_lock lock(m);
        CHECK_FALSE(cv.wait_for(lock, 10ms, [&] { return ready; }));
        CHECK(m.held_by_me());
        auto setter = weft::spawn([&] {
            weft::this_fiber::sleep_for(10ms);
            std::lock_guard guard(m);
            ready = true;
            cv.notify_all();
        });
        auto start = weft::clock::now();
        CHECK(cv.wait_for(lock, 5s, [&] { return ready; }));
        CHECK(weft::clock::now() - start < 5s);
        CHECK(m.held_by_me());
        lock.unlock();
        setter.join();
    });
}

TEST_CASE("a cancelled wait re-locks the mutex before cancelled propagates", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        bool owned_in_catch = false;
        auto waiter = weft::spawn([&] {
            std::unique_lock lock(m);
            try {
                cv.wait(lock);
            } catch (const weft::cancelled&) {
                owned_in_catch = lock.owns_lock() && m.held_by_me();
                throw;
            }
        });
        weft::this_fiber::yield();  // waiter waits, the mutex is free
        m.lock();
        waiter.cancel();  // it wakes, then parks again re-locking: main holds m
        for (int i = 0; i < 3; ++i) weft::this_fiber::yield();
        CHECK_FALSE(waiter.done());  // cancellation cannot cut the re-lock short
        m.unlock();                  // hands m to the waiter
        CHECK_FALSE(m.try_lock());   // nobody else can take it until the waiter unlocks
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        CHECK(owned_in_catch);
        CHECK(m.try_lock());  // the unique_lock let go while unwinding
        m.unlock();
    });
}

TEST_CASE("the mutex is held in the catch block of a cancelled wait", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        std::vector<std::string> events;
        auto waiter = weft::spawn([&] {
            std::unique_lock lock(m);
            try {
                cv.wait(lock);
            } catch (const weft::cancelled&) {
                CHECK(lock.owns_lock());
                events.push_back("waiter holds m after cancel");
                lock.unlock();
                events.push_back("waiter unlocked");
                throw;
            }
        });
        weft::this_fiber::yield();  // waiter waits, the mutex is free
        m.lock();
        waiter.cancel();
        weft::this_fiber::yield();  // waiter queues first to re-lock
        auto rival = weft::spawn([&] {
            std::lock_guard guard(m);  // queues second
            events.push_back("rival took m");
        });
        weft::this_fiber::yield();
        m.unlock();
        CHECK_THROWS_AS(waiter.join(), weft::cancelled);
        rival.join();
        CHECK(events == std::vector<std::string>{"waiter holds m after cancel", "waiter unlocked", "rival took m"});
    });
}

TEST_CASE("with_timeout around a wait throws timeout_error after re-locking", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        bool owned_in_catch = false;
        auto start = weft::clock::now();
        auto waiter = weft::spawn([&] {
            std::unique_lock lock(m);
            try {
                weft::with_timeout(10ms, [&] { cv.wait(lock); });
            } catch (const weft::timeout_error&) {
                owned_in_catch = m.held_by_me();
                throw;
            }
        });
        weft::this_fiber::yield();
        m.lock();  // held past the waiter's deadline: its re-lock must wait for it
        weft::this_fiber::sleep_for(40ms);
        m.unlock();
        CHECK_THROWS_AS(waiter.join(), weft::timeout_error);
        CHECK(owned_in_catch);
        auto took = weft::clock::now() - start;
        CHECK(took >= 40ms);
        CHECK(took < 5s);
    });
}

TEST_CASE("waiting with a lock that does not hold the mutex throws", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        std::unique_lock lock(m, std::defer_lock);
        try {
            cv.wait(lock);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::operation_not_permitted);
        }
        CHECK(m.try_lock());
        m.unlock();
    });
}

TEST_CASE("a notified waiter that was cancelled does not swallow the notify", "[condition_variable]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        weft::condition_variable cv;
        int woken = 0;
        auto a = weft::spawn([&] {
            std::unique_lock lock(m);
            cv.wait(lock);
            ++woken;
        });
        auto b = weft::spawn([&] {
            std::unique_lock lock(m);
            cv.wait(lock);
            ++woken;
        });
        weft::this_fiber::yield();
        a.cancel();       // a is woken but not yet run: still first in the queue
        cv.notify_one();  // so the notify goes to b
        CHECK_THROWS_AS(a.join(), weft::cancelled);
        b.join();
        CHECK(woken == 1);
    });
}
