#!/usr/bin/env python3
"""Times single sign-on through OpenID Connect against a running gatehouse and the test provider
(end2end/oidc/provider.mjs): each sign-in goes from "Continue with SSO" through the provider back to
the callback, whose server time (the code exchanged with the provider, the ID token verified, the
account found and the session opened) is what is measured. Prints p50 and p99 over N sign-ins.

Usage: sso-bench.py BASE ISSUER EMAIL [--sign-ins N]
"""
import argparse
import http.cookiejar
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))


def get(opener, url):
    """The status, Location and body of a GET that is not followed."""
    try:
        with opener.open(url, timeout=30) as res:
            return res.status, res.headers.get("Location"), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location"), e.read().decode(errors="replace")


def sign_in(base, email):
    opener = browser()
    status, _, body = get(opener, f"{base}/sso/start?" + urllib.parse.urlencode({"email": email}))
    assert status == 200, (status, body[:300])
    url = urllib.parse.urljoin(base, re.search(r'id="continue" href="([^"]+)"', body).group(1).replace("&amp;", "&"))
    for _ in range(20):
        if url.startswith(base) and "/oidc/callback" in url:
            started = time.perf_counter()
            status, location, body = get(opener, url)
            took = time.perf_counter() - started
            assert status == 303 and location == "/", (status, location, body[:300])
            return took
        status, location, body = get(opener, url)
        assert 300 <= status < 400, (url, status, body[:300])
        url = urllib.parse.urljoin(url, location)
    raise SystemExit("the sign-in never came back")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("issuer")
    parser.add_argument("email")
    parser.add_argument("--sign-ins", type=int, default=200)
    args = parser.parse_args()
    sign_in(args.base, args.email)  # the first makes the account and fetches the discovery document
    times = sorted(sign_in(args.base, args.email) for _ in range(args.sign_ins))
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000
    print(f"  OIDC callback (code exchange, ID token check, session): {len(times)} sign-ins, "
          f"p50 {p(0.5):.1f} ms   p99 {p(0.99):.1f} ms   mean {statistics.mean(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
