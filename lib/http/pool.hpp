// SPDX-License-Identifier: MIT
// The client's keep-alive pool: idle connections by host and port, one pool
// per weft::run() (made on first use, closed when run() ends).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "detail/runtime.hpp"
#include "http/wire.hpp"
#include "weft/timeout.hpp"
#include "weft/tls/context.hpp"

namespace weft::http::detail {

class pool final : public weft::detail::service {
public:
    // take() is the most recently parked idle connection to `key` that is
    // still open and quiet, or nullopt; connections idle for longer than
    // `max_idle_time`, or that the server closed, are dropped on the way.
    std::optional<connection> take(const std::string& key, std::chrono::nanoseconds max_idle_time);
    // put() parks `c` for the next request to `key`, unless `key` already
    // has `max_idle` idle connections or the pool holds max_total (then c is closed).
    void put(const std::string& key, connection c, std::size_t max_idle);
    // default_tls() is the run's default https client context, made on first use.
    const tls::context& default_tls();

    static constexpr std::size_t max_total = 1024;

private:
    struct parked {
        connection conn;
        clock::time_point since;
    };
    std::unordered_map<std::string, std::vector<parked>> idle_;
    std::optional<tls::context> default_tls_;
    std::size_t total_ = 0;
};

// current_pool() is this run's pool, made on first use (a service of the
// runtime). Throws std::system_error(errc::no_scheduler) with `what` outside a fiber.
pool& current_pool(const char* what);

}  // namespace weft::http::detail
