// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <memory>
#include <system_error>

#include "weft/net/address.hpp"
#include "weft/net/tcp_stream.hpp"

namespace weft::net {

// bind_options are the rarer knobs of tcp_listener::bind().
struct bind_options {
    // reuse_port sets SO_REUSEPORT: several listeners share one port and the
    // kernel spreads the connections among them.
    bool reuse_port = false;
};

// tcp_listener is a listening TCP socket; accept() parks the calling fiber
// until a connection comes. Move-only; the destructor closes it.
//
// accept() never spins. When the process or system is out of file
// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the pending
// connection stays in the kernel's backlog and accept() sleeps 10 ms, then
// 20, 40 ... up to 200 ms between tries, until a descriptor is free (or its
// timeout, a with_timeout() or a cancel ends the wait). A connection the peer
// aborted before it was accepted (ECONNABORTED) is skipped silently.
// Outside a fiber every call (bind included) throws
// std::system_error(weft::errc::no_scheduler).
class tcp_listener {
public:
    // tcp_listener() is not bound; accept() on it fails with EBADF.
    tcp_listener() noexcept;
    ~tcp_listener();
    tcp_listener(tcp_listener&&) noexcept;
    tcp_listener& operator=(tcp_listener&&) noexcept;
    tcp_listener(const tcp_listener&) = delete;
    tcp_listener& operator=(const tcp_listener&) = delete;

    // bind(at, backlog) opens a socket, binds it to `at` (port 0: the kernel
    // picks one; read it with local_address()) and listens. SO_REUSEADDR is
    // always set, SO_REUSEPORT when asked, IPV6_V6ONLY on an IPv6 address (so
    // [::]:p and 0.0.0.0:p are two listeners). Throws std::system_error
    // (address_in_use, permission_denied, ...). Never blocks.
    static tcp_listener bind(const address& at, int backlog = 1024, bind_options opts = {});
    static tcp_listener bind(const address& at, int backlog, bind_options opts, std::error_code& ec);

    // accept() parks until a connection comes and returns it, connected and
    // non-blocking. Throws std::system_error (EBADF once closed), and
    // weft::timeout_error when `timeout` (or an enclosing with_timeout())
    // passes first; the error_code forms return an empty stream instead.
    tcp_stream accept();
    tcp_stream accept(std::chrono::nanoseconds timeout);
    tcp_stream accept(std::error_code& ec);
    tcp_stream accept(std::chrono::nanoseconds timeout, std::error_code& ec);

    // local_address() is the bound address, with the port the kernel picked.
    // Throws std::system_error (bad_file_descriptor when closed).
    address local_address() const;
    address local_address(std::error_code& ec) const;
    // close() stops listening; connections not yet accepted are reset. A
    // fiber parked in accept() is woken with bad_file_descriptor. Never throws.
    void close() noexcept;
    // is_open() is true from bind() until close() or a move.
    bool is_open() const noexcept;
    // native_handle() is the file descriptor (-1 when closed); do not close it.
    int native_handle() const noexcept;

private:
    struct state;  // the listening socket (lib/net/tcp_listener.cpp)

    explicit tcp_listener(std::unique_ptr<state> s) noexcept;

    // On the heap for the same reason as tcp_stream's: close() from another
    // fiber must not free what a parked accept() uses.
    std::unique_ptr<state> s_;
};

}  // namespace weft::net
