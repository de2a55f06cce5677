// SPDX-License-Identifier: MIT
// Fuzz target: a TLS client reading arbitrary bytes from its peer, during and
// after the handshake. In a fresh weft::run, a listener on 127.0.0.1 plays the
// server; the client connects with tls::stream::connect(tcp, "localhost", ...)
// and reads until an error or the end, then writes and shuts down. Every
// outcome must be an error_code or a clean end: an error_code form that
// throws, an exception that is not std::system_error, plaintext the server
// never sent, or a file descriptor left open after the run aborts.
//
// Input: a control byte, then the bytes. Control bits: 0-3 how the bytes the
// input shaped are cut (fuzz/pieces.hpp): the raw bytes, or in mode 2 what the
// server sends once the mask has changed a byte (an intact flight goes whole,
// as a real server's would); 4-5 the mode:
//   0  the server reads the ClientHello and answers with the bytes, raw
//      (garbage instead of a ServerHello); the client verifies certificates;
//   1  a real handshake (tls::stream::accept, TLS 1.3), then the bytes go raw
//      to the TCP socket under the TLS layer: corrupt records;
//   2  a real handshake by an OpenSSL server over memory BIOs, whose every
//      byte to the client (the server flight, tickets, "hello\nworld" and a
//      close_notify) is XORed with the input bytes: mutated TLS messages.
//      When the handshake succeeds the client connects again, resuming the
//      session, and the mask goes on over the second connection's bytes;
//   3  as 1, but the server is mode 2's (unmasked), limited to TLS 1.2;
// bit 6: modes 1 and 3: the server first sends "hello\nworld" through TLS; mode 2:
// the server is limited to TLS 1.2; mode 0: the client does not verify and
// offers ALPN. Bit 7: the client reads a line with read_until(), then 3 bytes
// at a time (else 16 KiB at a time).
//
// The server's certificate and key (EC P-256, self-signed, CN localhost) are
// made once per process with OpenSSL (tests/support/test_pki); no key is on disk.
// WEFT_FUZZ_VERBOSE=1 says what each input did, and when.
#include <dirent.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>
#include <weft/weft.hpp>

#include "pieces.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace std::chrono_literals;
using namespace weft;

constexpr auto handshake_timeout = 500ms;
constexpr auto io_timeout = 200ms;
// How long the OpenSSL server waits for the client's next flight: long while
// what it sent is as OpenSSL wrote it; short once the mask changed a byte, as
// a changed length leaves the client waiting for bytes that never come (then
// the server's close ends the handshake).
constexpr auto server_wait = 300ms;
constexpr auto server_wait_mutated = 20ms;
// What the servers send through TLS: a line for read_until(), and more
// after it in the same record (left read ahead).
constexpr std::string_view plaintext = "hello\nworld";

bool verbose() {
    static const bool v = std::getenv("WEFT_FUZZ_VERBOSE") != nullptr;  // WEFT_FUZZ_VERBOSE=1
    return v;
}

// note() says, with WEFT_FUZZ_VERBOSE, what happened and when (ms into the process).
__attribute__((format(printf, 1, 2))) void note(const char* fmt, ...) {
    if (!verbose()) return;
    static const auto start = std::chrono::steady_clock::now();
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "%9.3f ms  ", ms);
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
    std::fputc('\n', stderr);
}

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "tls_client: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
    std::abort();
}

// --- the server's identity, once per process ---

