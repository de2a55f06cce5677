// SPDX-License-Identifier: MIT
// tls::context: an OpenSSL SSL_CTX built from client_options or
// server_options. Certificates, keys and trust come from files or memory;
// every failure names the file (or "memory") and OpenSSL's reason.
#include "weft/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <atomic>
#include <string>

#include "tls/context_data.hpp"
#include "tls/session_cache.hpp"

namespace weft::tls {

namespace {

std::atomic<std::uint64_t> next_id{1};

// openssl_reason() is the reason of the newest error in the thread's queue,
// which it then clears.
std::string openssl_reason() {
    unsigned long e = ERR_peek_last_error();
    std::string why = e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error" : "unknown error";
    ERR_clear_error();
    return why;
}

[[noreturn]] void fail(errc e, const std::string& what) {
    throw std::system_error(e, "weft::tls::context: " + what + ": " + openssl_reason());
}

int proto_version(version v) noexcept { return v == version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// alpn_wire() is a protocol list in ALPN's wire format: each name prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& names) {
    std::string wire;
    for (const auto& n : names) {
        if (n.empty() || n.size() > 255)
            throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                    "weft::tls::context: an ALPN protocol name must be 1 to 255 bytes");
        wire += static_cast<char>(n.size());
        wire += n;
    }
    return wire;
}

// The server's ALPN choice: its own preference order among what the client
// offers; no common protocol goes on without ALPN.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
    const auto* wire = static_cast<const std::string*>(arg);
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                              static_cast<unsigned>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

struct bio_deleter {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

bio_ptr memory_bio(const std::string& pem) {
    return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// add_trusted_pem() adds every certificate in `pem` to the trust store.
void add_trusted_pem(SSL_CTX* ctx, const std::string& pem) {
    bio_ptr bio = memory_bio(pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        int ok = X509_STORE_add_cert(store, cert);
        X509_free(cert);
        if (!ok) fail(errc::bad_certificate_file, "ca_pem");
        ++added;
    }
    if (added == 0) fail(errc::bad_certificate_file, "ca_pem holds no PEM certificate");
    ERR_clear_error();  // the end of the PEM data is reported as an error
}

// use_chain_pem() makes the first certificate in `pem` the server's and the
// rest its chain.
void use_chain_pem(SSL_CTX* ctx, const std::string& pem) {
    bio_ptr bio = memory_bio(pem);
    X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!leaf) fail(errc::bad_certificate_file, "cert_pem holds no PEM certificate");
    int ok = SSL_CTX_use_certificate(ctx, leaf);
    X509_free(leaf);
    if (!ok) fail(errc::bad_certificate_file, "cert_pem");
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        if (!SSL_CTX_add0_chain_cert(ctx, ca)) {
            X509_free(ca);
            fail(errc::bad_certificate_file, "cert_pem's chain");
        }
    }
    ERR_clear_error();
}

void use_key_pem(SSL_CTX* ctx, const std::string& pem) {
    bio_ptr bio = memory_bio(pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (!key) fail(errc::bad_certificate_file, "key_pem holds no PEM private key");
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (!ok) fail(errc::bad_certificate_file, "key_pem");
}

// make_ctx() is a new SSL_CTX with what clients and servers share.
std::shared_ptr<detail::context_data> make_ctx(bool server, version min) {
    ERR_clear_error();
    auto p = std::make_shared<detail::context_data>();
    p->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!p->ctx) fail(errc::unsupported, "SSL_CTX_new");
    p->server = server;
    p->id = next_id.fetch_add(1, std::memory_order_relaxed);
    SSL_CTX_set_min_proto_version(p->ctx, proto_version(min));
    // Renegotiation (TLS 1.2) would make any read or write a handshake again; no one needs it.
    SSL_CTX_set_options(p->ctx, SSL_OP_NO_RENEGOTIATION);
    // A write retried after WANT_WRITE may come from another stack frame of
    // the same fiber; read-ahead lets one recv() bring several records.
    // Buffers are freed while a connection has nothing buffered, so a
    // thousand idle connections do not hold 40 KB each.
    SSL_CTX_set_mode(p->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(p->ctx, 1);
    // Read-ahead fills this buffer: several records per recv() in bulk.
    SSL_CTX_set_default_read_buffer_len(p->ctx, 64 * 1024);
    return p;
}

}  // namespace

detail::context_data::~context_data() { SSL_CTX_free(ctx); }

context::context(std::shared_ptr<detail::context_data> p) noexcept : p_(std::move(p)) {}

context context::client(const client_options& opts) {
    auto p = make_ctx(false, opts.min_version);
    SSL_CTX* ctx = p->ctx;
    p->verify = opts.verify;
    p->resume = opts.resume_sessions;
    if (opts.verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        bool own_store = !opts.ca_file.empty() || !opts.ca_dir.empty() || !opts.ca_pem.empty();
        if (!own_store) {
            if (!SSL_CTX_set_default_verify_paths(ctx)) fail(errc::bad_certificate_file, "the system trust store");
        }
        if (!opts.ca_file.empty() || !opts.ca_dir.empty()) {
            const char* file = opts.ca_file.empty() ? nullptr : opts.ca_file.c_str();
            const char* dir = opts.ca_dir.empty() ? nullptr : opts.ca_dir.c_str();
            if (!SSL_CTX_load_verify_locations(ctx, file, dir))
                fail(errc::bad_certificate_file, "ca_file " + opts.ca_file + (dir ? " / ca_dir " + opts.ca_dir : ""));
        }
        if (!opts.ca_pem.empty()) add_trusted_pem(ctx, opts.ca_pem);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!opts.alpn.empty()) {
        std::string wire = alpn_wire(opts.alpn);
        if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                    static_cast<unsigned>(wire.size())) != 0)
            fail(errc::unsupported, "ALPN");
    }
    if (opts.resume_sessions) {
        // Sessions go to the run's cache (session_cache.cpp), not OpenSSL's.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, &detail::on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    return context(std::move(p));
}

