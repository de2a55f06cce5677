// SPDX-License-Identifier: MIT
// Fuzz target: weft::http::url. The input is a URL, optionally followed by a
// newline and a reference to resolve against it (as a redirect's Location).
// Besides not crashing, what parses must print back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <weft/http/errors.hpp>
#include <weft/http/url.hpp>

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// round_trip(u): u printed and parsed again is u, but for its user and
// password, which to_string() never prints; its target is never empty.
void round_trip(const weft::http::url& u) {
    check(!u.target.empty() && (u.target.front() == '/'));
    check(u.scheme == "http" || u.scheme == "https");
    check(!u.host.empty() && u.port != 0);
    std::error_code ec;
    weft::http::url again = weft::http::url::parse(u.to_string(), ec);
    weft::http::url bare = u;
    bare.user.clear();
    bare.password.clear();
    check(!ec && again == bare);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string_view ref;
    bool has_ref = false;
    if (auto nl = text.find('\n'); nl != std::string_view::npos) {
        ref = text.substr(nl + 1);
        text = text.substr(0, nl);
        has_ref = true;
    }
    std::error_code ec;
    weft::http::url u = weft::http::url::parse(text, ec);
    if (ec) {
        check(ec.category() == weft::http::error_category());
        return 0;
    }
    round_trip(u);
    (void)u.authority();
    if (has_ref) {
        try {
            round_trip(u.resolve(ref));
        } catch (const std::system_error& e) {
            check(e.code().category() == weft::http::error_category());
        }
    }
    return 0;
}