SSL_CTX* raw_server_ctx(const test::pki::issued& pem, int max_version) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) fail("SSL_CTX_new");
    SSL_CTX_set_max_proto_version(ctx, max_version);
    BIO* cb = BIO_new_mem_buf(pem.cert_pem.data(), static_cast<int>(pem.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(pem.key_pem.data(), static_cast<int>(pem.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    if (!cert || !key || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
        fail("loading the generated certificate into OpenSSL");
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

struct identity {
    test::pki::issued pem =
        test::pki::self_signed({.common_name = "localhost", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
    tls::context server = tls::context::server({.cert_pem = pem.cert_pem, .key_pem = pem.key_pem});
    SSL_CTX* raw13 = raw_server_ctx(pem, TLS1_3_VERSION);  // the memory-BIO server: up to TLS 1.3
    SSL_CTX* raw12 = raw_server_ctx(pem, TLS1_2_VERSION);  // ... limited to TLS 1.2
    // The client's contexts.
    tls::context client_verify = tls::context::client({});
    tls::context client_trusting = tls::context::client({.verify = false});
    tls::context client_alpn = tls::context::client({.verify = false, .alpn = {"h2", "http/1.1"}});
};

// ident() is made on first use and lives to the end of the process.
const identity& ident() {
    static const identity id;
    return id;
}

// open_fds() is how many file descriptors this process has open.
int open_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (::readdir(d)) ++n;
    ::closedir(d);
    return n;
}

// drain() reads (and drops) what the client still sends until it closes, so
// that closing our side does not reset the connection with unread bytes.
void drain(net::tcp_stream& s) {
    std::error_code ec;
    char buf[4096];
    while (s.read_some(buf, io_timeout, ec) > 0 && !ec) {
    }
}

// --- the servers ---

// Mode 0: read the ClientHello, answer with the bytes.
void serve_garbage(net::tcp_stream s, std::string_view bytes, unsigned seed) {
    std::error_code ec;
    char buf[4096];
    s.read_some(buf, io_timeout, ec);
    if (ec) return;
    fuzz::write_pieces(s, bytes, seed, ec);
    if (ec) return;
    s.shutdown(ec);
    drain(s);
}

// Mode 1: a weft TLS server; after the handshake, the bytes go raw.
void serve_weft(net::tcp_stream s, std::string_view bytes, unsigned seed, bool hello, std::string& sent) {
    std::error_code ec;
    tls::stream t = tls::stream::accept(std::move(s), ident().server, handshake_timeout, ec);
    if (ec) return;
    if (hello) {
        sent = plaintext;
        t.write_all(sent, io_timeout, ec);
        if (ec) return;
    }
    fuzz::write_pieces(t.next_layer(), bytes, seed, ec);
    if (ec) return;
    t.next_layer().shutdown(ec);
    drain(t.next_layer());
}

struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};

// masking is what mode 2's connections share: the mask, and how far into it
// the bytes sent so far went.
struct masking {
    std::string_view mask;
    std::size_t offset = 0;  // of the next byte to the client, over all connections
    bool mutated = false;    // whether the mask changed a byte sent so far
};

// Modes 2 and 3: an OpenSSL server over memory BIOs, its bytes to the client
// XORed with the mask (mode 2: m's mask is the input) or followed by `tail`
// raw (mode 3: m's mask is empty).
void serve_openssl(net::tcp_stream s, SSL_CTX* ctx, masking& m, std::string_view tail, unsigned seed, bool hello,
                   bool close_notify, std::string& sent) {
    std::unique_ptr<SSL, ssl_free> ssl(SSL_new(ctx));
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) fail("SSL_new / BIO_new");
    SSL_set_bio(ssl.get(), in, out);
    SSL_set_accept_state(ssl.get());
    std::error_code ec;
    // flush() sends what the server wrote, masked.
    auto flush = [&] {
        char* p = nullptr;
        long n = BIO_get_mem_data(out, &p);
        std::string bytes(p, static_cast<std::size_t>(n));
        (void)BIO_reset(out);
        for (std::size_t i = 0; i < bytes.size() && m.offset + i < m.mask.size(); ++i) {
            bytes[i] ^= m.mask[m.offset + i];
            m.mutated |= m.mask[m.offset + i] != 0;
        }
        m.offset += bytes.size();
        // Cut in pieces only when the fuzzer shaped them: a real flight goes whole.
        if (!bytes.empty()) fuzz::write_pieces(s, bytes, m.mutated ? seed : 0, ec);
        if (!bytes.empty()) note("server: sent %zu bytes%s", bytes.size(), ec ? ", failed" : "");
        return !ec;
    };
    char buf[16384];
    bool done = false;
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl.get());
        int why = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), r);
        if (!flush()) break;
        if (r == 1) {
            done = true;
            break;
        }
        if (why != SSL_ERROR_WANT_READ) {
            note("server: handshake failed (SSL_get_error %d)", why);
            break;
        }
        std::size_t n = s.read_some(buf, m.mutated ? server_wait_mutated : server_wait, ec);
        if (ec || n == 0) {
            note("server: the client's next flight: %s", ec ? ec.message().c_str() : "end of stream");
            break;
        }
        BIO_write(in, buf, static_cast<int>(n));
    }
    ERR_clear_error();
    if (done && !ec) {
        if (hello) {
            sent = plaintext;
            if (SSL_write(ssl.get(), sent.data(), static_cast<int>(sent.size())) <= 0) sent.clear();
        }
        if (close_notify) (void)SSL_shutdown(ssl.get());
        ERR_clear_error();
        flush();
    }
    if (!ec && done && !tail.empty()) fuzz::write_pieces(s, tail, seed, ec);
    ERR_clear_error();
    note("server: shutting down");
    s.shutdown(ec);
    drain(s);
    note("server: the client closed");
}

// --- the client ---

