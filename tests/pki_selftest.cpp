// SPDX-License-Identifier: MIT
// pki_selftest: the test PKI and the s_server helper, checked against the
// openssl command line tool (verify, s_client) so the TLS tests can trust them.
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/s_server.hpp"
#include "support/test_pki.hpp"

namespace {

namespace pki = weft::test::pki;

struct command_result {
    int status = -1;  // exit status, or -1 when it did not exit normally
    std::string output;
};

// sh(cmd) runs cmd under /bin/sh with stdin from /dev/null and at most 10 s.
command_result sh(const std::string& cmd) {
    std::string full = "timeout 10 " + cmd + " </dev/null 2>&1";
    command_result r;
    FILE* f = ::popen(full.c_str(), "r");
    REQUIRE(f != nullptr);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) r.output.append(buf, n);
    int st = ::pclose(f);
    if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
    return r;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// count(text, what) is how many times `what` occurs in text.
int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

const char* const leaves[] = {"server", "chain", "expired", "not_yet_valid", "wrong_host", "self_signed", "other_name"};

std::string verify(const std::string& name, const std::string& extra = "") {
    auto& b = pki::shared_bundle();
    auto crt = b.cert_file(name);
    return sh("openssl verify " + extra + " -CAfile " + b.ca_file + " -untrusted " + crt + " " + crt).output;
}

std::string s_client(std::uint16_t port, const std::string& host = "localhost") {
    auto& b = pki::shared_bundle();
    return sh("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " + b.ca_file +
              " -verify_return_error -verify_hostname " + host)
        .output;
}

}  // namespace

