// SPDX-License-Identifier: MIT
// daemon: a real server program from Debian (dnsmasq, tinyproxy) run in the
// foreground for a test, its stdout and stderr collected, waited for until
// it says it serves, and stopped with it: SIGTERM, 2 s, then SIGKILL (and
// killed with the test process if that dies first).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace weft::test {

// end_child() ends the child process `pid` (if it is > 0) and reaps it:
// SIGTERM, then SIGKILL when it is still there after 2 s. Sets pid to -1.
inline void end_child(pid_t& pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= end) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid = -1;
}

class daemon {
public:
    daemon() = default;
    ~daemon() { stop(); }
    daemon(const daemon&) = delete;
    daemon& operator=(const daemon&) = delete;

    // start(args, ready, wait) runs args[0] with args and waits up to `wait`
    // for `ready` in its output; false if it exits (or stays silent) first,
    // and then it is stopped. Its output so far is in output().
    bool start(const std::vector<std::string>& args, std::string_view ready,
               std::chrono::milliseconds wait = std::chrono::seconds(10)) {
        stop();
        std::vector<std::string> copy = args;
        std::vector<char*> argv;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(out[1], STDERR_FILENO);
            ::close_range(3, ~0U, 0);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        out_ = out[0];
        ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
        const auto end = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < end) {
            const bool open = read_some(50);
            if (output_.find(ready) != std::string::npos) return true;
            if (!open) break;  // it exited (a port taken, a bad option)
        }
        stop();
        return false;
    }

    // stop() ends it: SIGTERM, then SIGKILL after 2 s.
    void stop() {
        end_child(pid_);
        if (out_ >= 0) ::close(out_);
        out_ = -1;
    }

    const std::string& output() const { return output_; }

private:
    // read_some() appends what it printed, waiting up to `wait_ms`; false at EOF.
    bool read_some(int wait_ms) {
        pollfd p{out_, POLLIN, 0};
        ::poll(&p, 1, wait_ms);
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(out_, buf, sizeof buf);
            if (n > 0) {
                output_.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            return n < 0;  // EAGAIN: still running
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    std::string output_;
};

}  // namespace weft::test
