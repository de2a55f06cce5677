// SPDX-License-Identifier: MIT
// The client's TLS session cache: one per weft::run() (a runtime service),
// keyed by context, host and port, so the next connection to a server
// resumes (a TLS 1.3 ticket or a TLS 1.2 session) instead of a full handshake.
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>

#include "detail/runtime.hpp"

struct ssl_session_st;

namespace weft::tls::detail {

class session_cache final : public weft::detail::service {
public:
    session_cache() = default;
    ~session_cache() override;
    session_cache(const session_cache&) = delete;
    session_cache& operator=(const session_cache&) = delete;

    // take() is the newest session to resume for `key` (the caller owns one
    // reference), or null. A TLS 1.3 session leaves the cache (a ticket is
    // used once, RFC 8446 C.4); a TLS 1.2 one stays for other connections.
    ssl_session_st* take(const std::string& key);
    // put() keeps `s` (taking over the caller's reference) as the newest
    // session for `key`: up to per_key of them, so that connections made at
    // once each resume with a ticket of their own; the oldest key goes
    // beyond max_keys.
    void put(const std::string& key, ssl_session_st* s);
    std::size_t size() const noexcept { return entries_.size(); }

    static constexpr std::size_t max_keys = 4096;
    static constexpr std::size_t per_key = 8;

private:
    struct entry {
        std::deque<ssl_session_st*> sessions;  // oldest first
        std::list<std::string>::iterator age;  // its place in order_
    };
    void drop(std::unordered_map<std::string, entry>::iterator it);
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> order_;  // keys, oldest first
};

// current_session_cache() is this run's cache, made on first use.
session_cache& current_session_cache();

// on_new_session() is the SSL_CTX's new-session callback for client
// contexts: it files the session under the key the SSL's app data points to
// (a std::string; none: not kept). Returns 1 when it kept the session.
int on_new_session(struct ssl_st* ssl, ssl_session_st* s) noexcept;

}  // namespace weft::tls::detail
