// SPDX-License-Identifier: MIT
#pragma once

#include <system_error>

namespace weft::tls {

// errc lists why a TLS handshake or a TLS stream failed; each has its own
// message. The exception that carries one (std::system_error) also says
// OpenSSL's own reason ("certificate has expired", "wrong version number").
// Socket errors keep their std::errc codes; a passed deadline is
// weft::timeout_error, as everywhere in weft.
enum class errc {
    untrusted_certificate = 1,  // the chain does not lead to a trusted root (self-signed, unknown issuer)
    certificate_expired,        // the peer's certificate (or one in its chain) has expired
    certificate_not_yet_valid,  // ... is not valid yet
    host_mismatch,              // the certificate is not for the host name (or IP) that was asked for
    certificate_invalid,        // any other verification failure (revoked, bad signature, bad purpose, ...)
    handshake_failed,           // the peers could not agree (protocol version, cipher, ALPN) or the peer sent an alert
    closed_during_handshake,    // the peer closed the connection before the handshake ended
    protocol_error,             // bytes that are not TLS (garbage instead of a ServerHello, a bad record MAC)
    truncated,                  // the peer closed without close_notify: what came may be cut short
    bad_certificate_file,       // a certificate, key or trust file that cannot be loaded, or a key that does not fit
    unsupported,                // weft was built without TLS (-Dtls=disabled)
};

// error_category() is the category of weft::tls::errc ("weft.tls").
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

}  // namespace weft::tls

template <>
struct std::is_error_code_enum<weft::tls::errc> : std::true_type {};
