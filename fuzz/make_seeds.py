#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/make_seeds.py: writes the seed corpora in fuzz/corpus/ (valid and
# near-valid inputs for each target). Run it after changing a target's input
# layout; regression inputs (named regress-*) are kept as they are.
import os
import struct
import zlib

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode("latin-1") if isinstance(data, str) else data)


for i, text in enumerate([
    "http://example.com/",
    "http://Example.COM:8080/a/b?q=1#top",
    "https://[::1]:443/x",
    "http://[fe80::1%3]/",
    "http://127.0.0.1:1/?",
    "HTTP://a.b-c_d~e/%7e/\xff",
    "http://h:65535/a/./b/../c",
    "http://h:0/",
    "http://user:pw@h/",
    "ftp://h/",
    "http://[::1/",
    "http://a/b/c/d;p?q\ng;x?y#s",
    "http://a/b/c/d;p?q\n../../../g",
    "http://a/b/c/d;p?q\n//other:81/x",
    "http://a/b/c/d;p?q\n?only",
    "http://a/b\nhttps://b/",
    "http://a/b\n#frag",
]):
    write("url", f"seed-{i:02}", text)

for i, text in enumerate([
    "127.0.0.1:80", "[::1]:8080", "0.0.0.0:0", "[fe80::1%3]:53", "::ffff:1.2.3.4",
    "[::ffff:1.2.3.4]:1", "1.2.3.4", "255.255.255.255:65535", "[2001:db8::1]", "1.2.3.4:65536",
    "[::1]x", "fe80::1%", "1.2.3.4%5:6", "::", "[]:1",
]):
    write("address", f"seed-{i:02}", text)

# http_response: control byte (pieces seed | request mode << 4 | ...), repeat
# byte (0: the response once; n: then its last n bytes without end), then the
# response.
responses = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
    "HTTP/1.0 200 OK\r\n\r\nclose-delimited body",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    "HTTP/1.1 2000 Too Long\r\n\r\n",
    "HTTP/1.1 200 OK\r\nFolded: a\r\n b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nffffffffffffffff\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
    "",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
]
for i, r in enumerate(responses):
    ctl = [0x00, 0x01, 0x13, 0x05, 0x32, 0x08, 0x47, 0x8c][i % 8]
    write("http_response", f"seed-{i:02}", chr(ctl) + "\x00" + r)

chunked_ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
endless_responses = [                              # (control, the part repeated, response)
    (0x00, ";e=x", chunked_ok + "1;e=x"),            # a chunk extension that never ends
    (0x00, "0", chunked_ok + "0"),                   # a chunk size that never ends
    (0x01, "X-Trailer: 0123456789\r\n", chunked_ok + "0\r\nX-Trailer: 0123456789\r\n"),  # trailers
    (0x00, "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 100 Continue\r\n\r\n"),  # interim answers
    (0x00, "a", "HTTP/1.1 200 a"),                   # a status line
    (0x00, "X-Flood: 1\r\n", "HTTP/1.1 200 OK\r\nX-Flood: 1\r\n"),  # header fields
    (0x00, "4\r\nbody\r\n", chunked_ok + "4\r\nbody\r\n"),  # a chunked body
    (0x80, "body", "HTTP/1.1 200 OK\r\n\r\nbody"),  # a body delimited by the end
]
for i, (ctl, unit, r) in enumerate(endless_responses):
    write("http_response", f"endless-{i:02}", chr(ctl) + chr(len(unit)) + r)

# http_request: control byte (pieces seed | small limits << 4), repeat byte,
# then the request bytes.
requests = [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /p?a=1&b=2 HTTP/1.1\r\nHost: a\r\nX-Echo: hi\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "GET http://h/abs?a=x HTTP/1.0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX-Echo: \xff\xfe\r\n\r\n",
    "GE T / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\nGET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab",
]
for i, r in enumerate(requests):
    ctl = [0x00, 0x01, 0x03, 0x15, 0x08, 0x02][i % 6]
    write("http_request", f"seed-{i:02}", chr(ctl) + "\x00" + r)

