#!/usr/bin/env python3
"""Times single sign-on against a running gatehouse, and prints p50 and p99 over N sign-ins.

OpenID Connect, with the test provider (end2end/oidc/provider.mjs): each sign-in goes from "Continue
with SSO" through the provider back to the callback, whose server time (the code exchanged with the
provider, the ID token verified, the account found and the session opened) is measured.

SAML, with the test IdP (tests/saml/idp.py, pysaml2): each sign-in goes from "Continue with SSO" to
the AuthnRequest, the IdP signs a response to it, and the post of that response to the Assertion
Consumer Service (its signature verified by xmlsec1, the assertion recorded, the session opened) is
measured.

Usage: sso-bench.py oidc BASE EMAIL [--sign-ins N]
       sso-bench.py saml BASE EMAIL SP_ENTITY_ID ACS_URL IDP_ENTITY_ID [--sign-ins N]
"""
import argparse
import base64
import http.cookiejar
import os
import subprocess
import sys
import zlib
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


def continue_with_sso(base, opener, email):
    """"Continue with SSO": the organization's sign-in address the page moves on to."""
    status, _, body = get(opener, f"{base}/sso/start?" + urllib.parse.urlencode({"email": email}))
    assert status == 200, (status, body[:300])
    return urllib.parse.urljoin(base, re.search(r'id="continue" href="([^"]+)"', body).group(1).replace("&amp;", "&"))


def sign_in(base, email):
    opener = browser()
    url = continue_with_sso(base, opener, email)
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


def saml_sign_in(base, email, sp_entity, acs, idp_entity):
    opener = browser()
    status, location, body = get(opener, continue_with_sso(base, opener, email))
    assert status == 303, (status, body[:300])
    request = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(request), -15).decode()
    request_id = re.search(r' ID="([^"]+)"', xml).group(1)
    idp = os.path.join(os.path.dirname(__file__), "..", "tests", "saml", "idp.py")
    response = subprocess.run(
        [sys.executable, idp, "response", "--entity-id", idp_entity, "--sp-entity-id", sp_entity,
         "--acs-url", acs, "--name-id", email, "--in-response-to", request_id, "--attr", "groups=annotators"],
        check=True, capture_output=True, text=True).stdout.strip()
    data = urllib.parse.urlencode({"SAMLResponse": response}).encode()
    post = urllib.request.Request(acs, data=data, headers={"Origin": "https://idp.test"})
    started = time.perf_counter()
    try:
        with opener.open(post, timeout=30) as res:
            status, location = res.status, res.headers.get("Location")
    except urllib.error.HTTPError as e:
        status, location = e.code, e.headers.get("Location")
    took = time.perf_counter() - started
    assert status == 303 and location == "/", (status, location)
    return took


def report(label, times):
    times = sorted(times)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000
    print(f"  {label}: {len(times)} sign-ins, p50 {p(0.5):.1f} ms   p99 {p(0.99):.1f} ms   "
          f"mean {statistics.mean(times) * 1000:.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("protocol", choices=["oidc", "saml"])
    parser.add_argument("base")
    parser.add_argument("email")
    parser.add_argument("saml", nargs="*", help="SP_ENTITY_ID ACS_URL IDP_ENTITY_ID (saml)")
    parser.add_argument("--sign-ins", type=int, default=200)
    args = parser.parse_args()
    if args.protocol == "oidc":
        sign_in(args.base, args.email)  # the first makes the account and fetches the discovery document
        report("OIDC callback (code exchange, ID token check, session)",
               [sign_in(args.base, args.email) for _ in range(args.sign_ins)])
    else:
        saml_sign_in(args.base, args.email, *args.saml)  # the first makes the account
        report("SAML ACS (signature check by xmlsec1, assertion recorded, session)",
               [saml_sign_in(args.base, args.email, *args.saml) for _ in range(args.sign_ins)])


if __name__ == "__main__":
    main()
