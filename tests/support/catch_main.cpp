// SPDX-License-Identifier: MIT
// The one Catch2 main, built once and linked into every test executable.
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside
// the std::regex that Catch2's implementation instantiates; it is not ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <weft/errors.hpp>

// weft::cancelled is no std::exception: without this a test it escapes from
// would say only "unknown exception".
CATCH_TRANSLATE_EXCEPTION(const weft::cancelled& e) { return e.what(); }
