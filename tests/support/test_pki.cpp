// SPDX-License-Identifier: MIT
// test_pki: keys, certificates and the on-disk bundle, over OpenSSL 3's C API.
#include "support/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace weft::test::pki {

void detail::pkey_free::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
void detail::x509_free::operator()(X509* p) const noexcept { X509_free(p); }

namespace {

using detail::pkey_ptr;
using detail::x509_ptr;

// fail(what) throws `what` followed by (and draining) OpenSSL's error queue.
[[noreturn]] void fail(const std::string& what) {
    std::string msg = "test_pki: " + what;
    char buf[256];
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        msg += "; ";
        msg += buf;
    }
    throw std::runtime_error(msg);
}

// check(ok, what) throws via fail() unless ok.
template <class T>
T check(T ok, const char* what) {
    if (!ok) fail(what);
    return ok;
}

pkey_ptr make_key() { return pkey_ptr(check(EVP_EC_gen("P-256"), "EVP_EC_gen(P-256)")); }

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};

// to_pem(write) runs write(bio) into a memory BIO and returns the text.
template <class Write>
std::string to_pem(Write write, const char* what) {
    std::unique_ptr<BIO, bio_free> bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
    check(write(bio.get()), what);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_to_pem(X509* x) {
    return to_pem([x](BIO* b) { return PEM_write_bio_X509(b, x); }, "PEM_write_bio_X509");
}

std::string key_to_pem(EVP_PKEY* k) {
    return to_pem([k](BIO* b) { return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); },
                  "PEM_write_bio_PrivateKey");
}

// add_ext(x, ctx, nid, value) adds one extension in openssl.cnf syntax.
void add_ext(X509* x, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
    if (!ext) fail("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) fail("X509_add_ext");
}

// set_serial(x) gives x a random positive 127-bit serial number.
void set_serial(X509* x) {
    unsigned char bytes[16];
    check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;  // keep the full length: no leading zero byte
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(check(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"),
                                                   BN_free);
    check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)), "BN_to_ASN1_INTEGER");
}

// make_cert(spec, key, issuer, issuer_key) is a certificate for `key`
// described by spec, signed by issuer_key; a null issuer makes it self-signed.
x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    x509_ptr x(check(X509_new(), "X509_new"));
    check(X509_set_version(x.get(), X509_VERSION_3), "X509_set_version");
    set_serial(x.get());
    check(X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, spec.not_before_s, nullptr), "notBefore");
    check(X509_time_adj_ex(X509_getm_notAfter(x.get()), 0, spec.not_after_s, nullptr), "notAfter");
    check(X509_set_pubkey(x.get(), key), "X509_set_pubkey");

    X509_NAME* name = X509_get_subject_name(x.get());
    auto cn = reinterpret_cast<const unsigned char*>(spec.common_name.c_str());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("weft tests"), -1,
                                     -1, 0),
          "subject O");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0), "subject CN");
    X509* signer = issuer ? issuer : x.get();
    check(X509_set_issuer_name(x.get(), X509_get_subject_name(signer)), "X509_set_issuer_name");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, signer, x.get(), nullptr, nullptr, 0);
    if (spec.is_ca) {
        add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature");
        add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    std::string san;
    for (auto& d : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (auto& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    if (!san.empty()) add_ext(x.get(), &ctx, NID_subject_alt_name, san);
    // The subject key id goes first: for a self-signed certificate the
    // authority key id is copied from it.
    add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
    add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");

    if (X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) fail("X509_sign");
    return x;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("test_pki: cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("test_pki: cannot write " + path);
}

}  // namespace

authority authority::root(const std::string& name) {
    authority a;
    a.key_ = make_key();
    cert_spec spec{.common_name = name, .not_after_s = 365L * 24 * 3600, .is_ca = true};
    a.cert_ = make_cert(spec, a.key_.get(), nullptr, nullptr);
    a.cert_pem_ = cert_to_pem(a.cert_.get());
    a.key_pem_ = key_to_pem(a.key_.get());
    return a;
}

authority authority::intermediate(const std::string& name) const {
    authority a;
    a.key_ = make_key();
    cert_spec spec{.common_name = name, .not_after_s = 365L * 24 * 3600, .is_ca = true};
    a.cert_ = make_cert(spec, a.key_.get(), cert_.get(), key_.get());
    a.cert_pem_ = cert_to_pem(a.cert_.get());
    a.key_pem_ = key_to_pem(a.key_.get());
    a.chain_pem_ = a.cert_pem_ + chain_pem_;
    return a;
}

issued authority::issue(const cert_spec& spec) const {
    pkey_ptr key = make_key();
    x509_ptr cert = make_cert(spec, key.get(), cert_.get(), key_.get());
    return {cert_to_pem(cert.get()), key_to_pem(key.get())};
}

const std::string& authority::cert_pem() const { return cert_pem_; }
const std::string& authority::key_pem() const { return key_pem_; }
const std::string& authority::chain_pem() const { return chain_pem_; }

authority::authority(authority&&) noexcept = default;
authority& authority::operator=(authority&&) noexcept = default;
authority::~authority() = default;

issued self_signed(const cert_spec& spec) {
    pkey_ptr key = make_key();
    x509_ptr cert = make_cert(spec, key.get(), nullptr, nullptr);
    return {cert_to_pem(cert.get()), key_to_pem(key.get())};
}

bundle::bundle() : owner_(::getpid()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/weft-pki-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::system_error(errno, std::generic_category(), "test_pki: mkdtemp " + templ);
    dir = templ;
    try {
        auto root = authority::root("weft test root CA");
        auto inter = root.intermediate("weft test intermediate CA");
        ca_file = dir + "/ca.crt";
        ca_pem = root.cert_pem();
        write_file(ca_file, ca_pem);
        write_file(dir + "/intermediate.crt", inter.cert_pem());

        const long day = 24L * 3600;
        cert_spec local{.common_name = "localhost", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1", "::1"}};
        cert_spec expired = local;
        expired.not_before_s = -2 * day;
        expired.not_after_s = -day;
        cert_spec early = local;
        early.not_before_s = day;
        cert_spec wrong{.common_name = "wrong.example", .dns_names = {"wrong.example"}};
        cert_spec other{.common_name = "other.test", .dns_names = {"other.test"}};

        leaves_["server"] = root.issue(local);
        leaves_["chain"] = inter.issue(local);
        leaves_["chain"].cert_pem += inter.chain_pem();
        leaves_["expired"] = root.issue(expired);
        leaves_["not_yet_valid"] = root.issue(early);
        leaves_["wrong_host"] = root.issue(wrong);
        leaves_["self_signed"] = self_signed(local);
        leaves_["other_name"] = root.issue(other);
        for (auto& [name, leaf] : leaves_) {
            write_file(cert_file(name), leaf.cert_pem);
            write_file(key_file(name), leaf.key_pem);
        }
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        throw;
    }
}

bundle::~bundle() {
    if (::getpid() != owner_) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

std::string bundle::cert_file(const std::string& name) const { return dir + "/" + name + ".crt"; }
std::string bundle::key_file(const std::string& name) const { return dir + "/" + name + ".key"; }

std::string bundle::cert_pem(const std::string& name) const {
    auto it = leaves_.find(name);
    return it != leaves_.end() ? it->second.cert_pem : read_file(cert_file(name));
}

std::string bundle::key_pem(const std::string& name) const {
    auto it = leaves_.find(name);
    return it != leaves_.end() ? it->second.key_pem : read_file(key_file(name));
}

const bundle& shared_bundle() {
    static const bundle b;
    return b;
}

}  // namespace weft::test::pki
