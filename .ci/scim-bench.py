#!/usr/bin/env python3
"""Times SCIM provisioning against a running gatehouse and prints the figures.

- Provisioning: N users created with POST /scim/v2/Users at C concurrent connections: users per
  second over the whole run, and p50/p99 of one request.
- Lookup: GET /scim/v2/Users?filter=userName eq "…" for members picked at random among those the
  organization has (the benchmark's organization has 10,000 and more), one at a time: p50/p99.

Usage: scim-bench.py BASE TOKEN [--users N] [--connections C] [--lookups L] [--lookup-pattern P]
P is a format string for the addresses looked up, with {} for a number below 9,999
(default member{}@example.com, the members .ci/bench inserts).
"""
import argparse
import concurrent.futures
import json
import random
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request


def request(method, url, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/scim+json")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            status = res.status
            payload = res.read()
    except urllib.error.HTTPError as e:
        status = e.code
        payload = e.read()
    return status, time.perf_counter() - start, payload


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--lookup-pattern", default="member{}@example.com")
    args = parser.parse_args()
    users = f"{args.base}/scim/v2/Users"
    run = int(time.time())

    def create(i):
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"scim-bench-{run}-{i}@example.com",
            "name": {"givenName": "Bench", "familyName": str(i)},
            "emails": [{"value": f"scim-bench-{run}-{i}@example.com", "type": "work", "primary": True}],
            "externalId": f"bench-{run}-{i}",
            "active": True,
        }
        return request("POST", users, args.token, body)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.connections) as pool:
        results = list(pool.map(create, range(args.users)))
    elapsed = time.perf_counter() - start
    created = sum(1 for status, _, _ in results if status == 201)
    times = [t * 1000 for _, t, _ in results]
    print(
        f"  provisioning: {args.users} users through POST /Users at {args.connections} connections: "
        f"{created / elapsed:.0f} users/s, p50 {statistics.median(times):.1f} ms, p99 {percentile(times, 99):.1f} ms, "
        f"created {created}, other answers {args.users - created}"
    )

    status, _, payload = request("GET", f"{users}?count=0", args.token)
    total = json.loads(payload)["totalResults"] if status == 200 else "?"
    lookups = []
    misses = 0
    for _ in range(args.lookups):
        name = args.lookup_pattern.format(random.randrange(9999))
        query = urllib.parse.urlencode({"filter": f'userName eq "{name}"'})
        status, t, payload = request("GET", f"{users}?{query}", args.token)
        lookups.append(t * 1000)
        if status != 200 or json.loads(payload)["totalResults"] != 1:
            misses += 1
    print(
        f"  lookup: GET /Users?filter=userName eq \"…\" among {total} members, one at a time: "
        f"p50 {statistics.median(lookups):.2f} ms, p99 {percentile(lookups, 99):.2f} ms, not found {misses}"
    )


if __name__ == "__main__":
    main()
