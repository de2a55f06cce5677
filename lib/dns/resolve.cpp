// SPDX-License-Identifier: MIT
// weft::dns::resolve: check the name, answer numeric hosts at once, else start
// a c-ares lookup (ares_glue) and park the fiber until its callback fills it.
#include "weft/dns/resolve.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <charconv>

#include "detail/activity.hpp"
#include "detail/io_wait.hpp"
#include "dns/ares_glue.hpp"
#include "net/sys.hpp"
#include "weft/detail/park.hpp"

namespace weft::dns {

namespace {

class dns_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.dns"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::host_not_found: return "host not found (NXDOMAIN)";
            case errc::no_data: return "the name has no address of the requested family";
            case errc::server_failure: return "DNS server failure (SERVFAIL)";
            case errc::refused: return "DNS server refused the query (REFUSED)";
            case errc::timeout: return "no answer from the DNS servers in time";
            case errc::malformed_answer: return "malformed DNS answer";
            case errc::bad_name: return "bad host name";
            case errc::unreachable: return "no DNS server could be reached";
            case errc::bad_service: return "unknown service";
            case errc::bad_servers: return "bad DNS server list";
            case errc::failed: return "DNS lookup failed";
        }
        return "unknown weft.dns error " + std::to_string(ev);
    }
    std::error_condition default_error_condition(int ev) const noexcept override {
        if (static_cast<errc>(ev) == errc::timeout) return std::errc::timed_out;
        return {ev, *this};
    }
};

// valid_name() applies RFC 1035's limits (253 bytes, labels of 1..63) and
// allows letters, digits, '-' and '_' (service labels), with one trailing dot.
bool valid_name(std::string_view host) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    std::size_t label = 0;
    for (char c : host) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

bool family_fits(const net::address& a, family f) noexcept {
    return f == family::any || (f == family::v4) == a.is_v4();
}

// service_port() reads a port number or a TCP service of /etc/services.
bool service_port(std::string_view service, std::uint16_t& port) {
    if (service.empty()) return false;
    unsigned value = 0;
    auto [end, err] = std::from_chars(service.data(), service.data() + service.size(), value);
    if (err == std::errc{} && end == service.data() + service.size()) {
        if (value > 65535) return false;
        port = static_cast<std::uint16_t>(value);
        return true;
    }
    std::string name(service);
    servent entry{};
    servent* found = nullptr;
    char buf[1024];
    if (::getservbyname_r(name.c_str(), "tcp", &entry, buf, sizeof buf, &found) != 0 || !found) return false;
    port = ntohs(static_cast<std::uint16_t>(found->s_port));
    return true;
}

std::string what_of(std::string_view host) { return "weft::dns::resolve \"" + std::string(host.substr(0, 260)) + "\""; }

// lookup() is every resolve(): `opts` null means the run's defaults.
// `timeout` gets the lookup's own timeout, for the message of a timeout_error.
std::vector<net::address> lookup(std::string_view host, std::uint16_t port, const options* opts, std::error_code& ec,
                                 std::chrono::nanoseconds& timeout) {
    ec.clear();
    if (!detail::current_fiber()) {  // every time, numeric hosts included
        ec = make_error_code(weft::errc::no_scheduler);
        return {};
    }
    detail::dns_glue& glue = detail::current_dns("weft::dns::resolve");
    const options& o = opts ? *opts : glue.defaults;
    timeout = o.timeout;
    net::address ip;
    if (net::detail::numeric_host(host, port, ip)) {
        if (family_fits(ip, o.family)) return {ip};
        ec = make_error_code(errc::no_data);
        return {};
    }
    if (!valid_name(host)) {  // before anything is asked of anyone
        ec = make_error_code(errc::bad_name);
        return {};
    }
    detail::tls_scheduler->io_turn();  // names from /etc/hosts never park: take turns anyway
    const std::string name(host);
    // weft::dump names the lookup: "in weft::dns::resolve "example.com"".
    const detail::activity doing(
        [](const void* n, std::ostream& os) { os << what_of(*static_cast<const std::string*>(n)); }, &name);
    // The whole lookup, every try included, ends here at the latest.
    const deadline until = deadline_after(o.timeout);
    detail::dns_query_ptr q = glue.start(name.c_str(), port, o, ec);
    if (!q) return {};
    while (!q->done) {
        q->waiter = detail::current_fiber();
        detail::wake_reason why = detail::park({"dns resolve", q.get()}, until);
        q->waiter = nullptr;
        if (q->done) break;
        if (why == detail::wake_reason::ready) continue;
        // Timed out or cancelled: q's release leaves the record to c-ares'
        // callback, which frees it when the query ends on its own.
        ec = detail::wake_error(why);
        return {};
    }
    ec = q->ec;
    return std::move(q->addrs);
}

std::vector<net::address> lookup_or_throw(std::string_view host, std::uint16_t port, const options* opts) {
    std::error_code ec;
    std::chrono::nanoseconds timeout = no_timeout;
    auto addrs = lookup(host, port, opts, ec, timeout);
    if (ec) detail::throw_error(ec, what_of(host), timeout);
    return addrs;
}

}  // namespace

const std::error_category& error_category() noexcept {
    static const dns_category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

void set_default_options(options opts) {
    detail::current_dns("weft::dns::set_default_options").defaults = std::move(opts);
}

const options& default_options() { return detail::current_dns("weft::dns::default_options").defaults; }

std::vector<net::address> resolve(std::string_view host, std::uint16_t port, const options& opts, std::error_code& ec) {
    std::chrono::nanoseconds timeout;
    return lookup(host, port, &opts, ec, timeout);
}

std::vector<net::address> resolve(std::string_view host, std::uint16_t port, const options& opts) {
    return lookup_or_throw(host, port, &opts);
}

std::vector<net::address> resolve(std::string_view host, std::uint16_t port, std::error_code& ec) {
    std::chrono::nanoseconds timeout;
    return lookup(host, port, nullptr, ec, timeout);
}

std::vector<net::address> resolve(std::string_view host, std::uint16_t port) {
    return lookup_or_throw(host, port, nullptr);
}

std::vector<net::address> resolve(std::string_view host, std::string_view service, const options& opts) {
    std::uint16_t port = 0;
    if (!service_port(service, port))
        detail::throw_error(make_error_code(errc::bad_service),
                            what_of(host) + ": service \"" + std::string(service.substr(0, 64)) + "\"");
    return resolve(host, port, opts);
}

std::vector<net::address> resolve(std::string_view host, std::string_view service) {
    std::uint16_t port = 0;
    if (!service_port(service, port))
        detail::throw_error(make_error_code(errc::bad_service),
                            what_of(host) + ": service \"" + std::string(service.substr(0, 64)) + "\"");
    return resolve(host, port);
}

}  // namespace weft::dns
