// SPDX-License-Identifier: MIT
// A build without TLS (-Dtls=disabled): contexts cannot be made, so no
// stream ever handshakes; every entry point says errc::unsupported, and
// http:// clients see https:// as an unsupported scheme.
#include <system_error>

#include "tls/context_data.hpp"
#include "tls/engine.hpp"
#include "weft/tls/context.hpp"

namespace weft::tls {

namespace {
[[noreturn]] void unsupported(const char* what) { throw std::system_error(errc::unsupported, what); }
}  // namespace

detail::context_data::~context_data() = default;
context::context(std::shared_ptr<detail::context_data> p) noexcept : p_(std::move(p)) {}
context context::client(const client_options&) { unsupported("weft::tls::context::client"); }
context context::server(const server_options&) { unsupported("weft::tls::context::server"); }
context context::self_signed(const std::vector<std::string>&, std::chrono::hours, server_options) {
    unsupported("weft::tls::context::self_signed");
}
std::string context::certificate_pem() const { return {}; }
bool context::is_server() const noexcept { return p_->server; }
bool context::verifies() const noexcept { return false; }
std::uint64_t context::id() const noexcept { return p_->id; }
bool available() noexcept { return false; }

namespace detail {

engine::~engine() = default;
bool engine::client_handshake(std::string_view, const context_data&, deadline, handshake_error& err) {
    err = {errc::unsupported, {}};
    return false;
}
bool engine::server_handshake(const context_data&, deadline, handshake_error& err) {
    err = {errc::unsupported, {}};
    return false;
}
std::size_t engine::recv(char*, std::size_t, deadline, std::error_code& ec) {
    ec = errc::unsupported;
    return 0;
}
std::size_t engine::write_all(std::string_view, deadline, std::error_code& ec) {
    ec = errc::unsupported;
    return 0;
}
void engine::shutdown(deadline, std::error_code& ec) { ec = errc::unsupported; }
std::string_view engine::alpn() const noexcept { return {}; }
bool engine::session_reused() const noexcept { return false; }
std::string_view engine::protocol() const noexcept { return {}; }
std::string_view engine::cipher() const noexcept { return {}; }
std::size_t engine::ssl_pending() const noexcept { return 0; }

}  // namespace detail
}  // namespace weft::tls
