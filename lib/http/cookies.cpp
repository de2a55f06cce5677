// SPDX-License-Identifier: MIT
// cookie_jar: RFC 6265 section 5 — parsing Set-Cookie (5.2), the cookie-date
// (5.1.1), domain and path matching (5.1.3, 5.1.4), storage (5.3) and the
// Cookie header (5.4).
//
// The jar is a plain vector: a client holds a few dozen cookies, at most
// max_cookies, and each store or lookup is one pass over it. Expired
// cookies are dropped at the start of each store_one() (cookie_header() is
// const and only skips them), so every eviction for a limit takes the
// earliest created cookie: none is expired by then.
#include "weft/http/cookies.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

namespace weft::http {

namespace {

using time_point = cookie_jar::time_point;
using std::chrono::seconds;

bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_ctl(char c) noexcept { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

char lower_char(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_char(x) == lower_char(y); });
}

// to_time() is the instant `secs` after the Unix epoch, clamped to what a
// time_point holds (years 1677 to 2262 with libstdc++'s nanoseconds): a
// cookie that expires in 9999 lives "for ever", one from 1601 is expired.
time_point to_time(std::int64_t secs) noexcept {
    constexpr std::int64_t most = std::chrono::duration_cast<seconds>(time_point::max().time_since_epoch()).count();
    constexpr std::int64_t least = std::chrono::duration_cast<seconds>(time_point::min().time_since_epoch()).count();
    if (secs >= most) return time_point::max();
    if (secs <= least) return time_point::min();
    return time_point(std::chrono::duration_cast<time_point::duration>(seconds(secs)));
}

// --- the cookie-date (5.1.1) ---

// A date is cut into tokens at delimiters: everything but digits, letters,
// ':' and the other control and 8-bit bytes.
bool is_date_delimiter(char ch) noexcept {
    unsigned char c = static_cast<unsigned char>(ch);
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x7b && c <= 0x7e);
}

// leading_number() reads the min..max digits `tok` starts with, which must
// be followed by its end or a non-digit ("1*2DIGIT ( non-digit *OCTET )").
// `tok` is advanced past them.
bool leading_number(std::string_view& tok, std::size_t min, std::size_t max, int& out) noexcept {
    std::size_t n = 0;
    while (n < tok.size() && is_digit(tok[n])) ++n;
    if (n < min || n > max) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = out * 10 + (tok[i] - '0');
    tok.remove_prefix(n);
    return true;
}

// number_of() is leading_number() on a whole token ("day-of-month", "year").
bool number_of(std::string_view tok, std::size_t min, std::size_t max, int& out) noexcept {
    return leading_number(tok, min, max, out);
}

// time_of() reads "h:m:s", each one or two digits ("hms-time").
bool time_of(std::string_view tok, int& h, int& m, int& s) noexcept {
    if (!leading_number(tok, 1, 2, h) || tok.empty() || tok[0] != ':') return false;
    tok.remove_prefix(1);
    if (!leading_number(tok, 1, 2, m) || tok.empty() || tok[0] != ':') return false;
    tok.remove_prefix(1);
    return leading_number(tok, 1, 2, s);
}

// month_of() reads a month from the token's first three letters ("Sept." is September).
bool month_of(std::string_view tok, int& month) noexcept {
    static constexpr std::string_view names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
    if (tok.size() < 3) return false;
    for (int i = 0; i < 12; ++i)
        if (iequals(tok.substr(0, 3), names[i])) {
            month = i + 1;
            return true;
        }
    return false;
}

// parse_cookie_date() is the cookie-date algorithm: tolerant of order and
// noise ("Wed, 09-Jun-2021 10:18:14 GMT", "Sun Nov 6 08:49:37 1994", two-digit
// years), in seconds since the epoch; nullopt when a part is missing or out
// of range (hour 24, February 30, a year before 1601).
std::optional<std::int64_t> parse_cookie_date(std::string_view text) noexcept {
    bool have_time = false, have_day = false, have_month = false, have_year = false;
    int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_date_delimiter(text[i])) ++i;
        std::size_t start = i;
        while (i < text.size() && !is_date_delimiter(text[i])) ++i;
        std::string_view tok = text.substr(start, i - start);
        if (tok.empty()) continue;
        if (!have_time && time_of(tok, hour, minute, second))
            have_time = true;
        else if (!have_day && number_of(tok, 1, 2, day))
            have_day = true;
        else if (!have_month && month_of(tok, month))
            have_month = true;
        else if (!have_year && number_of(tok, 2, 4, year))
            have_year = true;
    }
    if (!have_time || !have_day || !have_month || !have_year) return std::nullopt;
    if (year >= 70 && year <= 99) year += 1900;
    if (year >= 0 && year <= 69) year += 2000;
    if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return std::nullopt;
    const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

// --- matching (5.1.3, 5.1.4) ---