// client() connects, reads to the end, writes and shuts down, checking that
// every error comes as an error_code and every plaintext byte is one the
// server sent (`sent`, read after the fact: the server sets it before sending).
// True when the handshake succeeded.
bool client(const net::address& to, const tls::context& ctx, bool small_reads, const std::string& sent) {
    bool connected = false;
    std::error_code ec;
    std::string got;  // all the plaintext the client read
    try {
        net::tcp_stream tcp = net::tcp_stream::connect(to, io_timeout, ec);
        if (ec) fail("connect to the loopback listener", ec.message());
        tls::stream s = tls::stream::connect(std::move(tcp), "localhost", ctx, handshake_timeout, ec);
        if (ec) {
            if (s.is_open()) fail("a failed connect returned an open stream");
            note("client: handshake: %s", ec.message().c_str());
        } else {
            connected = true;
            note("client: handshake done: %s %s, ALPN \"%s\"%s", std::string(s.protocol()).c_str(),
                 std::string(s.cipher()).c_str(), std::string(s.alpn()).c_str(), s.session_reused() ? ", resumed" : "");
            if (small_reads) {
                std::string line;
                std::size_t n = s.read_until(line, "\n", 64, io_timeout, ec);
                if (n != line.size() || n > 64) fail("read_until returned a wrong size");
                got += line;
            }
            char buf[16384];
            const std::size_t chunk = small_reads ? 3 : sizeof buf;
            while (!ec) {
                std::size_t n = s.read_some(std::span<char>(buf, chunk), io_timeout, ec);
                if (n > chunk) fail("read_some returned more than the buffer holds");
                got.append(buf, n);
                if (n == 0) break;  // a clean end (close_notify), or an error
            }
            note("client: read %zu bytes, then %s", got.size(), ec ? ec.message().c_str() : "a clean end");
            // A read that failed must stay failed, not hang or throw.
            char one;
            s.read_some(std::span<char>(&one, 1), io_timeout, ec);
            s.write_all("bye\n", io_timeout, ec);
            s.shutdown(io_timeout, ec);
        }
    } catch (const std::system_error& e) {
        fail("an error_code form threw", e.what());
    }
    if (got.size() > sent.size() || sent.compare(0, got.size(), got) != 0)
        fail("the client read plaintext the server never sent",
             "got " + std::to_string(got.size()) + " bytes, sent " + std::to_string(sent.size()));
    return connected;
}

void one_run(unsigned ctl, std::string_view bytes) {
    const unsigned seed = ctl & 15;
    const unsigned mode = (ctl >> 4) & 3;
    const bool bit6 = ctl & 0x40;
    const bool small_reads = ctl & 0x80;
    const identity& id = ident();
    const tls::context& ctx = mode != 0 ? id.client_trusting : bit6 ? id.client_alpn : id.client_verify;

    masking m{.mask = mode == 2 ? bytes : std::string_view()};
    weft::run([&] {
        auto listener = net::tcp_listener::bind(net::address::loopback(0));
        std::string sent[2];  // plaintext the server sent through TLS, per connection
        auto serve = [&](net::tcp_stream s, std::string& out) {
            try {
                switch (mode) {
                    case 0: serve_garbage(std::move(s), bytes, seed); break;
                    case 1: serve_weft(std::move(s), bytes, seed, bit6, out); break;
                    case 2:
                        serve_openssl(std::move(s), bit6 ? id.raw12 : id.raw13, m, {}, seed, true, true, out);
                        break;
                    default: serve_openssl(std::move(s), id.raw12, m, bytes, seed, bit6, false, out); break;
                }
            } catch (const std::system_error& e) {
                // Only the server's own calls throw here (the client's are
                // error_code forms): its failures are not the client's.
                note("server: %s", e.what());
            }
        };
        // One server fiber per connection: the first may still be draining
        // when the second connection comes. The acceptor ends when the
        // listener closes, joining them.
        auto acceptor = spawn([&] {
            std::vector<task<void>> conns;
            for (std::string& out : sent) {
                std::error_code ec;
                net::tcp_stream s = listener.accept(ec);
                if (ec) return;
                conns.push_back(spawn(serve, std::move(s), std::ref(out)));
            }
            for (auto& c : conns) c.join();
        });
        const net::address to = listener.local_address();
        if (client(to, ctx, small_reads, sent[0]) && mode == 2) client(to, ctx, small_reads, sent[1]);
        listener.close();  // wakes the acceptor when no second connection came
        acceptor.join();
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    ident();  // made before the first count of file descriptors
    const int fds = open_fds();
    try {
        one_run(data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    } catch (const std::system_error& e) {
        // weft::run itself (binding the listener, a deadlock report): not a
        // finding of the client's, but say it.
        std::fprintf(stderr, "tls_client: run failed: %s\n", e.what());
    } catch (const std::exception& e) {
        fail("an exception that is not std::system_error", e.what());
    } catch (...) {
        fail("an exception that is not a std::exception");
    }
    ERR_clear_error();
    const int after = open_fds();
    if (after != fds)
        fail("file descriptors leaked",
             std::to_string(fds) + " open before the run, " + std::to_string(after) + " after");
    return 0;
}
