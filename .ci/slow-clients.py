#!/usr/bin/env python3
"""Opens N connections at once that each send a request's headers and part of its body, then
stall; prints how long the server held them (until it closed them), the slowest included, and
what it answered. It asserts nothing; `.ci/bench` runs it.

Usage: slow-clients.py HOST PORT [--connections N] [--runs R] [--method M] [--path P] [--give-up S]
"""
import argparse
import asyncio
import collections
import time


async def one(host, port, method, path, give_up):
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), give_up)
    except Exception:
        return time.perf_counter() - start, "connect failed"
    body_length = 1000
    writer.write(
        (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {body_length}\r\n\r\n"
        ).encode()
        + b'{"title": "'
    )
    await writer.drain()
    status = "no answer"
    try:
        first = await asyncio.wait_for(reader.readline(), give_up)
        if first:
            status = first.decode(errors="replace").split(" ")[1] if b" " in first else "?"
        # Held until the server closes the connection.
        while await asyncio.wait_for(reader.read(65536), give_up - (time.perf_counter() - start)):
            pass
    except (asyncio.TimeoutError, ValueError):
        status = f"{status}, still open after {give_up:.0f} s"
    except ConnectionError:
        pass
    held = time.perf_counter() - start
    writer.close()
    return held, status


async def run(args):
    results = await asyncio.gather(
        *(one(args.host, args.port, args.method, args.path, args.give_up) for _ in range(args.connections))
    )
    held = sorted(h for h, _ in results)
    statuses = collections.Counter(s for _, s in results)
    return held, statuses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--path", default="/api/organization/")
    parser.add_argument("--method", default="PATCH")
    parser.add_argument("--give-up", type=float, default=60.0)
    args = parser.parse_args()
    slowest = []
    for i in range(args.runs):
        held, statuses = asyncio.run(run(args))
        slowest.append(held[-1])
        print(
            f"  run {i + 1}: {args.connections} stalled connections to {args.path}: held p50 {held[len(held) // 2]:.2f} s, "
            f"p99 {held[int(len(held) * 0.99)]:.2f} s, slowest {held[-1]:.2f} s; answers {dict(statuses)}",
            flush=True,
        )
    print(f"  slowest over {args.runs} runs: {max(slowest):.2f} s; runs with one held past 11 s: {sum(s > 11 for s in slowest)}")


if __name__ == "__main__":
    main()
