// SPDX-License-Identifier: MIT
// live_child: this test executable run again in a child process and talked
// to while it runs — its output read as it comes, signals sent to it, its
// stdin closed to tell it to end. For what only a whole process shows: a
// signal's effect, output at a known point, a program stopped under gdb.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/subprocess.hpp"

namespace weft::test {

class live_child {
public:
    // live_child(args) runs /proc/self/exe with args (a hidden test's name,
    // say): its stdout and stderr go to one pipe read here, its stdin comes
    // from a pipe this side holds open until finish().
    explicit live_child(const std::vector<std::string>& args) {
        int out[2], in[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ < 0) std::abort();
        if (pid_ == 0) {
            ::dup2(in[0], STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(out[1], STDERR_FILENO);
            std::vector<std::string> copy = args;
            std::string self = "/proc/self/exe";
            std::vector<char*> argv{self.data()};
            for (auto& a : copy) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(self.c_str(), argv.data());
            std::_Exit(127);
        }
        ::close(out[1]);
        ::close(in[0]);
        out_ = out[0];
        in_ = in[1];
    }
    ~live_child() {
        if (pid_ > 0) finish(std::chrono::seconds(0));
    }
    live_child(const live_child&) = delete;
    live_child& operator=(const live_child&) = delete;

    pid_t pid() const noexcept { return pid_; }
    // output() is all it has written so far (that was read by wait_for()).
    const std::string& output() const noexcept { return output_; }

    // wait_for(text, limit, from) reads its output until `text` appears at or
    // after offset `from`; returns where it starts, or npos when `limit`
    // passed or the child closed its output first.
    std::size_t wait_for(const std::string& text, std::chrono::milliseconds limit, std::size_t from = 0) {
        auto end = std::chrono::steady_clock::now() + limit;
        for (;;) {
            std::size_t at = output_.find(text, from);
            if (at != std::string::npos) return at;
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0 || out_ < 0) return std::string::npos;
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) return std::string::npos;
            output_.append(buf, static_cast<std::size_t>(n));
        }
    }

    void signal(int sig) const noexcept { ::kill(pid_, sig); }

    // finish(limit) closes its stdin, reads the rest of its output until it
    // ends (killing it after `limit`) and says how it ended; output holds
    // everything it wrote.
    child_result finish(std::chrono::seconds limit) {
        ::close(in_);
        child_result r = detail::collect(pid_, out_, limit);
        r.output = output_ + r.output;
        pid_ = -1;
        out_ = in_ = -1;
        return r;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;  // its stdout and stderr
    int in_ = -1;   // its stdin
    std::string output_;
};

}  // namespace weft::test