TEST_CASE("the bundle writes every file", "[pki]") {
    auto& b = pki::shared_bundle();
    CHECK(exists(b.ca_file));
    CHECK(count(b.ca_pem, "BEGIN CERTIFICATE") == 1);
    for (const char* name : leaves) {
        INFO(name);
        CHECK(exists(b.cert_file(name)));
        CHECK(exists(b.key_file(name)));
        CHECK(b.cert_pem(name).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
        CHECK(b.key_pem(name).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
    }
    CHECK(count(b.cert_pem("chain"), "BEGIN CERTIFICATE") == 2);
    CHECK(count(b.cert_pem("server"), "BEGIN CERTIFICATE") == 1);
    CHECK_THROWS_AS(b.key_pem("no_such_leaf"), std::runtime_error);
}

TEST_CASE("openssl verify accepts the good certificates", "[pki]") {
    CHECK_THAT(verify("server"), Catch::Contains(": OK"));
    CHECK_THAT(verify("chain"), Catch::Contains(": OK"));
    CHECK_THAT(verify("server", "-x509_strict -verify_hostname localhost -verify_ip ::1"), Catch::Contains(": OK"));
    CHECK_THAT(verify("other_name", "-verify_hostname other.test"), Catch::Contains(": OK"));
    // Without the intermediate the chain leaf has no path to the root.
    auto& b = pki::shared_bundle();
    CHECK_THAT(sh("openssl verify -CAfile " + b.ca_file + " " + b.cert_file("chain")).output,
               Catch::Contains("unable to get local issuer"));
}

TEST_CASE("openssl verify rejects the bad certificates", "[pki]") {
    CHECK_THAT(verify("expired"), Catch::Contains("expired"));
    CHECK_THAT(verify("not_yet_valid"), Catch::Contains("not yet valid"));
    CHECK_THAT(verify("self_signed"), Catch::Contains("self-signed"));
    CHECK_THAT(verify("wrong_host", "-verify_hostname localhost"), Catch::Contains("hostname mismatch"));
}

TEST_CASE("an intermediate issues leaves and CAs", "[pki]") {
    auto root = pki::authority::root("r");
    auto mid = root.intermediate("m");
    CHECK(root.chain_pem().empty());
    CHECK(mid.chain_pem() == mid.cert_pem());
    auto sub = mid.issue({.common_name = "sub", .is_ca = true});
    CHECK(count(sub.cert_pem, "BEGIN CERTIFICATE") == 1);
    auto self = pki::self_signed({.common_name = "x", .ip_addresses = {"127.0.0.1"}});
    CHECK(count(self.cert_pem, "BEGIN CERTIFICATE") == 1);
}

TEST_CASE("s_server serves the server certificate to s_client", "[s_server]") {
    auto& b = pki::shared_bundle();
    weft::test::s_server srv({"-cert", b.cert_file("server"), "-key", b.key_file("server")});
    CHECK(srv.port() != 0);
    CHECK_THAT(srv.output(), Catch::Contains("ACCEPT 127.0.0.1:" + std::to_string(srv.port())));
    auto out = s_client(srv.port());
    CHECK_THAT(out, Catch::Contains("Verify return code: 0 (ok)"));
    // Wrong name: the handshake fails.
    CHECK_THAT(s_client(srv.port(), "wrong.example"), !Catch::Contains("Verify return code: 0 (ok)"));
}

TEST_CASE("s_server sends the intermediate with -cert_chain", "[s_server]") {
    auto& b = pki::shared_bundle();
    // s_server's -cert takes the first certificate of the file only.
    weft::test::s_server srv(
        {"-cert", b.cert_file("chain"), "-key", b.key_file("chain"), "-cert_chain", b.cert_file("chain")});
    CHECK_THAT(s_client(srv.port()), Catch::Contains("Verify return code: 0 (ok)"));
}

TEST_CASE("s_server rejects an expired certificate at the client", "[s_server]") {
    auto& b = pki::shared_bundle();
    weft::test::s_server srv({"-cert", b.cert_file("expired"), "-key", b.key_file("expired")});
    CHECK_THAT(s_client(srv.port()), Catch::Contains("certificate has expired"));
}

TEST_CASE("s_server -WWW serves files from cwd", "[s_server]") {
    auto& b = pki::shared_bundle();
    { std::ofstream(b.dir + "/hello.txt") << "hello from s_server\n"; }
    weft::test::s_server srv({"-cert", b.cert_file("server"), "-key", b.key_file("server"), "-WWW"}, b.dir);
    auto out =
        sh("sh -c 'printf \"GET /hello.txt HTTP/1.0\\r\\n\\r\\n\" | openssl s_client -quiet "
           "-connect 127.0.0.1:" +
           std::to_string(srv.port()) + " -CAfile " + b.ca_file + "'");
    CHECK_THAT(out.output, Catch::Contains("hello from s_server"));
    std::remove((b.dir + "/hello.txt").c_str());
}

TEST_CASE("s_server passes its stdin to the client and stops on Q", "[s_server]") {
    auto& b = pki::shared_bundle();
    weft::test::s_server srv({"-cert", b.cert_file("server"), "-key", b.key_file("server")});
    // A client that stays connected for 2 s (s_client stops at EOF on its stdin).
    std::string cmd =
        "timeout 10 sh -c 'sleep 2 | openssl s_client -quiet -connect 127.0.0.1:" + std::to_string(srv.port()) +
        " -CAfile " + b.ca_file + "' 2>&1";
    FILE* client = ::popen(cmd.c_str(), "r");
    REQUIRE(client != nullptr);
    // wait_for(what) polls the server's output for up to 5 s.
    auto wait_for = [&](const std::string& what) {
        for (int i = 0; i < 500 && srv.output().find(what) == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return srv.output();
    };
    CHECK_THAT(wait_for("CIPHER is"), Catch::Contains("CIPHER is"));
    srv.write_stdin("hello via stdin\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    srv.write_stdin("Q\n");  // s_server reads stdin only while a client is connected
    CHECK_THAT(wait_for("DONE"), Catch::Contains("DONE"));
    std::string got;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, client)) got.append(buf, n);
    ::pclose(client);
    CHECK_THAT(got, Catch::Contains("hello via stdin"));
    // The child has exited: writing fails with an exception, not SIGPIPE.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_THROWS(srv.write_stdin(std::string(1 << 20, 'x')));
}

TEST_CASE("s_server reports a failed start with the child's output", "[s_server]") {
    try {
        weft::test::s_server bad({"-cert", "/nonexistent.crt", "-key", "/nonexistent.key"});
        FAIL("a server without a certificate started");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("nonexistent"));
    }
}
