// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "weft/tls/errors.hpp"

namespace weft::tls {

class stream;
namespace detail {
struct context_data;  // lib/tls/context_data.hpp
}

// version is a TLS protocol version, for a context's lowest accepted one.
enum class version { tls1_2, tls1_3 };

// client_options say how a client checks the servers it talks to.
struct client_options {
    // verify checks the server's certificate chain against the trust store
    // and the certificate against the host name (or IP literal) connected to.
    // Turning it off accepts any certificate, including a forged one: say so
    // in the code (`.verify = false`); no environment variable turns it off.
    bool verify = true;
    // The trust store: the system's (OpenSSL's default paths, which honour
    // SSL_CERT_FILE and SSL_CERT_DIR) unless any of these is set; then only
    // these are trusted. ca_pem holds PEM certificates in memory.
    std::string ca_file{};
    std::string ca_dir{};
    std::string ca_pem{};
    // alpn lists the protocols to offer, most preferred first ("http/1.1").
    std::vector<std::string> alpn{};
    version min_version = version::tls1_2;
    // resume_sessions keeps each server's session (TLS 1.3 tickets, TLS 1.2
    // sessions) in a cache of the running weft::run(), keyed by this
    // context, host and port, so the next connection resumes it.
    bool resume_sessions = true;
};

// server_options are a server's identity and what it accepts. The chain and
// key come from files (PEM) or from memory (PEM); the chain is the leaf
// certificate first, then its intermediates.
struct server_options {
    std::string cert_file{};
    std::string key_file{};
    std::string cert_pem{};
    std::string key_pem{};
    // alpn lists the protocols this server speaks, most preferred first; a
    // client offering none of them still connects, without ALPN.
    std::vector<std::string> alpn{};
    version min_version = version::tls1_2;
};

// context is a TLS configuration shared by many connections: a client's
// trust store and checks, or a server's certificate and key. It is a cheap
// handle (copies share one OpenSSL SSL_CTX) and may be made outside weft::run().
class context {
public:
    // client(opts) makes a client context. Throws std::system_error
    // (errc::bad_certificate_file when a trust file cannot be read,
    // errc::unsupported when weft was built without TLS).
    static context client(const client_options& opts = {});
    // server(opts) makes a server context. Throws std::system_error
    // (errc::bad_certificate_file: no chain or key given, a file that does
    // not load, a key that does not match the certificate).
    static context server(const server_options& opts);
    // self_signed(names) is a server context with a fresh key (EC P-256) and
    // a self-signed certificate for `names` (host names and IP literals),
    // valid from an hour ago for `valid_for`: for development, tests and
    // demos. A client trusts it with client_options::ca_pem = certificate_pem().
    static context self_signed(const std::vector<std::string>& names,
                               std::chrono::hours valid_for = std::chrono::hours(24), server_options opts = {});
    // certificate_pem() is a server context's own certificate (the leaf) in
    // PEM; empty for a client context.
    std::string certificate_pem() const;

    bool is_server() const noexcept;
    // verifies() is whether a client context checks certificates.
    bool verifies() const noexcept;
    // id() is unique per context made in this process (copies share it).
    std::uint64_t id() const noexcept;

private:
    friend class stream;
    explicit context(std::shared_ptr<detail::context_data> p) noexcept;
    std::shared_ptr<detail::context_data> p_;
};

// available() is false when weft was built without TLS (-Dtls=disabled).
bool available() noexcept;

}  // namespace weft::tls
