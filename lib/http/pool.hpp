// SPDX-License-Identifier: MIT
// A client's connections: the idle ones kept alive by place (scheme, host,
// port, TLS context, proxy), and the limits on how many are open at once,
// with the requests that wait for a slot served first come, first served.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/wire.hpp"
#include "weft/timeout.hpp"

namespace weft::detail {
struct fiber;
}

namespace weft::http::detail {

struct pool_limits {
    std::size_t max_connections;  // open at once, all places; 0: no limit
    std::size_t max_per_host;     // open at once to one place; 0: no limit
    std::size_t max_idle_per_host;
    std::chrono::nanoseconds idle_timeout;
};

class pool {
    struct waiter;

public:
    // parked is an idle connection and since when it waits.
    struct parked {
        connection conn;
        clock::time_point since;
    };
    // place is the connections to one key. It stays in the pool while a
    // slot to it is held, so a request keeps a pointer to it from acquire()
    // to release() instead of looking its key up again.
    struct place {
        const std::string* key = nullptr;  // the map's own copy
        std::size_t open = 0;              // in use, idle, or being opened
        std::vector<parked> idle;          // most recently parked last
        waiter* first = nullptr;           // the requests waiting, in order
        waiter* last = nullptr;
    };

    explicit pool(pool_limits limits) : limits_(limits) {}
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // acquire() is a connection slot to `key`: an idle connection that is
    // still open and quiet, or nullopt and the right to open a new one; `at`
    // is set to the key's place, which release() takes. When the limits
    // leave no slot, the calling fiber waits for one, after those that came
    // first; `op` names the call for what interrupts it (weft::cancelled,
    // weft::timeout_error from an enclosing deadline). `key` is looked up
    // before the fiber can wait, and not kept: a scratch string will do.
    std::optional<connection> acquire(std::string_view key, place*& at, const char* op);
    // release() gives the slot at `at` back: `c` is kept idle for the next
    // request to its key when given (a connection fit for reuse), closed
    // otherwise (nullopt: it was closed, or never opened).
    void release(place& at, std::optional<connection> c);

    std::size_t open() const noexcept { return open_; }
    std::size_t idle() const noexcept { return idle_; }

private:
    // Keys are looked up as string_views: no string is made per request.
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
    };

    bool try_take(place& p, std::optional<connection>& out);
    bool close_oldest_idle_except(const place* keep);
    void dispatch();
    void unlink(place& p, waiter& w) noexcept;
    void forget_if_unused(place& p);

    pool_limits limits_;
    std::unordered_map<std::string, place, key_hash, std::equal_to<>> places_;
    std::size_t open_ = 0;
    std::size_t idle_ = 0;
    std::size_t waiting_ = 0;
    std::uint64_t arrivals_ = 0;
};

}  // namespace weft::http::detail
