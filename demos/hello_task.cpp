// SPDX-License-Identifier: MIT
// The asyncio lesson's first part, in weft: make a task, look at it while it
// is pending, let it run, and look at it again once it has finished.
#include <chrono>
#include <iostream>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

int main() {
    return weft::run([] {
        auto t = weft::spawn(
            weft::spawn_options{.name = "double"},
            [](int x) {
                weft::this_fiber::sleep_for(100ms);  // parks; main keeps going meanwhile
                return x * 2;
            },
            21);
        std::cout << t << '\n';  // <task #2 'double' pending>

        weft::this_fiber::sleep_for(10ms);
        std::cout << t << '\n';  // <task #2 'double' suspended>

        int v = t.join();        // parks main until the task is done
        std::cout << t << '\n';  // <task #2 'double' finished result=42>
        std::cout << "result: " << v << '\n';
        return 0;
    });
}