chunked_post = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
endless_requests = [                               # (control, the part repeated, request)
    (0x00, ";e=x", chunked_post + "1;e=x"),          # a chunk extension that never ends
    (0x01, "X-Trailer: 0123456789\r\n", chunked_post + "0\r\nX-Trailer: 0123456789\r\n"),  # trailers
    (0x00, "X-Flood: 1\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Flood: 1\r\n"),  # header fields
    (0x00, "a", "GET /a"),                           # a request line
    (0x00, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),  # pipelined requests
    (0x00, "\r\n", "\r\n"),                        # empty lines
    (0x10, "4\r\nbody\r\n", chunked_post + "4\r\nbody\r\n"),  # a chunked body, small limits
]
for i, (ctl, unit, r) in enumerate(endless_requests):
    write("http_request", f"endless-{i:02}", chr(ctl) + chr(len(unit)) + r)


# dns_reply: control byte (bit 0 clear: the query's question goes after the
# first 10 bytes; bits 1-2: family), then the reply after its id.
def rr(name, rtype, rdata, ttl=60):
    return name + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


ptr = b"\xc0\x0c"
a = rr(ptr, 1, bytes([192, 0, 2, 1]))
aaaa = rr(ptr, 28, bytes.fromhex("20010db8000000000000000000000001"))
cname = rr(ptr, 5, b"\x05alias\x04test\x00")
alias_a = rr(b"\x05alias\x04test\x00", 1, bytes([192, 0, 2, 2]))


def head(flags, qd, an, ns=0, ar=0):
    return struct.pack(">HHHHH", flags, qd, an, ns, ar)


question_a = b"\x04fuzz\x04test\x00" + struct.pack(">HH", 1, 1)
dns = [
    (0x02, head(0x8180, 1, 1) + a),                     # A for an A question (family v4)
    (0x04, head(0x8180, 1, 1) + aaaa),                  # AAAA (family v6)
    (0x00, head(0x8180, 1, 2) + a + aaaa),              # both, family any
    (0x02, head(0x8180, 1, 2) + cname + alias_a),       # a CNAME chain
    (0x00, head(0x8183, 1, 0)),                         # NXDOMAIN
    (0x00, head(0x8182, 1, 0)),                         # SERVFAIL
    (0x02, head(0x8380, 1, 0)),                         # truncated: c-ares asks again over TCP
    (0x02, head(0x8180, 1, 1) + a[:-2]),                # rdata cut short
    (0x02, head(0x8180, 1, 1) + b"\xc0\xff" + a[2:]),   # a name pointer past the end
    (0x03, head(0x8180, 1, 1) + question_a + a),        # the whole reply raw, question included
    (0x02, head(0x8180, 1, 1, 1, 1) + a + rr(ptr, 2, b"\x02ns\xc0\x0c") + rr(b"\x02ns\xc0\x0c", 1, b"\x01\x02\x03\x04")),
]
for i, (ctl, reply) in enumerate(dns):
    write("dns_reply", f"seed-{i:02}", bytes([ctl]) + reply)


# tls_client: control byte (pieces seed | mode << 4 | bit 6 | bit 7 small
# reads), then the bytes. No seed holds key material: modes 0, 1 and 3 get
# hand-made records, mode 2 a mask (zeros leave the real handshake as it is).
def record(ctype, body, version=b"\x03\x03"):
    return bytes([ctype]) + version + struct.pack(">H", len(body)) + body


def handshake(htype, body):
    return bytes([htype]) + struct.pack(">I", len(body))[1:] + body


def ext(etype, body):
    return struct.pack(">HH", etype, len(body)) + body


server_hello_13 = handshake(2, b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x13\x01\x00" + struct.pack(
    ">H", 46) + ext(0x2b, b"\x03\x04") + ext(0x33, b"\x00\x1d\x00\x20" + bytes(32)))
