// SPDX-License-Identifier: MIT
// Helpers that run code in a child process, for what must crash, abort or
// change process-wide limits: stack overflows, failing assertions, RLIMITs.
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

namespace weft::test {

struct child_result {
    int exit_code = -1;  // when it exited
    int signal = 0;      // when a signal killed it
    std::string output;  // stdout and stderr, interleaved
};

namespace detail {
// Reads the child's output until EOF or `limit`, then reaps it (killing it on timeout).
inline child_result collect(pid_t pid, int fd, std::chrono::seconds limit) {
    child_result r;
    auto end = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            r.output += "\n[child killed: time limit]";
            break;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        r.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}
}  // namespace detail

namespace detail {
// in_child(body, limit): forks; the child sends stdout and stderr into a pipe
// and runs body(), which must not return; the parent collects the output.
template <class Body>
child_result in_child(Body&& body, std::chrono::seconds limit) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        body();
        std::_Exit(127);
    }
    ::close(fds[1]);
    return collect(pid, fds[0], limit);
}
}  // namespace detail

// run_child(fn): forks; the child runs fn() and exits with its return value.
template <class Fn>
child_result run_child(Fn&& fn, std::chrono::seconds limit = std::chrono::seconds(60)) {
    return detail::in_child([&] { std::_Exit(fn()); }, limit);
}

// run_self(args): runs this test executable again with `args` (e.g. a hidden
// test's name) and returns how it ended.
inline child_result run_self(const std::vector<std::string>& args,
                             std::chrono::seconds limit = std::chrono::seconds(60)) {
    return detail::in_child(
        [&] {
            std::vector<std::string> copy = args;
            std::string self = "/proc/self/exe";
            std::vector<char*> argv{self.data()};
            for (auto& a : copy) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(self.c_str(), argv.data());
        },
        limit);
}

}  // namespace weft::test
