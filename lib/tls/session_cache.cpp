// SPDX-License-Identifier: MIT
#include "tls/session_cache.hpp"

#include <openssl/ssl.h>

namespace weft::tls::detail {

session_cache::~session_cache() {
    for (auto& [key, e] : entries_)
        for (SSL_SESSION* s : e.sessions) SSL_SESSION_free(s);
}

void session_cache::drop(std::unordered_map<std::string, entry>::iterator it) {
    for (SSL_SESSION* s : it->second.sessions) SSL_SESSION_free(s);
    order_.erase(it->second.age);
    entries_.erase(it);
}

ssl_session_st* session_cache::take(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    auto& sessions = it->second.sessions;
    SSL_SESSION* s = sessions.back();
    if (SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION) {
        sessions.pop_back();
        if (sessions.empty()) {
            order_.erase(it->second.age);
            entries_.erase(it);
        }
        return s;
    }
    SSL_SESSION_up_ref(s);
    return s;
}

void session_cache::put(const std::string& key, ssl_session_st* s) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= max_keys) drop(entries_.find(order_.front()));
        order_.push_back(key);
        it = entries_.emplace(key, entry{{}, std::prev(order_.end())}).first;
    } else {
        order_.splice(order_.end(), order_, it->second.age);
    }
    auto& sessions = it->second.sessions;
    // A TLS 1.2 session replaces the others (one is reused by every connection).
    bool v12 = SSL_SESSION_get_protocol_version(s) < TLS1_3_VERSION;
    while (!sessions.empty() && (v12 || sessions.size() >= per_key)) {
        SSL_SESSION_free(sessions.front());
        sessions.pop_front();
    }
    sessions.push_back(s);
}

session_cache& current_session_cache() {
    return weft::detail::current_service<session_cache>("weft::tls::stream::connect",
                                                        [] { return std::make_unique<session_cache>(); });
}

int on_new_session(SSL* ssl, SSL_SESSION* s) noexcept {
    auto* key = static_cast<const std::string*>(SSL_get_app_data(ssl));
    if (!key || key->empty() || !SSL_SESSION_is_resumable(s)) return 0;
    try {
        current_session_cache().put(*key, s);
        return 1;
    } catch (...) {
        return 0;  // outside run() (cannot happen inside a handshake) or out of memory: not kept
    }
}

}  // namespace weft::tls::detail
