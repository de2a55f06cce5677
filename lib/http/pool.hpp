// SPDX-License-Identifier: MIT
// The client's keep-alive pool: idle connections by host and port, one pool
// per weft::run() (made on first use, closed when run() ends).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/wire.hpp"
#include "weft/timeout.hpp"

namespace weft::http::detail {

class pool {
public:
    // take() is the most recently parked idle connection to `key` that is
    // still open and quiet, or nullopt; connections idle for longer than
    // `max_idle_time`, or that the server closed, are dropped on the way.
    std::optional<connection> take(const std::string& key, std::chrono::milliseconds max_idle_time);
    // put() parks `c` for the next request to `key`, unless `key` already
    // has `max_idle` idle connections or the pool holds max_total (then c is closed).
    void put(const std::string& key, connection c, std::size_t max_idle);
    std::size_t idle() const noexcept { return total_; }

    static constexpr std::size_t max_total = 1024;

private:
    struct parked {
        connection conn;
        clock::time_point since;
    };
    std::unordered_map<std::string, std::vector<parked>> idle_;
    std::size_t total_ = 0;
};

}  // namespace weft::http::detail
