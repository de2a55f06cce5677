// SPDX-License-Identifier: MIT
#include "tls/session_cache.hpp"

#include <openssl/ssl.h>

namespace weft::tls::detail {

session_cache::~session_cache() {
    for (auto& [key, e] : entries_) SSL_SESSION_free(e.session);
}

ssl_session_st* session_cache::take(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    SSL_SESSION* s = it->second.session;
    if (SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION) {
        order_.erase(it->second.age);
        entries_.erase(it);
        return s;
    }
    SSL_SESSION_up_ref(s);
    return s;
}

void session_cache::put(const std::string& key, ssl_session_st* s) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
        SSL_SESSION_free(it->second.session);
        it->second.session = s;
        order_.splice(order_.end(), order_, it->second.age);
        return;
    }
    if (entries_.size() >= max_entries) {
        auto oldest = entries_.find(order_.front());
        SSL_SESSION_free(oldest->second.session);
        entries_.erase(oldest);
        order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(key, entry{s, std::prev(order_.end())});
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