context context::server(const server_options& opts) {
    auto p = make_ctx(true, opts.min_version);
    SSL_CTX* ctx = p->ctx;
    if (opts.cert_file.empty() == opts.cert_pem.empty())
        throw std::system_error(errc::bad_certificate_file,
                                "weft::tls::context::server: give cert_file or cert_pem (one of them)");
    if (opts.key_file.empty() == opts.key_pem.empty())
        throw std::system_error(errc::bad_certificate_file,
                                "weft::tls::context::server: give key_file or key_pem (one of them)");
    if (!opts.cert_file.empty()) {
        if (!SSL_CTX_use_certificate_chain_file(ctx, opts.cert_file.c_str()))
            fail(errc::bad_certificate_file, "cert_file " + opts.cert_file);
    } else {
        use_chain_pem(ctx, opts.cert_pem);
    }
    if (!opts.key_file.empty()) {
        if (!SSL_CTX_use_PrivateKey_file(ctx, opts.key_file.c_str(), SSL_FILETYPE_PEM))
            fail(errc::bad_certificate_file, "key_file " + opts.key_file);
    } else {
        use_key_pem(ctx, opts.key_pem);
    }
    if (!SSL_CTX_check_private_key(ctx)) fail(errc::bad_certificate_file, "the key does not match the certificate");
    // TLS 1.2 resumption by session ID needs a context id; tickets need nothing.
    static const unsigned char sid_ctx[] = "weft";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    // One TLS 1.3 ticket per handshake (OpenSSL sends two): every connection,
    // resumed ones too, leaves its client a fresh one; the second cost 7% CPU.
    SSL_CTX_set_num_tickets(ctx, 1);
    if (!opts.alpn.empty()) {
        p->alpn = alpn_wire(opts.alpn);
        SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, &p->alpn);
    }
    return context(std::move(p));
}

namespace {

struct pkey_deleter {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_deleter {
    void operator()(X509* c) const noexcept { X509_free(c); }
};

std::string to_pem(int (*write)(BIO*, void*), void* what) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || !write(bio.get(), what)) fail(errc::bad_certificate_file, "PEM encoding");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

bool is_ip(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace

context context::self_signed(const std::vector<std::string>& names, std::chrono::hours valid_for, server_options opts) {
    if (names.empty())
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "weft::tls::context::self_signed: give at least one name");
    ERR_clear_error();
    std::unique_ptr<EVP_PKEY, pkey_deleter> key(EVP_EC_gen("P-256"));
    std::unique_ptr<X509, x509_deleter> cert(X509_new());
    if (!key || !cert) fail(errc::bad_certificate_file, "self_signed: key generation");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), next_id.fetch_add(1) ^ 0x5eedULL << 32);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_for.count()) * 3600);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(names[0].c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), subject);
    std::string san;
    for (const auto& n : names) {
        if (!san.empty()) san += ',';
        san.append(is_ip(n) ? "IP:" : "DNS:").append(n);
    }
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                              {NID_basic_constraints, "critical,CA:FALSE"},
                              {NID_key_usage, "critical,digitalSignature"},
                              {NID_ext_key_usage, "serverAuth"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        if (!ext || !X509_add_ext(cert.get(), ext, -1)) {
            X509_EXTENSION_free(ext);
            fail(errc::bad_certificate_file, "self_signed: the certificate's extension " + value);
        }
        X509_EXTENSION_free(ext);
    }
    X509_set_pubkey(cert.get(), key.get());
    if (!X509_sign(cert.get(), key.get(), EVP_sha256())) fail(errc::bad_certificate_file, "self_signed: signing");
    opts.cert_file.clear();
    opts.key_file.clear();
    opts.cert_pem = to_pem([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, cert.get());
    opts.key_pem = to_pem(
        [](BIO* b, void* k) {
            return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
        },
        key.get());
    return server(opts);
}

std::string context::certificate_pem() const {
    X509* cert = p_->server ? SSL_CTX_get0_certificate(p_->ctx) : nullptr;
    if (!cert) return {};
    return to_pem([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, cert);
}

bool context::is_server() const noexcept { return p_->server; }
bool context::verifies() const noexcept { return !p_->server && p_->verify; }
std::uint64_t context::id() const noexcept { return p_->id; }

bool available() noexcept { return true; }

}  // namespace weft::tls