server_hello_12 = handshake(2, b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\xc0\x2b\x00")
tls = [
    (0x00, record(22, server_hello_13)),                            # a TLS 1.3 ServerHello, then nothing
    (0x05, record(22, server_hello_13) + record(20, b"\x01") + record(23, bytes(40))),  # ... CCS, a bogus encrypted record
    (0x40, record(22, server_hello_12) + record(22, handshake(14, b""))),  # TLS 1.2 ServerHello, ServerHelloDone
    (0x00, record(21, b"\x02\x28")),                                # alert: handshake_failure
    (0x01, b"\x16\x03\x03\xff\xff" + bytes(16)),                    # a record too long
    (0x00, b"HTTP/1.1 400 Bad Request\r\n\r\n"),                    # not TLS at all
    (0x10, record(23, bytes(32))),                                  # after a TLS 1.3 handshake: a bad record
    (0x50, record(21, b"\x01\x00")),                                # "hello", then a plaintext close_notify
    (0xd3, record(23, b"\x01" * 17) + b"\x17\x03\x03\x00"),         # small reads, a record cut short
    (0x20, b""),                                                    # mode 2, the handshakes untouched (the second resumes)
    (0x20, bytes(5) + b"\x01"),                                     # ServerHello's type flipped
    (0x24, bytes(3) + b"\x01"),                                     # the first record's length flipped
    (0x60, bytes(80) + b"\x80"),                                    # TLS 1.2, a flip in the server flight
    (0xa0, bytes(300) + b"\x04"),                                   # further in, small reads
    (0x30, record(23, bytes(24))),                                  # after a TLS 1.2 handshake: a bad record
    (0x70, record(22, handshake(0, b""))),                          # "hello", then a plaintext HelloRequest
    (0xb2, record(21, b"\x01\x00") + record(23, bytes(8))),         # small reads
    (0xe0, b""),                                                    # mode 2, TLS 1.2, small reads (the second resumes)
]
for i, (ctl, data) in enumerate(tls):
    write("tls_client", f"seed-{i:02}", bytes([ctl]) + data)

# http_decode: control byte (Content-Encoding index | mode << 3 | pieces seed
# << 4), output-size byte, then the body (fuzz/http_decode.cpp). Python has
# no Brotli encoder, so the br bodies are written out (Brotli 1.0.9, quality 5).


def z(data, wbits, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()


page = b"<html><body>" + b"weft decodes gzip, deflate and br. " * 40 + b"</body></html>"
br_page = (b"\x42\x07\x00\x80\x38\xe5\x48\x03\x0b\xa4\x65\x54\x01\x7d\x3b\x6c\xc0\x81\x4b\xdb\x74\x40\x36\x4c"
           b"\xe4\xa8\x1d\xac\x03\x47\x25\xa1\x2e\x3d\x5c\xfe\xee\xc0\x52\x37\x53\x74\x15\x8f")
decode = [
    (0x00, 0xff, z(page, 31)),                                  # gzip
    (0x11, 0x05, z(page, 15)),                                  # deflate, zlib-wrapped, small pieces and room
    (0x21, 0x90, z(page, -15)),                                 # deflate, raw
    (0x02, 0xff, br_page),                                      # br
    (0x02, 0x01, b"\x40\x00\x10\x68\x65\x6c\x6c\x6f\x03"),      # br "hello", a byte of room
    (0x02, 0xff, b"\x06"),                                      # br, empty
    (0x03, 0x8c, z(z(page, 15), 31)),                           # deflate, gzip
    (0x34, 0xff, z(z(page, 31), 31)),                           # gzip, gzip
    (0x06, 0xff, z(br_page, 15)),                               # br, deflate
    (0x07, 0xff, z(page[:100], 31) + z(page[100:], 31)),        # two gzip members
    (0x00, 0xff, z(page, 31) + b"garbage"),                     # bytes after the end
    (0x00, 0xff, z(page, 31)[:-3]),                             # truncated
    (0x00, 0xff, z(bytes(1 << 20), 31, 9)),                     # a small bomb: 1 MiB of zeros
    (0x01, 0xff, b"\x03\x00"),                                  # raw deflate, empty
    (0x08, 0xff, page),                                         # round trip: gzip
    (0x19, 0x03, page),                                         # round trip: zlib-wrapped, small pieces
    (0x0e, 0xff, page),                                         # round trip: raw deflate, level 1
    (0x2c, 0x85, page),                                         # round trip: gzip as two members
]
for i, (ctl, room, data) in enumerate(decode):
    write("http_decode", f"seed-{i:02}", bytes([ctl, room]) + data)
