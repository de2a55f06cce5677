// SPDX-License-Identifier: MIT
// TLS over a weft socket with OpenSSL 3. OpenSSL reads and writes the socket
// through a BIO of ours that makes non-blocking syscalls (MSG_NOSIGNAL: no
// SIGPIPE) and keeps the reactor's readiness true to what the kernel said;
// drive() turns OpenSSL's WANT_READ / WANT_WRITE into a park on the reactor,
// outside OpenSSL, and then calls again. See engine.hpp for the invariants.
#include "tls/engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "detail/io_wait.hpp"
#include "detail/runtime.hpp"
#include "net/sys.hpp"
#include "tls/context_data.hpp"
#include "tls/session_cache.hpp"
#include "weft/errors.hpp"

namespace weft::tls::detail {

using weft::detail::io_dir;

namespace {

// --- the BIO: one state's socket, non-blocking ---

int bio_write(BIO* b, const char* data, int len) {
    auto* st = static_cast<engine*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    int fd = st->tcp.native_handle();
    if (fd < 0) {
        st->sys_error = EBADF;
        return -1;
    }
    for (;;) {
        ssize_t n = ::send(fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
        if (n >= 0) {
            if (n < len) st->io->clear_ready(fd, io_dir::write);
            return static_cast<int>(n);
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            st->io->clear_ready(fd, io_dir::write);
            BIO_set_retry_write(b);
            return -1;
        }
        st->sys_error = errno;
        return -1;
    }
}

int bio_read(BIO* b, char* data, int len) {
    auto* st = static_cast<engine*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    int fd = st->tcp.native_handle();
    if (fd < 0) {
        st->sys_error = EBADF;
        return -1;
    }
    // The reactor knows the socket is drained: say "retry" without the EAGAIN syscall.
    if (!st->io->ready(fd, io_dir::read)) {
        BIO_set_retry_read(b);
        return -1;
    }
    for (;;) {
        ssize_t n = ::recv(fd, data, static_cast<std::size_t>(len), 0);
        if (n > 0) {
            // A short read drained the socket (the reactor keeps a hang-up sticky).
            if (n < len) st->io->clear_ready(fd, io_dir::read);
            return static_cast<int>(n);
        }
        if (n == 0) {
            st->eof = true;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            st->io->clear_ready(fd, io_dir::read);
            BIO_set_retry_read(b);
            return -1;
        }
        st->sys_error = errno;
        return -1;
    }
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
        case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
        case BIO_CTRL_EOF: return static_cast<engine*>(BIO_get_data(b))->eof ? 1 : 0;
        default: return 0;
    }
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* socket_bio_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft socket");
        if (m) {
            BIO_meth_set_write(m, bio_write);
            BIO_meth_set_read(m, bio_read);
            BIO_meth_set_ctrl(m, bio_ctrl);
            BIO_meth_set_create(m, bio_create);
        }
        return m;
    }();
    return method;
}

// --- errors ---

std::error_code verify_error(long v) {
    switch (v) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CRL_HAS_EXPIRED: return errc::certificate_expired;
        case X509_V_ERR_CERT_NOT_YET_VALID:
        case X509_V_ERR_CRL_NOT_YET_VALID: return errc::certificate_not_yet_valid;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
        case X509_V_ERR_EMAIL_MISMATCH: return errc::host_mismatch;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED: return errc::untrusted_certificate;
        default: return errc::certificate_invalid;
    }
}

// not_tls() is whether an OpenSSL reason means the bytes were not TLS at all
// (or were damaged), as opposed to two TLS peers that could not agree.
bool not_tls(int reason) {
    switch (reason) {
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_HTTP_REQUEST:
        case SSL_R_HTTPS_PROXY_REQUEST:
        case SSL_R_RECORD_LENGTH_MISMATCH:
        case SSL_R_LENGTH_MISMATCH:
        case SSL_R_LENGTH_TOO_SHORT:
        case SSL_R_BAD_PACKET_LENGTH:
        case SSL_R_UNEXPECTED_MESSAGE:
        case SSL_R_UNEXPECTED_RECORD:
        case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
        case SSL_R_BAD_RECORD_TYPE:
        case SSL_R_BAD_LENGTH:
        case SSL_R_EXCESSIVE_MESSAGE_SIZE: return true;
        default: return false;
    }
}

// reason_text() is the newest error of the queue as OpenSSL words it.
std::string reason_text(unsigned long e) {
    if (!e) return {};
    const char* r = ERR_reason_error_string(e);
    return r ? r : "OpenSSL error " + std::to_string(ERR_GET_REASON(e));
}

