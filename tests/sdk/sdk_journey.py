"""Drives gatehouse with Label Studio's own Python SDK (label-studio-sdk), as its users do.

Run by .ci/sdk against a fresh server: GATEHOUSE_URL is the server, GATEHOUSE_TOKEN an Owner's
legacy API token, GATEHOUSE_MEMBER_ID a Pending member of the Owner's organization. Every call
the SDK makes for user management is checked with a legacy token, then with a personal access
token, which the SDK exchanges for access tokens by itself. Exits non-zero on the first failure.
"""

import os
import sys

from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

BASE = os.environ["GATEHOUSE_URL"]
LEGACY = os.environ["GATEHOUSE_TOKEN"]
MEMBER = int(os.environ["GATEHOUSE_MEMBER_ID"])
checks = 0


def check(what, condition, detail=""):
    global checks
    checks += 1
    if not condition:
        print(f"FAILED: {what} {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def refused(what, call, status):
    try:
        call()
    except ApiError as e:
        check(what, e.status_code == status, f"(got {e.status_code}: {e.body})")
        return
    check(what, False, "(it was not refused)")


def get(obj, key):
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


legacy = LabelStudio(base_url=BASE, api_key=LEGACY)

me = legacy.users.get_current_user()
check("users.get_current_user names the caller", me.username == me.email and me.id > 0, me)
owner_role = me.org_membership[0].role if me.org_membership else None
check("users.get_current_user gives the Owner's membership", owner_role == "OWNER", me.org_membership)
updated = legacy.users.update_current_user(first_name="Ada", last_name="Lovelace")
check("users.update_current_user renames the caller", updated.first_name == "Ada", updated)

orgs = legacy.organizations.list()
check("organizations.list gives the caller's organization", len(orgs) == 1 and orgs[0].id == me.active_organization, orgs)
org = orgs[0].id

members = list(legacy.organizations.members.list(org, page_size=1))
check("organizations.members.list pages through every member", len(members) == 2, members)
check("each member names its user and organization",
      sorted(get(get(m, "user"), "id") for m in members) == sorted([me.id, MEMBER]) and all(get(m, "organization") == org for m in members), members)

member = legacy.organizations.members.get(org, MEMBER)
check("organizations.members.get finds the member", get(get(member, "user"), "id") == MEMBER, member)

changed = legacy.organizations.members.update(org, user_id=MEMBER, role="RE")
check("organizations.members.update takes the code RE", get(changed, "role") == "REVIEWER" and get(get(changed, "user"), "id") == MEMBER, changed)
changed = legacy.organizations.members.update(org, user_id=MEMBER, role="AN")
check("organizations.members.update takes the code AN", get(changed, "role") == "ANNOTATOR", changed)
refused("organizations.members.update refuses OW", lambda: legacy.organizations.members.update(org, user_id=MEMBER, role="OW"), 400)

users = legacy.users.list()
check("users.list lists the organization's members", sorted(u.id for u in users) == sorted([me.id, MEMBER]), users)
check("users.get reads one member", legacy.users.get(MEMBER).id == MEMBER)

settings = legacy.jwt_settings.get()
check("jwt_settings.get gives the defaults", settings.legacy_api_tokens_enabled and settings.api_tokens_enabled, settings)
settings = legacy.jwt_settings.update(api_token_ttl_days=30, api_tokens_enabled=True, legacy_api_tokens_enabled=True)
check("jwt_settings.update saves the lifetime", settings.api_token_ttl_days == 30, settings)

policy = legacy.session_policy.get()
check("session_policy.get gives the server's limits", (policy.max_session_age or 0) > 0, policy)
policy = legacy.session_policy.update(max_time_between_activity=600)
check("session_policy.update saves the idle limit", policy.max_time_between_activity == 600, policy)

log = legacy.activity_logs.list(page=1, page_size=10)
entries = get(log, "data")
check("activity_logs.list gives entries in Label Studio's fields", bool(entries) and "request_url" in entries[0], log)

# A personal access token: the SDK refreshes it by itself and sends Bearer access tokens.
made = legacy.tokens.create()
check("tokens.create gives a refresh token", made.token and made.token.count(".") == 2, made)
listed = legacy.tokens.list()
check("tokens.list lists it without its secret", len(listed) == 1 and made.token not in str(listed), listed)
refused("tokens.create refuses a second live token", lambda: legacy.tokens.create(), 409)

pat = LabelStudio(base_url=BASE, api_key=made.token)
check("a client with a personal access token signs in", pat.users.get_current_user().id == me.id)
check("it reads the organizations", len(pat.organizations.list()) == 1)
check("it pages through the members", len(list(pat.organizations.members.list(org))) == 2)
refreshed = pat.tokens.refresh(refresh=made.token)
check("tokens.refresh gives an access token", refreshed.access.count(".") == 2)

changed = pat.organizations.members.update(org, user_id=MEMBER, role="MA")
check("a role change with a code through a personal access token", get(changed, "role") == "MANAGER", changed)
pat.organizations.members.delete(org, MEMBER)
refused("the removed member is gone", lambda: pat.organizations.members.get(org, MEMBER), 404)

rotated = pat.tokens.rotate(refresh=made.token)
check("tokens.rotate gives a new refresh token", rotated.refresh and rotated.refresh != made.token)
refused("the rotated-away token no longer refreshes", lambda: legacy.tokens.refresh(refresh=made.token), 401)
fresh = LabelStudio(base_url=BASE, api_key=rotated.refresh)
check("a client with the new token works", fresh.users.get_current_user().id == me.id)
fresh.tokens.blacklist(refresh=rotated.refresh)
refused("a blacklisted token no longer refreshes", lambda: legacy.tokens.refresh(refresh=rotated.refresh), 401)

print(f"label-studio-sdk: all {checks} checks passed")
