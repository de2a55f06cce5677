// SPDX-License-Identifier: MIT
// s_server: `openssl s_server` as a real TLS peer for the tests, listening on
// 127.0.0.1 with a port the kernel picks. OpenSSL 3.0's s_server prints
// "ACCEPT 127.0.0.1:PORT" (flushed at once) when given `-accept 127.0.0.1:0`,
// so the port is read from its output: no probing for free ports, no races.
//
// Every call is bounded: construction waits at most `startup` for the ACCEPT
// line, write_stdin() at most 5 s, and the destructor SIGTERMs, waits 2 s,
// then SIGKILLs. The child gets SIGKILL when the thread that started it dies
// (PR_SET_PDEATHSIG), so start it from a thread that outlives it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon.hpp"

namespace weft::test {

class s_server {
public:
    // s_server(args, cwd) runs `openssl s_server <args> -accept 127.0.0.1:0`
    // in `cwd` (when not empty; -WWW serves files from there), e.g.
    // {"-cert", f, "-key", k, "-rev"}. It throws std::runtime_error, with the
    // child's output, when no ACCEPT line comes within `startup`.
    explicit s_server(std::vector<std::string> args, std::string cwd = "",
                      std::chrono::milliseconds startup = std::chrono::seconds(10)) {
        args.insert(args.begin(), {"/usr/bin/openssl", "s_server"});
        args.insert(args.end(), {"-accept", "127.0.0.1:0"});
        // Everything the child needs is made before fork(): after it, only
        // async-signal-safe calls (the test process may have threads).
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        int in[2], out[2];
        // stdin is a socketpair so that write_stdin() can use MSG_NOSIGNAL
        // (a dead child must not SIGPIPE the test).
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) sys_fail("socketpair");
        if (::pipe2(out, O_CLOEXEC) != 0) {
            ::close(in[0]);
            ::close(in[1]);
            sys_fail("pipe2");
        }
        pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
            ::dup2(in[1], STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(out[1], STDERR_FILENO);
            ::close_range(3, ~0U, 0);  // no inherited listeners or sockets of the test's
            if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
                const char msg[] = "s_server: chdir failed\n";
                (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
                ::_exit(127);
            }
            ::execv(argv[0], argv.data());
            const char msg[] = "s_server: execv /usr/bin/openssl failed\n";
            (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
            ::_exit(127);
        }
        int fork_errno = errno;
        ::close(in[1]);
        ::close(out[1]);
        stdin_ = in[0];
        out_ = out[0];
        if (pid_ < 0) {
            close_fds();
            errno = fork_errno;
            sys_fail("fork");
        }
        ::fcntl(stdin_, F_SETFL, ::fcntl(stdin_, F_GETFL) | O_NONBLOCK);
        ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
        wait_for_accept(startup);
    }

    s_server(const s_server&) = delete;
    s_server& operator=(const s_server&) = delete;

    // ~s_server() ends the child (SIGTERM, then SIGKILL after 2 s) and reaps it.
    ~s_server() { stop(); }

    // port() is the loopback port the child listens on.
    std::uint16_t port() const { return port_; }

    // output() is everything the child has printed so far (stdout and stderr);
    // it reads what is available and never blocks.
    std::string output() {
        drain(0);
        return output_;
    }

    // output_size() reads what is available (never blocking) and returns how
    // much the child has printed so far: call it often while the child
    // prints a lot, or its stdout pipe fills and it stops.
    std::size_t output_size() {
        drain(0);
        return output_.size();
    }

    // write_stdin(text) sends text to the child's stdin (in the default mode
    // s_server sends it on to the connected client; "Q\n" stops it). It
    // throws if the child is gone or does not take the bytes within 5 s.
    void write_stdin(std::string_view text) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!text.empty()) {
            ssize_t n = ::send(stdin_, text.data(), text.size(), MSG_NOSIGNAL);
            if (n > 0) {
                text.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN) sys_fail("s_server: write to stdin");
            if (std::chrono::steady_clock::now() >= end) throw std::runtime_error("s_server: stdin is full");
            pollfd p{stdin_, POLLOUT, 0};
            ::poll(&p, 1, 50);
        }
    }

private:
    [[noreturn]] static void sys_fail(const std::string& what) {
        throw std::runtime_error(what + ": " + std::strerror(errno));
    }

    // drain(wait_ms) appends what the child printed to output_, waiting up
    // to wait_ms for something to arrive; false at EOF (the child is gone).
    bool drain(int wait_ms) {
        if (out_ < 0) return false;
        pollfd p{out_, POLLIN, 0};
        if (wait_ms > 0) ::poll(&p, 1, wait_ms);
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(out_, buf, sizeof buf);
            if (n > 0) {
                output_.append(buf, static_cast<std::size_t>(n));
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                return n < 0 && errno == EAGAIN;
            }
        }
    }

    // wait_for_accept(limit) reads the port from "ACCEPT 127.0.0.1:PORT".
    void wait_for_accept(std::chrono::milliseconds limit) {
        auto end = std::chrono::steady_clock::now() + limit;
        for (;;) {
            bool open = drain(50);
            auto at = output_.find("ACCEPT ");
            auto eol = at == std::string::npos ? at : output_.find('\n', at);
            if (eol != std::string::npos) {
                auto colon = output_.rfind(':', eol);
                unsigned long p = 0;
                if (colon != std::string::npos && colon > at)
                    p = std::strtoul(output_.c_str() + colon + 1, nullptr, 10);
                if (p == 0 || p > 65535) fail_start("cannot parse the ACCEPT line");
                port_ = static_cast<std::uint16_t>(p);
                return;
            }
            if (!open) fail_start("it exited before listening");
            if (std::chrono::steady_clock::now() >= end) fail_start("no ACCEPT line in time");
        }
    }

    [[noreturn]] void fail_start(const std::string& why) {
        stop();
        throw std::runtime_error("s_server: " + why + "; its output:\n" + output_);
    }

    void stop() {
        end_child(pid_);
        drain(0);
        close_fds();
    }

    void close_fds() {
        if (stdin_ >= 0) ::close(stdin_);
        if (out_ >= 0) ::close(out_);
        stdin_ = out_ = -1;
    }

    pid_t pid_ = -1;
    int stdin_ = -1;  // our end of the child's stdin
    int out_ = -1;    // read end of the child's stdout+stderr
    std::uint16_t port_ = 0;
    std::string output_;
};

}  // namespace weft::test
