// SPDX-License-Identifier: MIT
// idle: memory per parked fiber. N fibers park, and once every one of them has
// run and parked, the growth of the resident set since before the first spawn,
// divided by N, is the cost of an idle fiber: its touched stack pages, its task
// block and its handle. Also the growth of the mapping count, which
// vm.max_map_count caps.
//
// How they park (the peers block on a condition variable or a channel):
//   join:  each joins one `gate` task, which sleeps until main cancels it; the
//          gate then returns normally, so all N wake without an exception each
//          and the teardown stays quick (the default);
//   sleep: each sleeps until a deadline an hour away (one timer-heap slot more);
//          main cancels them all, so the teardown costs an exception per fiber.
// usage: weft_idle [N] [join|sleep]   (default 1,000,000 join)
#include <chrono>
#include <cstring>
#include <system_error>
#include <vector>
#include <weft/errors.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/this_fiber.hpp>

#include "common.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const long n = bench::arg_long(argc, argv, 1, 1'000'000);
    const bool sleep = std::strcmp(bench::arg_str(argc, argv, 2, "join"), "sleep") == 0;
    return weft::run([n, sleep] {
        const weft::deadline until = weft::deadline_after(1h);
        long parked = 0, woken = 0;
        auto gate = weft::spawn([until] {
            try {
                weft::this_fiber::sleep_until(until);
            } catch (const weft::cancelled&) {
                // main's signal that the measurement is over: return normally
            }
        });
        auto wait_at_gate = [&parked, &woken, &gate] {
            ++parked;
            gate.join();
            ++woken;
        };
        auto sleep_long = [&parked, &woken, until] {
            ++parked;
            try {
                weft::this_fiber::sleep_until(until);
            } catch (const weft::cancelled&) {
                ++woken;  // the expected end: main cancels every sleeper
            }
        };
        std::vector<weft::task<void>> v;
        v.reserve(static_cast<std::size_t>(n));

        const long rss0 = bench::rss_bytes(), vsz0 = bench::vsz_bytes(), maps0 = bench::map_count();
        double t0 = bench::now_ns();
        try {
            for (long i = 0; i < n; ++i) v.push_back(sleep ? weft::spawn(sleep_long) : weft::spawn(wait_at_gate));
        } catch (const std::system_error& e) {
            std::printf("NOTE spawn failed after %zu fibers: %s\n", v.size(), e.what());
        }
        const long created = static_cast<long>(v.size());
        const long rss_spawned = bench::rss_bytes();
        weft::this_fiber::yield();  // main goes behind all of them: each runs and parks
        double t1 = bench::now_ns();
        const long rss1 = bench::rss_bytes(), vsz1 = bench::vsz_bytes(), maps1 = bench::map_count();

        const char* how = sleep ? "sleep" : "join";
        const double per = 1.0 / static_cast<double>(created ? created : 1);
        std::printf(
            "INFO weft(%s) created=%ld parked=%ld maps_before=%ld maps_after=%ld max_map_count=%ld "
            "spawn+park=%.0f ns/fiber rss_after_spawn=%.0f B/fiber\n",
            how, created, parked, maps0, maps1, bench::max_map_count(), (t1 - t0) * per,
            static_cast<double>(rss_spawned - rss0) * per);
        std::printf("RESULT weft_idle_rss_bytes=%.0f\n", static_cast<double>(rss1 - rss0) * per);
        std::printf("RESULT weft_idle_vsz_bytes=%.0f\n", static_cast<double>(vsz1 - vsz0) * per);
        std::printf("RESULT weft_idle_maps=%ld\n", maps1 - maps0);
        std::printf("RESULT weft_idle_created=%ld\n", created);
        std::fflush(stdout);

        double t2 = bench::now_ns();
        if (sleep)
            for (auto& t : v) t.cancel();
        gate.cancel();
        for (auto& t : v) t.join();
        gate.join();
        std::printf("INFO weft(%s) woken=%ld teardown=%.0f ns/fiber\n", how, woken, (bench::now_ns() - t2) * per);
        return woken == created ? 0 : 1;
    });
}
