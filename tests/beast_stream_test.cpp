// SPDX-License-Identifier: MIT
// weft::net::beast_stream: Boost.Beast's own synchronous API over a weft
// socket, in fibers that run side by side.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <weft/net/beast_stream.hpp>

#include "support/run_bounded.hpp"

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using weft::net::address;
using weft::net::beast_stream;
using weft::net::tcp_listener;
using weft::net::tcp_stream;

TEST_CASE("Beast's http::read and http::write over beast_stream, both ends in fibers", "[beast_stream]") {
    weft::test::run_bounded(10s, [] {
        auto listener = tcp_listener::bind(address::loopback());
        auto server = weft::spawn([&] {
            tcp_stream s = listener.accept();
            beast_stream bs(s);
            boost::beast::flat_buffer buf;
            for (int i = 0; i < 3; ++i) {  // three requests on one connection
                http::request<http::string_body> req;
                http::read(bs, buf, req);
                http::response<http::string_body> res{http::status::ok, 11};
                res.body() = "echo " + std::string(req.target()) + " " + req.body();
                res.prepare_payload();
                http::write(bs, res);
            }
        });
        tcp_stream c = tcp_stream::connect(listener.local_address(), 5s);
        beast_stream bs(c);
        boost::beast::flat_buffer buf;
        for (int i = 0; i < 3; ++i) {
            http::request<http::string_body> req{http::verb::post, "/n" + std::to_string(i), 11};
            req.body() = std::string(100'000 * i, 'x');  // 0, 100 KB, 200 KB: several sends
            req.prepare_payload();
            http::write(bs, req);
            http::response<http::string_body> res;
            http::read(bs, buf, res);
            CHECK(res.result() == http::status::ok);
            CHECK(res.body() == "echo /n" + std::to_string(i) + " " + req.body());
        }
        server.join();
    });
}

TEST_CASE("beast_stream: EOF is Asio's eof; a socket error and a timeout pass through as weft throws them",
          "[beast_stream]") {
    weft::test::run_bounded(10s, [] {
        auto listener = tcp_listener::bind(address::loopback());
        tcp_stream c = tcp_stream::connect(listener.local_address(), 5s);
        tcp_stream s = listener.accept();
        beast_stream bs(c);
        boost::beast::flat_buffer buf;
        http::response<http::string_body> res;
        boost::system::error_code ec;
        CHECK_THROWS_AS(weft::with_timeout(50ms, [&] { http::read(bs, buf, res, ec); }), weft::timeout_error);
        s.write_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        s.close();
        http::read(bs, buf, res, ec);
        CHECK(ec == http::error::partial_message);
        char one;
        CHECK(bs.read_some(boost::asio::buffer(&one, 1), ec) == 0);
        CHECK(ec == boost::asio::error::eof);
        c.close();
        CHECK_THROWS_AS(bs.read_some(boost::asio::buffer(&one, 1), ec), std::system_error);
    });
}