// classify() names a failed SSL call (SSL_get_error's `kind`) and fills
// st.why; it leaves the error queue empty.
std::error_code classify(engine& st, int kind, bool handshake) {
    unsigned long e = ERR_peek_last_error();
    int reason = e ? ERR_GET_REASON(e) : 0;
    std::error_code ec;
    if (st.sys_error == EPIPE && handshake) {
        ec = errc::closed_during_handshake;  // it closed before our flight went out
        st.why = "the peer closed the connection";
    } else if (st.sys_error != 0) {
        ec = {st.sys_error, std::generic_category()};
        st.why = std::strerror(st.sys_error);
    } else if (kind == SSL_ERROR_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(st.ssl);
        ec = verify_error(v);
        st.why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
    } else if ((kind == SSL_ERROR_SYSCALL && !e) || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = handshake ? errc::closed_during_handshake : errc::truncated;
        st.why = handshake ? "the peer closed the connection" : "end of stream without close_notify";
    } else {
        st.broken = true;
        ec = handshake && !not_tls(reason) ? errc::handshake_failed : errc::protocol_error;
        st.why = e ? reason_text(e) : "SSL_get_error " + std::to_string(kind);
    }
    ERR_clear_error();
    return ec;
}

}  // namespace

// --- waiting on the socket ---

namespace {

// wait_turn() parks until the socket may be ready in `dir`: when no other
// fiber of this stream waits in that direction, on the reactor; otherwise
// until that fiber's wait ends (its call may have done what ours needs).
// False with ec set on a timeout, cancellation or closed socket.
bool wait_turn(engine& st, io_dir dir, deadline until, std::error_code& ec) {
    weft::mutex& turn = st.turn[dir == io_dir::read ? 0 : 1];
    try {
        if (!turn.try_lock()) {
            if (!turn.try_lock_until(until)) {
                ec = make_error_code(weft::errc::timed_out);
                return false;
            }
            turn.unlock();
            return true;
        }
    } catch (const std::system_error& e) {  // timeout_error, no_scheduler
        ec = e.code();
        return false;
    } catch (const weft::cancelled& e) {
        ec = e.code();
        return false;
    }
    std::lock_guard hold(turn, std::adopt_lock);
    int fd = st.tcp.native_handle();
    if (fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return false;
    }
    if (st.io->ready(fd, dir)) return true;
    bool busy = false;
    weft::detail::wake_reason why = st.io->wait(fd, dir, until, busy);
    if (busy) {
        ec = std::make_error_code(std::errc::device_or_resource_busy);
        return false;
    }
    ec = weft::detail::wake_error(why);
    return !ec;
}

// drive() calls call() (one SSL call) until it succeeds, parking whenever
// OpenSSL wants the socket. Returns call()'s positive result; 0 for a
// close_notify; -1 with ec set otherwise.
template <class Call>
int drive(engine& st, bool handshake, deadline until, std::error_code& ec, Call&& call) {
    ec.clear();
    // Outside a fiber, or in another run than the one that made the stream
    // (whose reactor the BIO holds): an error, never a call into OpenSSL.
    if (weft::net::detail::socket_reactor(st.tcp.native_handle(), ec) != st.io) {
        if (!ec) ec = make_error_code(weft::errc::no_scheduler);
        return -1;
    }
    weft::detail::tls_scheduler->io_turn();  // a peer that always has data must not starve the others
    for (;;) {
        ERR_clear_error();
        st.sys_error = 0;
        int n = call();
        if (n > 0) return n;
        int kind = SSL_get_error(st.ssl, n);
        if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
            if (!wait_turn(st, kind == SSL_ERROR_WANT_READ ? io_dir::read : io_dir::write, until, ec)) return -1;
            continue;
        }
        if (kind == SSL_ERROR_ZERO_RETURN) {
            ERR_clear_error();
            return 0;
        }
        ec = classify(st, kind, handshake);
        return -1;
    }
}

// strip_brackets() is "::1" for "[::1]".
std::string_view strip_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

bool is_ip_literal(std::string_view host) {
    net::address ignored;
    return weft::net::detail::numeric_host(host, 0, ignored);
}

// make_ssl() is st's SSL object over its socket, or false with err set.
bool make_ssl(engine& st, const context_data& ctx, handshake_error& err) {
    ERR_clear_error();
    // Handshake flights and TLS records leave in whole sends: Nagle would
    // only hold the second of two (tickets, then data) behind a delayed ACK.
    int one = 1;
    ::setsockopt(st.tcp.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::error_code ec;
    st.io = weft::net::detail::socket_reactor(st.tcp.native_handle(), ec);
    if (!st.io) {  // outside a fiber (no_scheduler), or no socket (bad_file_descriptor)
        err = {ec, ""};
        return false;
    }
    st.ssl = SSL_new(ctx.ctx);
    BIO* bio = st.ssl ? BIO_new(socket_bio_method()) : nullptr;
    if (!bio) {
        err = {std::make_error_code(std::errc::not_enough_memory), reason_text(ERR_peek_last_error())};
        ERR_clear_error();
        return false;
    }
    BIO_set_data(bio, &st);
    SSL_set_bio(st.ssl, bio, bio);
    return true;
}

// handshake() runs SSL_do_handshake to its end.
bool handshake(engine& st, deadline until, handshake_error& err) {
    std::error_code ec;
    drive(st, true, until, ec, [&] { return SSL_do_handshake(st.ssl); });
    if (!ec) return true;
    err = {ec, st.why};
    return false;
}

}  // namespace

