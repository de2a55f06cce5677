// SPDX-License-Identifier: MIT
// error_of(fn): the std::system_error that fn() throws; fails the test if it throws none.
#pragma once

#include <catch2/catch.hpp>
#include <system_error>

namespace weft::test {

template <class Fn>
std::system_error error_of(Fn&& fn) {
    try {
        fn();
    } catch (const std::system_error& e) {
        return e;
    }
    FAIL("no exception");
    return std::system_error(std::error_code());
}

}  // namespace weft::test