// is_ip() says whether a URL's host is an IP address: IPv6 (url keeps it
// without brackets, so it has a ':') or a name whose last label is all
// digits, which no DNS name has (so "127.0.0.1" and the like).
bool is_ip(std::string_view host) noexcept {
    if (host.find(':') != std::string_view::npos) return true;
    std::string_view last = host.substr(host.rfind('.') + 1);  // npos + 1 == 0: the whole host
    return !last.empty() && std::all_of(last.begin(), last.end(), is_digit);
}

// domain_match() is true when `host` is `domain` or a name under it
// ("www.example.com" under "example.com", not "notexample.com"); an IP
// address matches only itself.
bool domain_match(std::string_view host, std::string_view domain) noexcept {
    if (host == domain) return true;
    return host.size() > domain.size() && host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.' &&
           !is_ip(host);
}

// path_match() is true when `cookie_path` is `path` or a directory above it:
// "/foo" matches "/foo", "/foo/" and "/foo/bar", not "/foobar".
bool path_match(std::string_view path, std::string_view cookie_path) noexcept {
    if (!path.starts_with(cookie_path)) return false;
    return path.size() == cookie_path.size() || cookie_path.ends_with('/') || path[cookie_path.size()] == '/';
}

// path_of() is a target's path, without its query.
std::string_view path_of(std::string_view target) noexcept { return target.substr(0, target.find('?')); }

// default_path() is a cookie's path when its Set-Cookie names none: the
// request path's directory ("/a/b/c" -> "/a/b", "/a" -> "/").
std::string default_path(std::string_view target) {
    std::string_view path = path_of(target);
    if (path.empty() || path[0] != '/') return "/";
    std::size_t last = path.rfind('/');
    return last == 0 ? "/" : std::string(path.substr(0, last));
}

// --- Set-Cookie (5.2) ---

struct set_cookie {
    std::string_view name, value;
    std::optional<time_point> expires;  // the last Expires that parsed
    std::optional<time_point> max_age;  // now + the last Max-Age that parsed
    std::optional<std::string> domain;  // lower case, without a leading '.'; may be empty
    std::optional<std::string> path;    // the last Path, the default path when it was not absolute
    bool secure = false, http_only = false;
};

// max_age_expiry() is when a Max-Age value expires, counted from `now`;
// nullopt for a value that is not [-]digits. Zero and below are the
// earliest time (the cookie is deleted); a huge value is the latest.
std::optional<time_point> max_age_expiry(std::string_view v, time_point now) noexcept {
    bool negative = !v.empty() && v[0] == '-';
    std::string_view digits = v.substr(negative ? 1 : 0);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
    const std::int64_t cap = std::numeric_limits<std::int64_t>::max() / 20;
    std::int64_t n = 0;
    for (char c : digits) n = std::min(cap, n * 10 + (c - '0'));
    if (negative || n == 0) return time_point::min();
    const std::int64_t now_s = std::chrono::floor<seconds>(now).time_since_epoch().count();
    return n > cap - now_s ? time_point::max() : to_time(now_s + n);
}

// parse() takes a Set-Cookie value apart; nullopt when there is no name=value,
// the name is empty, or the name or value holds a control character.
std::optional<set_cookie> parse(std::string_view line, const url& from, time_point now) {
    set_cookie out;
    std::size_t semi = line.find(';');
    std::string_view pair = line.substr(0, semi);
    std::string_view attributes = semi == std::string_view::npos ? std::string_view() : line.substr(semi);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    out.name = trim(pair.substr(0, eq));
    out.value = trim(pair.substr(eq + 1));
    if (out.name.empty() || std::any_of(out.name.begin(), out.name.end(), is_ctl) ||
        std::any_of(out.value.begin(), out.value.end(), is_ctl))
        return std::nullopt;

    while (!attributes.empty()) {
        attributes.remove_prefix(1);  // the ';'
        std::string_view av = attributes.substr(0, attributes.find(';'));
        attributes.remove_prefix(av.size());
        std::size_t aeq = av.find('=');
        std::string_view key = trim(av.substr(0, aeq));
        std::string_view val = aeq == std::string_view::npos ? std::string_view() : trim(av.substr(aeq + 1));
        if (iequals(key, "expires")) {
            if (auto secs = parse_cookie_date(val)) out.expires = to_time(*secs);
        } else if (iequals(key, "max-age")) {
            if (auto at = max_age_expiry(val, now)) out.max_age = at;
        } else if (iequals(key, "domain")) {
            if (val.empty()) continue;  // "SHOULD ignore the cookie-av entirely"
            if (val[0] == '.') val.remove_prefix(1);
            std::string d(val);
            for (char& c : d) c = lower_char(c);
            out.domain = std::move(d);
        } else if (iequals(key, "path")) {
            out.path = (val.empty() || val[0] != '/') ? default_path(from.target) : std::string(val);
        } else if (iequals(key, "secure")) {
            out.secure = true;
        } else if (iequals(key, "httponly")) {
            out.http_only = true;
        }
        // Anything else (SameSite, Priority, a typo) is ignored.
    }
    return out;
}

}  // namespace

