#!/usr/bin/env python3
"""Whether answers' timing tells which addresses have an account, for `.ci/bench`: PAIRS pairs of
requests, in random order within each pair, each request from its own X-Forwarded-For address
(the server must trust 127.0.0.1 as a proxy and allow many failed logins per email):

  - a login with a wrong password for an account of an organization, against one for an address
    without an account;
  - a signup with an address that has an account, against one with a new address.

It prints the median of each side, their difference and the z of a Wilcoxon signed-rank test over
the pairs (|z| above 3 would say the difference is real); it asserts nothing.

Usage: enumeration-timing.py BASE [--pairs 200]
"""

import argparse
import http.client
import math
import random
import statistics
import time
import urllib.parse
import uuid

PASSWORD = "benchmark-password"


def post(base, path, form, client):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = urllib.parse.urlencode(form)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": base,
        "X-Forwarded-For": client,
    }
    start = time.perf_counter()
    conn.request("POST", path, body, headers)
    res = conn.getresponse()
    res.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return res.status, elapsed


def address(n):
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def signed_rank_z(pairs):
    diffs = [a - b for a, b in pairs if a != b]
    n = len(diffs)
    if n == 0:
        return 0.0
    ranked = sorted(range(n), key=lambda i: abs(diffs[i]))
    w = sum(rank + 1 for rank, i in enumerate(ranked) if diffs[i] > 0)
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return (w - mean) / sd


def compare(label, a_label, b_label, pairs):
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    ma, mb = statistics.median(a), statistics.median(b)
    print(
        f"{label:<34} {a_label} {ma * 1000:7.2f} ms   {b_label} {mb * 1000:7.2f} ms   "
        f"difference {(ma - mb) * 1000:+6.2f} ms   z {signed_rank_z(pairs):+5.1f}   ({len(pairs)} pairs)"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    n = 0

    def client():
        nonlocal n
        n += 1
        return address(n)

    owner = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    status, _ = post(args.base, "/_sfn/auth/sign_up", {"email": owner, "password": PASSWORD}, client())
    assert status == 200, f"signup failed: {status}"

    logins = []
    for i in range(args.pairs):
        known = lambda: post(args.base, "/_sfn/auth/log_in", {"email": owner, "password": "wrong password"}, client())
        unknown_email = f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com"
        unknown = lambda: post(args.base, "/_sfn/auth/log_in", {"email": unknown_email, "password": "wrong password"}, client())
        if random.random() < 0.5:
            k, u = known(), unknown()
        else:
            u, k = unknown(), known()
        assert k[0] == u[0] == 401, f"unexpected answers {k[0]} {u[0]}"
        logins.append((k[1], u[1]))
    compare("wrong password", "account", "no account", logins)

    signups = []
    for i in range(args.pairs // 2):
        taken = lambda: post(args.base, "/_sfn/auth/sign_up", {"email": owner, "password": PASSWORD}, client())
        fresh_email = f"new-{i}-{uuid.uuid4().hex[:6]}@example.com"
        fresh = lambda: post(args.base, "/_sfn/auth/sign_up", {"email": fresh_email, "password": PASSWORD}, client())
        if random.random() < 0.5:
            t, f = taken(), fresh()
        else:
            f, t = fresh(), taken()
        assert t[0] == f[0] == 200, f"unexpected answers {t[0]} {f[0]}"
        signups.append((t[1], f[1]))
    compare("signup", "registered", "new       ", signups)


if __name__ == "__main__":
    main()
