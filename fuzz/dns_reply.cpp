// SPDX-License-Identifier: MIT
// Fuzz target: the resolver handling a DNS reply. The test DNS server
// (tests/support/dns_server) answers every query for fuzz.test, over UDP and
// TCP, with bytes made from the input, and weft::dns::resolve() reads them.
//
// Input: a control byte, then the reply after its 16-bit id (the query's id
// is always written in, or c-ares would drop the reply unread). Control bits:
// 0 clear: the query's question goes after the reply's first 10 bytes (flags
// and counts), so that c-ares takes the reply as an answer to its question;
// set: the input holds the rest of the reply as it is; 1-2 the family asked
// for (any, v4, v6, any).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>
#include <weft/weft.hpp>

#include "support/dns_server.hpp"

namespace {

using namespace std::chrono_literals;

// question_end(q) is the offset just past the query's question (0 if none).
std::size_t question_end(std::span<const unsigned char> q) {
    std::size_t p = 12;
    while (p < q.size() && q[p] != 0) p += 1 + q[p];
    return p + 5 <= q.size() ? p + 5 : 0;
}

// replies(q, tcp, with_question, in) is the fuzzed reply to query q, then a
// plain NXDOMAIN: when c-ares drops the first (wrong question, too short),
// the second ends the lookup at once instead of the timeout; when it took
// the first, the second is a stray reply it must ignore. Not after a
// truncated reply over UDP that c-ares takes (one question, ours): then it
// should ask again over TCP.
std::vector<std::vector<unsigned char>> replies(std::span<const unsigned char> q, bool tcp, bool with_question,
                                                const std::vector<unsigned char>& in) {
    const std::size_t qend = question_end(q);
    if (qend == 0) return {};
    const auto question = q.subspan(12, qend - 12);
    std::vector<unsigned char> r{q[0], q[1]};
    if (with_question) {
        const auto head = static_cast<std::ptrdiff_t>(std::min<std::size_t>(in.size(), 10));
        r.insert(r.end(), in.begin(), in.begin() + head);
        r.resize(12, 0);
        r.insert(r.end(), question.begin(), question.end());
        r.insert(r.end(), in.begin() + head, in.end());
    } else {
        r.insert(r.end(), in.begin(), in.end());
    }
    const bool truncated = r.size() > 2 && (r[2] & 0x02);
    const bool ours = r.size() >= 12 + question.size() && r[4] == 0 && r[5] == 1 &&
                      std::equal(question.begin(), question.end(), r.begin() + 12);
    if (!tcp && truncated && ours) return {std::move(r)};
    std::vector<unsigned char> nxdomain{q[0], q[1], 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0};
    nxdomain.insert(nxdomain.end(), question.begin(), question.end());
    return {std::move(r), std::move(nxdomain)};
}

weft::test::dns_server& server() {
    static weft::test::dns_server s;  // one for the whole run: its thread lives on
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned ctl = data[0];
    const bool with_question = !(ctl & 1);
    // Copied: the server may still answer a query of the last input.
    std::vector<unsigned char> in(data + 1, data + size);
    server().set("fuzz.test", {.how = weft::test::dns_server::behavior::respond,
                               .respond = [in, with_question](std::span<const unsigned char> q, bool tcp) {
                                   return replies(q, tcp, with_question, in);
                               }});

    weft::dns::options opts;
    opts.servers = {server().address()};
    opts.timeout = 50ms;
    opts.tries = 1;
    const unsigned fam = (ctl >> 1) & 3;
    opts.family = fam == 1 ? weft::dns::family::v4 : fam == 2 ? weft::dns::family::v6 : weft::dns::family::any;

    // WEFT_FUZZ_VERBOSE=1 says what each input did.
    static const bool verbose = std::getenv("WEFT_FUZZ_VERBOSE") != nullptr;
    weft::run([&] {
        try {
            for (const weft::net::address& a : weft::dns::resolve("fuzz.test", 80, opts)) {
                if (a.port() != 80 || (fam == 1 && !a.is_v4()) || (fam == 2 && !a.is_v6())) std::abort();
                if (verbose) std::fprintf(stderr, "address %s\n", a.to_string().c_str());
            }
        } catch (const std::system_error& e) {
            // a dns::errc or weft::timeout_error: the reply was refused, as it should be when bad
            if (verbose) std::fprintf(stderr, "error: %s\n", e.what());
        }
    });
    return 0;
}
