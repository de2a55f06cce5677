// SPDX-License-Identifier: MIT
#include "weft/tls/errors.hpp"

#include <string>

namespace weft::tls {

namespace {

class tls_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.tls"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::untrusted_certificate: return "certificate not trusted (unknown issuer or self-signed)";
            case errc::certificate_expired: return "certificate expired";
            case errc::certificate_not_yet_valid: return "certificate not yet valid";
            case errc::host_mismatch: return "certificate does not match the host name";
            case errc::certificate_invalid: return "certificate verification failed";
            case errc::handshake_failed: return "TLS handshake failed";
            case errc::closed_during_handshake: return "peer closed the connection during the TLS handshake";
            case errc::protocol_error: return "TLS protocol error";
            case errc::truncated: return "peer closed the connection without close_notify (data may be truncated)";
            case errc::bad_certificate_file: return "certificate, key or trust file cannot be used";
            case errc::unsupported: return "weft was built without TLS (-Dtls=disabled)";
        }
        return "unknown weft.tls error " + std::to_string(ev);
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const tls_category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace weft::tls
