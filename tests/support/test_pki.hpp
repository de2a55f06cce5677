// SPDX-License-Identifier: MIT
// test_pki: a certificate authority for the TLS tests, made at run time with
// OpenSSL (P-256 keys, SHA-256 signatures). No key is ever committed.
// Every function throws std::runtime_error, with OpenSSL's error queue, on failure.
#pragma once

#include <openssl/types.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace weft::test::pki {

struct cert_spec {
    // The {} initializers keep -Wextra quiet about designated initializers
    // that leave fields out.
    std::string common_name{};
    std::vector<std::string> dns_names{};     // subjectAltName DNS entries
    std::vector<std::string> ip_addresses{};  // subjectAltName IP entries ("127.0.0.1", "::1")
    long not_before_s = -3600;                // offset from now, seconds
    long not_after_s = 30L * 24 * 3600;
    bool is_ca = false;
};

// issued is a certificate and its private key, PEM encoded.
struct issued {
    std::string cert_pem;
    std::string key_pem;
};

namespace detail {
struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept;
};
struct x509_free {
    void operator()(X509* p) const noexcept;
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
}  // namespace detail

// authority is a CA that can sign certificates.
class authority {
public:
    // root(name) makes a self-signed root CA whose common name is `name`.
    static authority root(const std::string& name);
    // intermediate(name) makes a CA signed by this one.
    authority intermediate(const std::string& name) const;
    // issue(spec) makes a leaf (or a CA when spec.is_ca) signed by this CA;
    // cert_pem holds the new certificate alone (append chain_pem() for a chain).
    issued issue(const cert_spec& spec) const;

    // cert_pem() is this CA's certificate; key_pem() its private key (PKCS#8).
    const std::string& cert_pem() const;
    const std::string& key_pem() const;
    // chain_pem() is what a peer sends after a leaf this CA issued: this CA's
    // certificate and those of the intermediates above it, empty for a root.
    const std::string& chain_pem() const;

    authority(authority&&) noexcept;
    authority& operator=(authority&&) noexcept;
    authority(const authority&) = delete;
    authority& operator=(const authority&) = delete;
    ~authority();

private:
    authority() = default;
    detail::pkey_ptr key_;
    detail::x509_ptr cert_;
    std::string cert_pem_;
    std::string key_pem_;
    std::string chain_pem_;
};

// self_signed(spec) is a self-signed leaf certificate (not a CA unless spec.is_ca).
issued self_signed(const cert_spec& spec);

// bundle: a whole test PKI written to a fresh directory under $TMPDIR (or
// /tmp), which the destructor removes. Each leaf is <name>.crt (the leaf, then
// any intermediates) and <name>.key:
//   server         CN localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, signed by the root
//   chain          the same names, signed by an intermediate; chain.crt is leaf then intermediate
//   expired        the same names, valid from -2 days to -1 day
//   not_yet_valid  the same names, valid from +1 day
//   wrong_host     CN and SAN DNS:wrong.example only, signed by the root
//   self_signed    the same names as server, self-signed
//   other_name     CN and SAN DNS:other.test, signed by the root (a second identity for SNI)
// Also written: ca.crt (the root) and intermediate.crt.
struct bundle {
    std::string dir;
    std::string ca_file;  // the root CA (PEM): the trust anchor for client_options::ca_file
    std::string ca_pem;   // the same, in memory

    // cert_file(name) is dir + "/" + name + ".crt"; key_file(name) the ".key".
    std::string cert_file(const std::string& name) const;
    std::string key_file(const std::string& name) const;
    // cert_pem(name) and key_pem(name) are those files' contents; they throw
    // for a name that is not in the bundle.
    std::string cert_pem(const std::string& name) const;
    std::string key_pem(const std::string& name) const;

    bundle();
    ~bundle();
    bundle(const bundle&) = delete;
    bundle& operator=(const bundle&) = delete;

private:
    std::map<std::string, issued> leaves_;
    pid_t owner_ = 0;  // only the process that made dir removes it (not a forked child)
};

// shared_bundle() is one bundle per test process, made on first use (thread
// safe) and removed at exit.
const bundle& shared_bundle();

}  // namespace weft::test::pki
