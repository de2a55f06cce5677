#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Python peer of bench/'s to_thread benchmark: asyncio.to_thread(noop), the
# call weft::to_thread mirrors, on asyncio's default executor (a
# ThreadPoolExecutor of min(32, cpus + 4) threads, like weft's pool).
#   one:  one coroutine awaits it N times in a row (hand-off latency)
#   many: C coroutines at once, N calls in all (throughput)
# usage: /usr/bin/python3 to_thread_asyncio.py [N [C]]   (default 20,000 calls, 64 coroutines)
import asyncio
import sys
import time


def noop():
    pass


async def main(n, c):
    for _ in range(100):
        await asyncio.to_thread(noop)

    t0 = time.perf_counter_ns()
    for _ in range(n):
        await asyncio.to_thread(noop)
    one = (time.perf_counter_ns() - t0) / n

    async def worker(first):
        for _ in range(first, n, c):
            await asyncio.to_thread(noop)

    t0 = time.perf_counter_ns()
    await asyncio.gather(*(worker(f) for f in range(c)))
    many = (time.perf_counter_ns() - t0) / n
    print(f"RESULT asyncio_to_thread_one_ns={one:.0f}")
    print(f"RESULT asyncio_to_thread_many_ns={many:.0f}")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    c = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    asyncio.run(main(n, c))
