#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Python peer of bench/'s fetch_many benchmark: the asyncio lesson's client,
# N concurrent GETs of one URL with one aiohttp ClientSession and
# asyncio.gather. TCPConnector(limit=0): the connector does not cap the
# connections at its default 100, so all N run at once. Each reads the body
# (resp.text()) and checks it is "Hello!". Measures wall time and the process's
# CPU time (getrusage: user + sys) around asyncio.run.
# With CA_FILE (for an https:// URL, bench/tls.sh) it trusts that PEM file's
# certificates only: ssl.create_default_context(cafile=CA_FILE) for the connector.
# usage: /usr/bin/python3 fetch_aiohttp.py URL [N [CA_FILE]]   (default 1,000; every GET bounded by 60 s)
import asyncio
import resource
import ssl
import sys
import time

import aiohttp


async def fetch(session, url):
    async with session.get(url) as resp:
        return await resp.text()


async def fetch_all(url, n, ca_file=None):
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
    connector = aiohttp.TCPConnector(limit=0, ssl=tls)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await asyncio.gather(*(fetch(session, url) for _ in range(n)), return_exceptions=True)


def main():
    if len(sys.argv) < 2:
        print("usage: fetch_aiohttp.py URL [N [CA_FILE]]", file=sys.stderr)
        return 2
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    results = asyncio.run(fetch_all(url, n, sys.argv[3] if len(sys.argv) > 3 else None))
    wall = (time.monotonic() - t0) * 1e3
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    user = (r1.ru_utime - r0.ru_utime) * 1e3
    sys_ = (r1.ru_stime - r0.ru_stime) * 1e3

    bad = [r for r in results if r != "Hello!"]
    if bad:
        print("NOTE fetch_aiohttp: %d of %d GETs failed (first: %s)" % (len(bad), n, repr(bad[0])[:200]))
    print("RESULT wall_ms=%.2f" % wall)
    print("RESULT cpu_ms=%.2f" % (user + sys_))
    print("RESULT user_ms=%.2f" % user)
    print("RESULT sys_ms=%.2f" % sys_)
    print("RESULT failed=%d" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
