// SPDX-License-Identifier: MIT
// capture_stderr(fn): runs fn with fd 2 redirected to a temporary file and
// returns what was written there.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

namespace weft::test {

template <class Fn>
std::string capture_stderr(Fn&& fn) {
    std::fflush(stderr);
    std::FILE* tmp = std::tmpfile();
    int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(tmp), STDERR_FILENO);
    struct restore {
        int saved;
        ~restore() {
            std::fflush(stderr);
            ::dup2(saved, STDERR_FILENO);
            ::close(saved);
        }
    };
    {
        restore r{saved};
        fn();
    }
    std::string out;
    std::rewind(tmp);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, tmp)) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

}  // namespace weft::test
