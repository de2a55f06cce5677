// SPDX-License-Identifier: MIT
// What a tls::context holds: the OpenSSL SSL_CTX and the choices made when it
// was built. Shared by every copy of the context and every stream made from it.
#pragma once

#include <cstdint>
#include <string>

#include "weft/tls/context.hpp"

struct ssl_ctx_st;

namespace weft::tls::detail {

struct context_data {
    ssl_ctx_st* ctx = nullptr;  // owned (SSL_CTX_free); streams hold their own references
    bool server = false;
    bool verify = true;    // client: check the chain and the host name
    bool resume = true;    // client: keep sessions in the run's cache
    std::uint64_t id = 0;  // unique per context made: part of the session cache key
    std::string alpn;      // server: its protocols in ALPN's wire format, for the select callback

    context_data() = default;
    ~context_data();
    context_data(const context_data&) = delete;
    context_data& operator=(const context_data&) = delete;
};

}  // namespace weft::tls::detail