void cookie_jar::store(const url& from, const headers& response_headers, time_point now) {
    for (std::string_view line : response_headers.get_all("Set-Cookie")) store_one(from, line, now);
}

bool cookie_jar::store_one(const url& from, std::string_view line, time_point now) {
    if (line.size() > max_cookie_bytes) return false;
    std::optional<set_cookie> sc = parse(line, from, now);
    if (!sc) return false;

    cookie c;
    c.name = sc->name;
    c.value = sc->value;
    c.created = now;
    c.secure = sc->secure;
    c.http_only = sc->http_only;
    c.persistent = sc->max_age || sc->expires;
    c.expires = sc->max_age ? *sc->max_age : sc->expires ? *sc->expires : time_point::max();

    // Domain: the cookie goes to the host and the names under the domain,
    // which must be the host or above it; without one it is host-only.
    const std::string& host = from.host;
    std::string domain = sc->domain.value_or("");
    if (!domain.empty() && domain.find('.') == std::string::npos && !is_ip(host)) {
        // A single label is taken for a public suffix ("com"): no host may
        // set a cookie for all of it. The host itself ("localhost") gets a
        // host-only cookie instead.
        if (domain != host) return false;
        domain.clear();
    }
    if (!domain.empty()) {
        if (!domain_match(host, domain)) return false;
        c.host_only = false;
        c.domain = std::move(domain);
    } else {
        c.host_only = true;
        c.domain = host;
    }
    c.path = sc->path ? std::move(*sc->path) : default_path(from.target);

    const bool https = from.scheme == "https";
    if (c.secure && !https) return false;

    purge(now);
    // An http:// response may not replace (or shadow) a Secure cookie that
    // https:// set (RFC 6265bis, "leave secure cookies alone").
    if (!https) {
        for (const cookie& e : cookies_)
            if (e.secure && e.name == c.name &&
                (domain_match(e.domain, c.domain) || domain_match(c.domain, e.domain)) && path_match(c.path, e.path))
                return false;
    }

    const bool expired = c.expires <= now;
    auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const cookie& e) {
        return e.name == c.name && e.domain == c.domain && e.path == c.path;
    });
    if (same != cookies_.end()) {
        if (expired) {
            cookies_.erase(same);
        } else {
            c.created = same->created;
            c.order = same->order;
            *same = std::move(c);
        }
        return true;
    }
    if (expired) return true;  // nothing to delete; it is not kept

    c.order = next_order_++;
    const std::uint64_t added = c.order;
    const std::string cookie_domain = c.domain;
    cookies_.push_back(std::move(c));
    auto in_domain = [&] {
        return static_cast<std::size_t>(std::count_if(cookies_.begin(), cookies_.end(),
                                                      [&](const cookie& e) { return e.domain == cookie_domain; }));
    };
    while (in_domain() > max_cookies_per_domain) evict_oldest(cookie_domain, added);
    while (cookies_.size() > max_cookies) evict_oldest({}, added);
    return true;
}

std::string cookie_jar::cookie_header(const url& to, time_point now) const {
    const std::string_view path = path_of(to.target).empty() ? std::string_view("/") : path_of(to.target);
    const bool https = to.scheme == "https";
    std::vector<const cookie*> send;
    for (const cookie& c : cookies_) {
        if (c.expires <= now || (c.secure && !https)) continue;
        if (c.host_only ? to.host != c.domain : !domain_match(to.host, c.domain)) continue;
        if (!path_match(path, c.path)) continue;
        send.push_back(&c);
    }
    std::sort(send.begin(), send.end(), [](const cookie* a, const cookie* b) {
        if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
        if (a->created != b->created) return a->created < b->created;
        return a->order < b->order;
    });
    std::string out;
    for (const cookie* c : send) {
        if (!out.empty()) out += "; ";
        ((out += c->name) += '=') += c->value;
    }
    return out;
}

std::size_t cookie_jar::size() const noexcept { return cookies_.size(); }

void cookie_jar::clear() noexcept { cookies_.clear(); }

void cookie_jar::purge(time_point now) {
    std::erase_if(cookies_, [&](const cookie& c) { return c.expires <= now; });
}

void cookie_jar::evict_oldest(std::string_view domain, std::uint64_t keep) {
    auto oldest = cookies_.end();
    for (auto it = cookies_.begin(); it != cookies_.end(); ++it) {
        if (it->order == keep || (!domain.empty() && it->domain != domain)) continue;
        if (oldest == cookies_.end() || it->created < oldest->created ||
            (it->created == oldest->created && it->order < oldest->order))
            oldest = it;
    }
    if (oldest != cookies_.end()) cookies_.erase(oldest);
}

}  // namespace weft::http
