#!/usr/bin/env python3
"""Run the scim2-tester compliance checks against our SCIM 2.0 server.

Requirements (pin exactly, newer releases change the checks):
    pip install 'scim2-tester[httpx2]==0.5.2' 'scim2-client[httpx2]==0.13.2' \
        'scim2-models==0.12.3' 'httpx2==2.17.0'

Environment:
    SCIM_URL    base URL of the SCIM API, e.g. http://127.0.0.1:8080/scim/v2
    SCIM_TOKEN  bearer token sent as "Authorization: Bearer <token>"

Exit codes:
    0  every check passed (or was skipped for a feature our
       ServiceProviderConfig declares unsupported)
    1  at least one check failed, or was skipped without such a justification
    2  configuration error, or the server cannot be reached
"""

import os
import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# Statuses that count as a pass. scim2-tester 0.5.2 only emits SUCCESS, ERROR
# and SKIPPED; COMPLIANT/ACCEPTABLE mean "follows the RFC" in newer releases.
PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

# Optional features we may declare unsupported in /ServiceProviderConfig. A
# skip whose reason mentions one of them is fine if the server really declares
# it unsupported. patch and filter are deliberately absent: our server supports
# them, so a skip for them is a failure.
OPTIONAL_FEATURES = {
    "bulk": "bulk",
    "sort": "sort",
    "changePassword": "password",
    "etag": "etag",
}


RESOURCE_TYPES = ["User", "Group"]


def main() -> int:
    url = os.environ.get("SCIM_URL", "").rstrip("/")
    token = os.environ.get("SCIM_TOKEN", "")
    if not url or not token:
        print("error: SCIM_URL and SCIM_TOKEN must be set", file=sys.stderr)
        return 2

    http = httpx2.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    # Probe first: scim2-tester turns network errors into per-check ERRORs,
    # which would hide a server that simply is not running.
    try:
        probe = http.get("/ServiceProviderConfig")
    except httpx2.TransportError as exc:
        print(f"error: SCIM server unreachable at {url}: {exc}", file=sys.stderr)
        return 2
    if probe.status_code == 401:
        print("warning: /ServiceProviderConfig answered 401, is SCIM_TOKEN right?")
    try:
        spc = probe.json() if probe.status_code == 200 else {}
    except ValueError:
        spc = {}

    # Without a provider, check_server discovers the models from the server's
    # /Schemas and /ResourceTypes and generates test data from them.
    client = SyncSCIMClient(http)
    results = check_server(client, resource_types=RESOURCE_TYPES)

    def skip_justified(reason: str) -> bool:
        return any(
            word.lower() in reason.lower()
            and (spc.get(feature) or {}).get("supported") is False
            for feature, word in OPTIONAL_FEATURES.items()
        )

    failed = 0
    for r in results:
        reason = " | ".join((r.reason or "").splitlines())
        description = (r.description or "").strip().split("\n", 1)[0]
        ok = r.status in PASSING or (
            r.status == Status.SKIPPED and skip_justified(reason)
        )
        failed += not ok
        prefix = "  " if ok else "!!"
        rtype = f"[{r.resource_type}] " if r.resource_type else ""
        print(f"{prefix} {r.status.name:<9} {rtype}{r.title}: {description}")
        if reason:
            print(f"             {reason}")

    # Our server supports patch and filter; a config saying otherwise is a bug
    # (scim2-tester 0.5.2 would silently skip PATCH, and never tests filter).
    for feature in ("patch", "filter"):
        if (spc.get(feature) or {}).get("supported") is not True:
            print(f"!! ERROR     ServiceProviderConfig.{feature}.supported is not true")
            failed += 1

    # Every resource type we expect must actually have been exercised.
    tested = {r.resource_type for r in results}
    for name in RESOURCE_TYPES:
        if name not in tested:
            print(f"!! ERROR     resource type {name} was not tested "
                  "(not published in /ResourceTypes, or discovery failed)")
            failed += 1

    extensions = [
        str(ext.schema_)
        for rt in client.provider.resource_types
        for ext in rt.schema_extensions or []
    ]
    print(f"\nschema extensions tested: {', '.join(extensions) or 'none'}")

    counts = Counter(r.status.name for r in results)
    print("summary: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"result: {'FAIL' if failed else 'PASS'} ({failed} failing)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
