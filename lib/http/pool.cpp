// SPDX-License-Identifier: MIT
#include "http/pool.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace weft::http::detail {

namespace {

// quiet() is whether an idle connection is still open with nothing to read:
// a server that closed it sent a FIN (recv gives 0), and any byte it sent
// unasked means the connection is out of step.
bool quiet(connection& c) {
    char byte;
    ssize_t n = ::recv(c.stream().tcp().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<connection> pool::take(const std::string& key, std::chrono::nanoseconds max_idle_time) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return std::nullopt;
    auto& list = it->second;
    auto now = clock::now();
    std::optional<connection> found;
    while (!list.empty() && !found) {
        parked p = std::move(list.back());
        list.pop_back();
        --total_;
        if (now - p.since <= max_idle_time && p.conn.buffered() == 0 && quiet(p.conn)) found = std::move(p.conn);
    }
    if (list.empty()) idle_.erase(it);
    return found;
}

void pool::put(const std::string& key, connection c, std::size_t max_idle) {
    if (total_ >= max_total || max_idle == 0) return;
    auto& list = idle_[key];
    if (list.size() >= max_idle) return;
    list.push_back({std::move(c), clock::now()});
    ++total_;
}

const tls::context& pool::default_tls() {
    if (!default_tls_) {
        tls::client_options o;
        o.alpn = {"http/1.1"};
        default_tls_ = tls::context::client(o);
    }
    return *default_tls_;
}

pool& current_pool(const char* what) {
    return weft::detail::current_service<pool>(what, [] { return std::make_unique<pool>(); });
}

}  // namespace weft::http::detail