engine::~engine() {
    if (!ssl) return;
    // OpenSSL marks the session of a connection freed without a shutdown as
    // not resumable. Closing without close_notify is how most clients end
    // (and the peer's tickets stay good): only a connection that a TLS error
    // ended gives its session up.
    if (!broken) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);  // frees the BIO; the socket closes with tcp
}

bool engine::client_handshake(std::string_view host, const context_data& ctx, deadline until, handshake_error& err) {
    if (ctx.server) {
        err = {std::make_error_code(std::errc::invalid_argument), "a server context cannot connect"};
        return false;
    }
    if (!make_ssl(*this, ctx, err)) return false;
    name = strip_brackets(host);
    const bool ip = is_ip_literal(name);
    // SNI is for names only (RFC 6066 3).
    if (!ip && !SSL_set_tlsext_host_name(ssl, name.c_str())) {
        err = {errc::handshake_failed, "cannot send the server name " + name};
        ERR_clear_error();
        return false;
    }
    if (ctx.verify) {
        int ok =
            ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) : SSL_set1_host(ssl, name.c_str());
        if (!ok) {
            err = {errc::host_mismatch, "cannot check a certificate against \"" + name + "\""};
            ERR_clear_error();
            return false;
        }
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    if (ctx.resume) {
        std::error_code ignored;
        cache_key = std::to_string(ctx.id) + ' ' + name + ' ' + std::to_string(tcp.remote_address(ignored).port());
        SSL_set_app_data(ssl, &cache_key);
        if (SSL_SESSION* s = current_session_cache().take(cache_key)) {
            SSL_set_session(ssl, s);
            SSL_SESSION_free(s);
        }
    }
    SSL_set_connect_state(ssl);
    return handshake(*this, until, err);
}

bool engine::server_handshake(const context_data& ctx, deadline until, handshake_error& err) {
    if (!ctx.server) {
        err = {std::make_error_code(std::errc::invalid_argument), "a client context cannot accept"};
        return false;
    }
    if (!make_ssl(*this, ctx, err)) return false;
    SSL_set_accept_state(ssl);
    if (!handshake(*this, until, err)) return false;
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) name = sni;
    return true;
}

std::size_t engine::recv(char* data, std::size_t size, deadline until, std::error_code& ec) {
    std::size_t got = 0;
    int r = drive(*this, false, until, ec, [&] { return SSL_read_ex(ssl, data, size, &got) == 1 ? 1 : 0; });
    return r > 0 ? got : 0;
}

std::size_t engine::write_all(std::string_view bytes, deadline until, std::error_code& ec) {
    ec.clear();
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        std::size_t n = 0;
        int r = drive(*this, false, until, ec,
                      [&] { return SSL_write_ex(ssl, bytes.data() + sent, bytes.size() - sent, &n) == 1 ? 1 : 0; });
        if (r <= 0) {
            // A close_notify from the peer does not end writing in TLS 1.3,
            // but OpenSSL refuses further writes after one: say the pipe broke.
            if (!ec) ec = std::make_error_code(std::errc::broken_pipe);
            break;
        }
        sent += n;
    }
    return sent;
}

void engine::shutdown(deadline until, std::error_code& ec) {
    ec.clear();
    if (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) return;  // sent already; a second call would wait for the peer's
    // SSL_shutdown gives 0 once our close_notify is sent (the peer's has not
    // come), 1 when both are done: either is a success here.
    int r = drive(*this, false, until, ec, [&] {
        int n = SSL_shutdown(ssl);
        return n >= 0 ? 1 : n;
    });
    (void)r;
}

std::string_view engine::alpn() const noexcept {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}
bool engine::session_reused() const noexcept { return SSL_session_reused(ssl) == 1; }
std::string_view engine::protocol() const noexcept { return SSL_get_version(ssl); }
std::string_view engine::cipher() const noexcept {
    const char* c = SSL_get_cipher_name(ssl);
    return c ? c : "";
}
std::size_t engine::ssl_pending() const noexcept {
    // SSL_pending counts decrypted bytes only; records read ahead and not
    // decrypted yet count as one, so that "nothing buffered" is true.
    auto n = static_cast<std::size_t>(SSL_pending(ssl));
    return n == 0 && SSL_has_pending(ssl) ? 1 : n;
}

}  // namespace weft::tls::detail
