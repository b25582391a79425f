#!/usr/bin/env python3
"""A signup storm for `.ci/bench`: CONNECTIONS keep-alive connections post /_sfn/auth/sign_up in a
loop for SECONDS, each request with a fresh email and its own X-Forwarded-For address (the bench
server trusts 127.0.0.1 as a proxy; signups are limited per client address). A client that gets
503 posts again at once (a flood does not wait), or with --patient after the answer's Retry-After.

With --sequential N it posts N signups one after another instead (the reference: one signup on
an idle server). It prints figures and asserts nothing.

Usage: signup-storm.py BASE [--connections 32] [--seconds 10] [--sequential N]
"""

import argparse
import asyncio
import collections
import os
import time
import urllib.parse


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


class Client:
    """One keep-alive HTTP/1.1 connection that posts signups."""

    def __init__(self, base, origin):
        self.url = urllib.parse.urlsplit(base)
        self.origin = origin
        self.reader = self.writer = None

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.url.hostname, self.url.port)

    async def sign_up(self, n):
        if self.writer is None:
            await self.connect()
        body = f"email=storm-{os.getpid()}-{n}%40example.com&password=benchmark-password".encode()
        forwarded = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        head = (
            f"POST /_sfn/auth/sign_up HTTP/1.1\r\nHost: {self.url.netloc}\r\nOrigin: {self.origin}\r\n"
            f"X-Forwarded-For: {forwarded}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close, self.retry_after = 0, False, False, 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
            elif name == "retry-after" and value.isdigit():
                self.retry_after = int(value)
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def storm(base, connections, seconds, patient):
    counter = iter(range(1, 1 << 24))
    statuses = collections.Counter()
    latencies = collections.defaultdict(list)
    deadline = time.monotonic() + seconds

    async def loop():
        client = Client(base, base)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = await client.sign_up(next(counter))
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                client.close()
                status = "error"
            statuses[status] += 1
            latencies[status].append(time.perf_counter() - started)
            if patient and status == 503 and client.retry_after:
                await asyncio.sleep(min(client.retry_after, max(0, deadline - time.monotonic())))
        client.close()

    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(connections)))
    elapsed = time.monotonic() - started
    every = [x for values in latencies.values() for x in values]
    ok = [x for status, values in latencies.items() if isinstance(status, int) and status < 400 for x in values]
    counts = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items(), key=lambda kv: str(kv[0])))
    print(f"  signups answered: {len(every) / elapsed:.1f}/s ({len(every)} in {elapsed:.1f} s; {counts})")
    print(f"  signup latency, all answers:  p50 {ms(percentile(every, 50))}   p99 {ms(percentile(every, 99))}")
    print(f"  signup latency, accounts made: p50 {ms(percentile(ok, 50))}   p99 {ms(percentile(ok, 99))}"
          f"   ({len(ok) / elapsed:.1f}/s)")
    for status, values in sorted(latencies.items(), key=lambda kv: str(kv[0])):
        if status == "error" or status >= 400:
            print(f"  signup latency, {status}: p50 {ms(percentile(values, 50))}   p99 {ms(percentile(values, 99))}")


async def sequential(base, count):
    client = Client(base, base)
    latencies, statuses = [], collections.Counter()
    for n in range(count):
        started = time.perf_counter()
        statuses[await client.sign_up((1 << 24) - 1 - n)] += 1
        latencies.append(time.perf_counter() - started)
    client.close()
    counts = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    print(f"  one signup alone on an idle server ({count} in a row): p50 {ms(percentile(latencies, 50))}"
          f"   min {ms(min(latencies))}   ({counts})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sequential", type=int)
    parser.add_argument("--patient", action="store_true", help="after a 503, wait its Retry-After")
    args = parser.parse_args()
    if args.sequential:
        asyncio.run(sequential(args.base, args.sequential))
    else:
        asyncio.run(storm(args.base, args.connections, args.seconds, args.patient))


if __name__ == "__main__":
    main()
