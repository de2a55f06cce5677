// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;

namespace {
// require_errc(fn, e) checks that fn() throws std::system_error with code e.
template <class Fn, class E>
void require_errc(Fn&& fn, E e) {
    try {
        fn();
        FAIL("no exception");
    } catch (const std::system_error& x) {
        CHECK(x.code() == e);
    }
}
}  // namespace

TEST_CASE("an uncontended mutex locks, try_locks and unlocks", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        m.lock();
        CHECK(m.held_by_me());
        auto other = weft::spawn([&] { return m.try_lock(); });
        CHECK_FALSE(other.join());
        m.unlock();
        CHECK_FALSE(m.held_by_me());
        CHECK(m.try_lock());
        m.unlock();
        {
            std::lock_guard guard(m);
            CHECK(m.held_by_me());
        }
        std::unique_lock lock(m, 10ms);  // TimedLockable: try_lock_for
        CHECK(lock.owns_lock());
        lock.unlock();
        weft::mutex other_m;
        std::scoped_lock both(m, other_m);
        CHECK((m.held_by_me() && other_m.held_by_me()));
    });
}

TEST_CASE("a mutex keeps fibers out of a critical section that yields", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        int inside = 0, max_inside = 0, total = 0;
        std::vector<weft::task<void>> workers;
        for (int i = 0; i < 8; ++i)
            workers.push_back(weft::spawn([&] {
                for (int k = 0; k < 20; ++k) {
                    std::lock_guard guard(m);
                    max_inside = std::max(max_inside, ++inside);
                    weft::this_fiber::yield();
                    ++total;
                    --inside;
                }
            }));
        for (auto& w : workers) w.join();
        CHECK(max_inside == 1);
        CHECK(total == 160);
    });
}

TEST_CASE("unlock hands the mutex to waiters in FIFO order, with no barging", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        std::vector<int> order;
        m.lock();
        std::vector<weft::task<void>> waiters;
        for (int i = 0; i < 5; ++i)
            waiters.push_back(weft::spawn([&, i] {
                std::lock_guard guard(m);
                order.push_back(i);
            }));
        weft::this_fiber::yield();  // all five park in lock(), in spawn order
        m.unlock();
        CHECK_FALSE(m.try_lock());  // already handed to waiter 0, though it has not run yet
        for (auto& w : waiters) w.join();
        CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
        CHECK(m.try_lock());
        m.unlock();
    });
}

TEST_CASE("try_lock_for gives up after its timeout, or succeeds in time", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        auto holder = weft::spawn([&] {
            std::lock_guard guard(m);
            weft::this_fiber::sleep_for(60ms);
        });
        weft::this_fiber::yield();
        auto start = weft::clock::now();
        CHECK_FALSE(m.try_lock_for(20ms));
        auto took = weft::clock::now() - start;
        CHECK(took >= 20ms);
        CHECK(took < 5s);
        CHECK(m.try_lock_until(weft::deadline_after(5s)));  // the holder lets go at ~60 ms
        CHECK(weft::clock::now() - start < 5s);
        m.unlock();
        holder.join();
    });
}

TEST_CASE("a fiber cancelled in lock() throws cancelled and never gets the mutex", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        bool got_it = false;
        m.lock();
        auto a = weft::spawn([&] {
            std::lock_guard guard(m);
            got_it = true;
        });
        auto b = weft::spawn([&] {
            std::lock_guard guard(m);
            return 2;
        });
        weft::this_fiber::yield();  // a, then b, park in lock()
        a.cancel();                 // a is woken but has not run: still first in the queue
        m.unlock();                 // so the mutex must skip it and go to b
        CHECK_THROWS_AS(a.join(), weft::cancelled);
        CHECK_FALSE(got_it);
        CHECK(b.join() == 2);
        CHECK(m.try_lock());
        m.unlock();
    });
}

TEST_CASE("with_timeout around lock() throws timeout_error", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        m.lock();
        auto waiter = weft::spawn([&] { weft::with_timeout(20ms, [&] { m.lock(); }); });
        CHECK_THROWS_AS(waiter.join(), weft::timeout_error);
        m.unlock();
        CHECK(m.try_lock());  // the timed-out waiter left nothing behind
        m.unlock();
    });
}

TEST_CASE("misuse of a mutex throws instead of corrupting it", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        require_errc([&] { m.unlock(); }, std::errc::operation_not_permitted);  // not locked
        m.lock();
        require_errc([&] { m.lock(); }, std::errc::resource_deadlock_would_occur);
        require_errc([&] { m.try_lock(); }, std::errc::resource_deadlock_would_occur);
        auto stranger = weft::spawn([&] { require_errc([&] { m.unlock(); }, std::errc::operation_not_permitted); });
        stranger.join();
        CHECK(m.held_by_me());
        m.unlock();
    });
}

TEST_CASE("a mutex used outside a fiber throws no_scheduler", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        std::thread([&] {
            require_errc([&] { m.lock(); }, weft::errc::no_scheduler);
            require_errc([&] { m.try_lock(); }, weft::errc::no_scheduler);
            require_errc([&] { (void)m.try_lock_for(1s); }, weft::errc::no_scheduler);
            CHECK_THROWS_WITH(m.lock(), Catch::StartsWith("weft::mutex::lock must be called inside a fiber"));
            CHECK_THROWS_WITH((void)m.try_lock_for(1s), Catch::StartsWith("weft::mutex::try_lock_for must be"));
        }).join();
        CHECK(m.try_lock());
        m.unlock();
    });
}

TEST_CASE("a cancelled fiber still takes a free mutex without parking", "[mutex]") {
    weft::test::run_bounded(10s, [] {
        weft::mutex m;
        bool locked_while_cancelled = false;
        auto t = weft::spawn([&] {
            try {
                weft::this_fiber::sleep_for(10s);
            } catch (const weft::cancelled&) {
                std::lock_guard guard(m);  // uncontended: no blocking point, no throw
                locked_while_cancelled = true;
                throw;
            }
        });
        weft::this_fiber::yield();
        t.cancel();
        CHECK_THROWS_AS(t.join(), weft::cancelled);
        CHECK(locked_while_cancelled);
        CHECK(m.try_lock());
        m.unlock();
    });
}
