//! The audit log: every change writes an entry (a state-changing endpoint, server function or
//! command without one fails the completeness test), the hash chain catches tampering, and the
//! page's filters, the CSV export, retention and the seat history work on both databases.

use std::collections::BTreeSet;

use clap::CommandFactory;
use gatehouse::{
    domain::{AuditEntryView, AuditPage, InviteLink, Role},
    server::{audit, change::Change},
};
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    every_change_writes_an_entry_naming_actor_target_and_details,
    failed_sign_ins_and_lockouts_of_members_are_logged,
    concurrent_role_changes_and_invitations_keep_one_intact_chain,
    edited_deleted_or_swapped_rows_break_the_chain_at_the_entry,
    the_log_filters_and_pages_newest_first,
    bad_filters_are_clear_400s,
    the_csv_export_quotes_commas_quotes_and_line_breaks,
    retention_prunes_old_entries_and_the_rest_still_verifies,
    the_seat_history_matches_the_seats_counted_then,
    a_thousand_address_invitation_writes_its_entries_in_one_chain,
);

/// Server functions that change nothing (the completeness test skips them; any other needs a
/// driver below).
const READ_ONLY_SERVER_FNS: [&str; 24] = [
    "auth/current_user",
    "two_factor/status",
    "organization/two_factor_policy",
    // These keep only a ceremony's state (a challenge, or a secret no code confirmed yet) that
    // nothing reads but its own next step, which is logged.
    "two_factor/start_app",
    "two_factor/passkey_challenge",
    "passkeys/registration_challenge",
    "passkeys/sign_in_challenge",
    "scim/overview",
    "sso/saml_settings",
    "sso/oidc_settings",
    "sso/identities",
    "account/api_token_accepted",
    "tokens/list",
    "tokens/settings",
    "verification/inspect",
    "invites/info",
    "organization/get",
    "account/api_token",
    "account/profile",
    "account/sessions",
    "invites/link",
    "invites/pending",
    "members/list",
    "audit/list",
];

/// Commands that change no data (precompress writes only the build's compressed bundle).
const READ_ONLY_COMMANDS: [&str; 3] = ["serve", "audit", "precompress"];

/// Every entry of the organization, oldest first, read through the API as `token`.
async fn entries(app: &TestApp, token: &str, org: i64) -> Vec<AuditEntryView> {
    let mut all = Vec::new();
    for page in 1.. {
        let found: AuditPage = app
            .api(
                Method::GET,
                &format!("/api/organizations/{org}/audit-log?page={page}&page_size=100"),
                token,
            )
            .json_ok()
            .await;
        let done = found.results.len() < 100;
        all.extend(found.results);
        if done {
            break;
        }
    }
    all.reverse();
    all
}

/// The newest entry's place in the chain (0 without any).
async fn head(app: &TestApp, org: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE organization_id = $1",
    )
    .bind(org)
    .fetch_one(app.db().pool())
    .await
    .unwrap()
}

/// `gatehouse audit verify --org ORG`.
fn verify(app: &TestApp, org: i64) -> (bool, String) {
    app.cli(&["audit", "verify", "--org", &org.to_string()], "")
}

fn assert_intact(app: &TestApp, org: i64, entries: usize) {
    let (ok, out) = verify(app, org);
    assert!(ok, "{out}");
    let noun = if entries == 1 { "entry" } else { "entries" };
    assert!(
        out.contains(&format!("{entries} {noun}, chain intact")),
        "{out}"
    );
}

/// What an entry must say: its action, who did it (email, or `cli`/`system`), its target's
/// label, and details it must contain.
struct Expect<'a> {
    action: &'a str,
    actor: &'a str,
    target: &'a str,
    details: Value,
}

fn check(entry: &AuditEntryView, want: &Expect<'_>, what: &str) {
    assert_eq!(entry.action, want.action, "{what}: {entry:?}");
    match want.actor {
        "cli" | "system" => assert_eq!(entry.actor.kind, want.actor, "{what}: {entry:?}"),
        email => {
            assert_eq!(entry.actor.kind, "user", "{what}: {entry:?}");
            assert_eq!(entry.actor.email, email, "{what}: {entry:?}");
            assert!(entry.actor.user_id.is_some(), "{what}: {entry:?}");
        }
    }
    assert_eq!(entry.target.label, want.target, "{what}: {entry:?}");
    for (key, value) in want.details.as_object().unwrap() {
        assert_eq!(&entry.details[key], value, "{what}: details of {entry:?}");
    }
    assert!(!entry.summary.is_empty(), "{what}");
    assert_eq!(entry.hash.len(), 64, "{what}");
}

/// Runs `drive` and returns the entries it wrote to the organization's log, waiting (up to the
/// mail deadline) for `want.action` to show up: a password reset request writes after answering.
async fn entries_written_by<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    token: &str,
    org: i64,
    action: &str,
    drive: F,
) -> Vec<AuditEntryView> {
    let before = head(app, org).await;
    drive.await;
    eventually(&format!("an entry {action}"), || async {
        let new: Vec<AuditEntryView> = entries(app, token, org)
            .await
            .into_iter()
            .filter(|e| e.seq > before)
            .collect();
        new.iter().any(|e| e.action == action).then_some(new)
    })
    .await
}

async fn expect_entry<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    token: &str,
    org: i64,
    what: &str,
    want: Expect<'_>,
    drive: F,
) {
    let new = entries_written_by(app, token, org, want.action, drive).await;
    let entry = new.iter().find(|e| e.action == want.action).unwrap();
    check(entry, &want, what);
}

async fn ok(res: reqwest::Response) {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
}

/// The reset link's token in the `nth` password reset mail to `email`.
async fn reset_token_in_mail(app: &TestApp, email: &str, nth: usize) -> String {
    let resets = |sent: &[gatehouse::server::mail::Email]| {
        sent.iter()
            .filter(|m| m.to == email && m.text.contains("token=ghr_"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let sent = app
        .wait_for_mail_where(&format!("reset mail {nth} to {email}"), |sent| {
            resets(sent).len() >= nth
        })
        .await;
    let mail = resets(&sent).swap_remove(nth - 1);
    let start = mail.text.find("token=ghr_").expect("a reset link");
    mail.text[start + "token=".len()..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

/// The public id of a session of `client`'s account other than its own.
async fn other_session(app: &TestApp, client: &Client) -> String {
    let sessions: Value = app.get_json(client, "/api/current-user/sessions").await;
    sessions["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("another session")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn every_change_writes_an_entry_naming_actor_target_and_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let role_member = app.add_member(Role::Annotator).await;
    let self_member = app.add_member(Role::Reviewer).await;
    let reset_member = app.add_member(Role::Manager).await;
    let admin = app.add_member(Role::Administrator).await;
    let removed = [
        app.add_member(Role::Annotator).await,
        app.add_member(Role::NotActivated).await,
        app.add_member(Role::Manager).await,
    ];
    let disowned = app.add_member(Role::NotActivated).await;
    let factor_member = app.add_member(Role::Annotator).await;
    let rest_factor_member = app.add_member(Role::Annotator).await;
    let mut factor_secret = String::new();
    // Passkeys are driven at localhost (as browsers allow them there), by an Owner of their own.
    let host = crate::two_factor::Localhost::of(&app);
    let host_client = new_client();
    let passkey_owner = {
        let email = host.sign_up(&host_client).await;
        let token: Value = host_client
            .get(format!("{}/api/current-user/token", host.origin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let org = app.organization(&token).await.id;
        (email, token, org)
    };
    let mut soft_key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let mut passkey_credential = Vec::new();
    let here = format!("/api/organizations/{org}");

    // Joining by invitation and by link wrote entries already.
    let log = entries(&app, &owner, org).await;
    let accepted = log
        .iter()
        .find(|e| e.action == "invitation.accepted" && e.actor.email == role_member.email)
        .expect("the invitation's acceptance");
    check(
        accepted,
        &Expect {
            action: "invitation.accepted",
            actor: &role_member.email,
            target: &role_member.email,
            details: json!({"role": "ANNOTATOR", "user_id": role_member.id}),
        },
        "acceptance",
    );
    check(
        &log[0],
        &Expect {
            action: "organization.created",
            actor: &owner_email,
            target: &owner_email,
            details: json!({"title": owner_email, "owner_email": owner_email}),
        },
        "signup",
    );

    // Every state-changing REST endpoint in the OpenAPI document.
    let doc: Value = new_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mutating: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["post", "patch", "put", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    // In an order each step can rely on (a title set before, a mail sent before).
    let rest_order = [
        "PATCH /api/organization/",
        "PATCH /api/organizations/{id}",
        "PATCH /api/organizations/{id}/memberships",
        "DELETE /api/organizations/{id}/memberships/{user_id}",
        "DELETE /api/organizations/{id}/memberships/{user_id}/",
        "POST /api/invite/reset-token",
        "POST /api/invite/send-email",
        "POST /api/invite/revoke",
        "POST /api/password-reset/request",
        "POST /api/password-reset/confirm",
        "POST /api/current-user/reset-token",
        "PATCH /api/current-user",
        "POST /api/current-user/password",
        "DELETE /api/current-user/sessions",
        "DELETE /api/current-user/sessions/{session_id}",
        "POST /api/token/",
        "POST /api/token/refresh/",
        "POST /api/token/rotate/",
        "POST /api/token/blacklist/",
        "POST /api/jwt/settings",
        "PATCH /api/session-policy/",
        "PATCH /api/organizations/{id}/two-factor-policy",
        "DELETE /api/organizations/{id}/memberships/{user_id}/two-factor",
        "POST /api/oidc/settings",
        "DELETE /api/oidc/settings",
        "POST /api/saml/settings",
        "DELETE /api/saml/settings",
        "POST /api/scim/settings",
    ];
    assert_eq!(
        mutating,
        rest_order
            .iter()
            .map(|e| e.to_string())
            .collect::<BTreeSet<_>>(),
        "every state-changing REST endpoint has a row in the audit completeness test"
    );
    let mut invited_id = 0;
    // The Owner's personal access token, as it is made and rotated.
    let mut refresh = String::new();
    for what in rest_order {
        match what {
            "PATCH /api/organization/" | "PATCH /api/organizations/{id}" => {
                let (path, title) = if what.contains("{id}") {
                    (here.clone(), "Renamed by id")
                } else {
                    ("/api/organization/".to_owned(), "Renamed")
                };
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.renamed",
                        actor: &owner_email,
                        target: title,
                        details: json!({"to": title}),
                    },
                    async {
                        ok(app
                            .api(Method::PATCH, &path, &owner)
                            .json(&json!({"title": title}))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "PATCH /api/organizations/{id}/memberships" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.role_changed",
                        actor: &owner_email,
                        target: &role_member.email,
                        details: json!({"from": "ANNOTATOR", "to": "REVIEWER"}),
                    },
                    async {
                        app.set_role(role_member.id, Role::Reviewer).await;
                    },
                )
                .await;
            }
            "DELETE /api/organizations/{id}/memberships/{user_id}" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.removed",
                        actor: &owner_email,
                        target: &removed[0].email,
                        details: json!({"role": "ANNOTATOR"}),
                    },
                    async {
                        let path = format!("{here}/memberships/{}", removed[0].id);
                        ok(app.api(Method::DELETE, &path, &owner).send().await).await;
                    },
                )
                .await;
            }
            "DELETE /api/organizations/{id}/memberships/{user_id}/" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.removed",
                        actor: &owner_email,
                        target: &removed[2].email,
                        details: json!({"role": "MANAGER"}),
                    },
                    async {
                        let path = format!("{here}/memberships/{}/", removed[2].id);
                        ok(app.api(Method::DELETE, &path, &owner).send().await).await;
                    },
                )
                .await;
            }
            "POST /api/token/" => {
                let new = entries_written_by(&app, &owner, org, "api_token.created", async {
                    refresh = app.personal_token(&app.client).await;
                })
                .await;
                check(
                    &new[0],
                    &Expect {
                        action: "api_token.created",
                        actor: &owner_email,
                        target: &owner_email,
                        details: json!({}),
                    },
                    what,
                );
                assert!(new[0].details["token_id"].is_string(), "{:?}", new[0]);
            }
            "POST /api/token/refresh/" => {
                // Making an access token changes nothing but the token's last use: no entry.
                let before = head(&app, org).await;
                app.access_from(&refresh).await;
                assert_eq!(head(&app, org).await, before, "{what}");
            }
            "POST /api/token/rotate/" => {
                let new = entries_written_by(&app, &owner, org, "api_token.rotated", async {
                    let res = app.post_refresh_token("/api/token/rotate/", &refresh).await;
                    let body: Value = res.json().await.unwrap();
                    refresh = body["refresh"].as_str().unwrap().to_owned();
                })
                .await;
                check(
                    &new[0],
                    &Expect {
                        action: "api_token.rotated",
                        actor: &owner_email,
                        target: &owner_email,
                        details: json!({}),
                    },
                    what,
                );
            }
            "POST /api/token/blacklist/" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "api_token.revoked",
                        actor: &owner_email,
                        target: &owner_email,
                        details: json!({}),
                    },
                    async {
                        ok(app
                            .post_refresh_token("/api/token/blacklist/", &refresh)
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/jwt/settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.token_settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"to": {"legacy_api_tokens_enabled": true, "api_tokens_enabled": true, "api_token_ttl_days": 30}}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/jwt/settings", &owner)
                            .json(&json!({ "api_token_ttl_days": 30 }))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/scim/settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "scim.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"roles_groups": [["Annotator", "labelers"]]}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/scim/settings", &owner)
                            .json(&json!({"roles_groups": [["Annotator", "labelers"]]}))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/oidc/settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"protocol": "oidc", "created": true}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/oidc/settings", &owner)
                            .json(&json!({"issuer": "https://login.example.com", "client_id": "gatehouse", "client_secret": "s3cret"}))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/saml/settings" => {
                let metadata = crate::saml::idp_metadata();
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"protocol": "saml", "created": true}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/saml/settings", &owner)
                            .json(&json!({"metadata_xml": metadata}))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "DELETE /api/saml/settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"protocol": "saml", "deleted": true}),
                    },
                    async {
                        ok(app
                            .api(Method::DELETE, "/api/saml/settings", &owner)
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "DELETE /api/oidc/settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"protocol": "oidc", "deleted": true}),
                    },
                    async {
                        ok(app
                            .api(Method::DELETE, "/api/oidc/settings", &owner)
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "PATCH /api/session-policy/" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.session_policy_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({}),
                    },
                    async {
                        ok(app
                            .api(Method::PATCH, "/api/session-policy/", &owner)
                            .json(&json!({ "max_time_between_activity": 600 }))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "PATCH /api/organizations/{id}/two-factor-policy" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.two_factor_policy_changed",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({"required": false, "grace_period_days": 10}),
                    },
                    async {
                        ok(app
                            .api(Method::PATCH, &format!("{here}/two-factor-policy"), &owner)
                            .json(&json!({ "grace_period_days": 10 }))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "DELETE /api/organizations/{id}/memberships/{user_id}/two-factor" => {
                crate::two_factor::set_up_app(&app, &rest_factor_member.client).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "two_factor.reset",
                        actor: &owner_email,
                        target: &rest_factor_member.email,
                        details: json!({"authenticator_app": true, "passkeys": 0}),
                    },
                    async {
                        let path =
                            format!("{here}/memberships/{}/two-factor", rest_factor_member.id);
                        ok(app.api(Method::DELETE, &path, &owner).send().await).await;
                    },
                )
                .await;
            }
            "POST /api/invite/reset-token" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "invite_link.reset",
                        actor: &owner_email,
                        target: "Renamed by id",
                        details: json!({}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/invite/reset-token", &owner)
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/invite/send-email" => {
                let new = entries_written_by(&app, &owner, org, "invitation.sent", async {
                    app.invite(&owner, &["rest-invited@example.com"], Role::Manager)
                        .await;
                })
                .await;
                check(
                    &new[0],
                    &Expect {
                        action: "invitation.sent",
                        actor: &owner_email,
                        target: "rest-invited@example.com",
                        details: json!({"role": "MANAGER"}),
                    },
                    what,
                );
                assert!(new[0].details["expires_at"].as_i64().unwrap() > 0);
            }
            "POST /api/invite/revoke" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "invitation.revoked",
                        actor: &owner_email,
                        target: "rest-invited@example.com",
                        details: json!({}),
                    },
                    async {
                        ok(app
                            .api(Method::POST, "/api/invite/revoke", &owner)
                            .json(&json!({"email": "rest-invited@example.com"}))
                            .send()
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "POST /api/password-reset/request" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password_reset.requested",
                        actor: "system",
                        target: &reset_member.email,
                        details: json!({}),
                    },
                    async {
                        let res = new_client()
                            .post(app.url("/api/password-reset/request"))
                            .json(&json!({"email": reset_member.email}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(res.status(), StatusCode::ACCEPTED);
                    },
                )
                .await;
            }
            "POST /api/password-reset/confirm" => {
                let token = reset_token_in_mail(&app, &reset_member.email, 1).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password_reset.completed",
                        actor: &reset_member.email,
                        target: &reset_member.email,
                        details: json!({}),
                    },
                    async {
                        ok(new_client()
                            .post(app.url("/api/password-reset/confirm"))
                            .json(&json!({"token": token, "password": "reset by rest 1"}))
                            .send()
                            .await
                            .unwrap())
                        .await;
                    },
                )
                .await;
            }
            "POST /api/current-user/reset-token" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "api_token.reset",
                        actor: &self_member.email,
                        target: &self_member.email,
                        details: json!({}),
                    },
                    async {
                        ok(self_member
                            .client
                            .post(app.url("/api/current-user/reset-token"))
                            .header(header::ORIGIN, &app.address)
                            .send()
                            .await
                            .unwrap())
                        .await;
                    },
                )
                .await;
            }
            "PATCH /api/current-user" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "user.name_changed",
                        actor: &self_member.email,
                        target: &self_member.email,
                        details: json!({"first_name": "Ada"}),
                    },
                    async {
                        ok(self_member
                            .client
                            .patch(app.url("/api/current-user"))
                            .header(header::ORIGIN, &app.address)
                            .json(&json!({"first_name": "Ada"}))
                            .send()
                            .await
                            .unwrap())
                        .await;
                    },
                )
                .await;
            }
            "POST /api/current-user/password" => {
                expect_entry(&app, &owner, org, what, Expect {
                    action: "password.changed",
                    actor: &self_member.email,
                    target: &self_member.email,
                    details: json!({}),
                }, async {
                    ok(self_member.client.post(app.url("/api/current-user/password"))
                        .header(header::ORIGIN, &app.address)
                        .json(&json!({"current_password": PASSWORD, "new_password": "changed over rest"}))
                        .send().await.unwrap()).await;
                })
                .await;
            }
            "DELETE /api/current-user/sessions" => {
                ok(app
                    .log_in_with(&new_client(), &self_member.email, "changed over rest")
                    .await)
                .await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "session.ended",
                        actor: &self_member.email,
                        target: &self_member.email,
                        details: json!({"ended": 1}),
                    },
                    async {
                        ok(self_member
                            .client
                            .delete(app.url("/api/current-user/sessions"))
                            .header(header::ORIGIN, &app.address)
                            .send()
                            .await
                            .unwrap())
                        .await;
                    },
                )
                .await;
            }
            "DELETE /api/current-user/sessions/{session_id}" => {
                ok(app
                    .log_in_with(&new_client(), &self_member.email, "changed over rest")
                    .await)
                .await;
                let id = other_session(&app, &self_member.client).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "session.ended",
                        actor: &self_member.email,
                        target: &self_member.email,
                        details: json!({"ended": 1}),
                    },
                    async {
                        ok(self_member
                            .client
                            .delete(app.url(&format!("/api/current-user/sessions/{id}")))
                            .header(header::ORIGIN, &app.address)
                            .send()
                            .await
                            .unwrap())
                        .await;
                    },
                )
                .await;
            }
            other => {
                panic!("{other} changes state but the audit completeness test has no row for it")
            }
        }
    }

    // Every state-changing server function the app registers.
    let registered: BTreeSet<String> = gatehouse::server_fn_paths()
        .map(|p| p.trim_start_matches("/_sfn/").to_owned())
        .filter(|p| !READ_ONLY_SERVER_FNS.contains(&p.as_str()))
        .collect();
    // In an order each step can rely on; the ownership moves last.
    let sfn_order = [
        "auth/sign_up",
        "auth/log_in",
        "auth/log_out",
        "organization/rename",
        "tokens/create",
        "tokens/revoke",
        "tokens/save_settings",
        "sso/save_oidc_settings",
        "sso/save_saml_settings",
        "scim/create_token",
        "scim/revoke_token",
        "scim/save_settings",
        "organization/save_two_factor_policy",
        "two_factor/confirm_app",
        "two_factor/recovery_codes",
        "two_factor/verify",
        "two_factor/remove_app",
        "members/reset_two_factor",
        "passkeys/register",
        "passkeys/sign_in",
        "two_factor/passkey",
        "two_factor/remove_passkey",
        "sso/unlink",
        "account/reset_api_token",
        "account/rename",
        "account/change_password",
        "account/end_session",
        "account/end_other_sessions",
        "invites/reset_link",
        "invites/send",
        "invites/resend",
        "invites/revoke",
        "members/change_role",
        "members/remove",
        "password_reset/request",
        "password_reset/confirm",
        "members/send_password_reset",
        "verification/resend",
        "verification/confirm",
        "verification/disown",
        "members/transfer_ownership",
    ];
    assert_eq!(
        registered,
        sfn_order
            .iter()
            .map(|e| e.to_string())
            .collect::<BTreeSet<_>>(),
        "every state-changing server function has a row in the audit completeness test"
    );
    for what in sfn_order {
        let call = |client: Client, form: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                ok(app.server_fn(&client, what, &form).await).await;
            }
        };
        match what {
            "auth/sign_up" => {
                let link: InviteLink = app.api(Method::GET, "/api/invite", &owner).json_ok().await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.joined",
                        actor: "joiner@example.com",
                        target: "joiner@example.com",
                        details: json!({"role": "NOT_ACTIVATED"}),
                    },
                    call(
                        new_client(),
                        vec![
                            ("email", "joiner@example.com".into()),
                            ("password", PASSWORD.into()),
                            ("token", link.token),
                        ],
                    ),
                )
                .await;
            }
            "auth/log_in" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "signin.succeeded",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({}),
                    },
                    call(
                        new_client(),
                        vec![
                            ("email", admin.email.clone()),
                            ("password", PASSWORD.into()),
                        ],
                    ),
                )
                .await;
            }
            "auth/log_out" => {
                let client = new_client();
                ok(app.log_in_with(&client, &admin.email, PASSWORD).await).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "session.signed_out",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({}),
                    },
                    call(client, vec![]),
                )
                .await;
            }
            "organization/rename" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.renamed",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"from": "Renamed by id", "to": "Renamed by form"}),
                    },
                    call(
                        app.client.clone(),
                        vec![("title", "Renamed by form".into())],
                    ),
                )
                .await;
            }
            "tokens/create" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "api_token.created",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({}),
                    },
                    call(admin.client.clone(), vec![]),
                )
                .await;
            }
            "tokens/revoke" => {
                let admin_token = app.token(&admin.client).await;
                let listed: Value = app
                    .api(Method::GET, "/api/token/", &admin_token)
                    .json_ok()
                    .await;
                let id = listed[0]["id"].as_str().unwrap().to_owned();
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "api_token.revoked",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({"token_id": id}),
                    },
                    call(admin.client.clone(), vec![("id", id.clone())]),
                )
                .await;
            }
            "tokens/save_settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.token_settings_changed",
                        actor: &admin.email,
                        target: "Renamed by form",
                        details: json!({"to": {"legacy_api_tokens_enabled": true, "api_tokens_enabled": true, "api_token_ttl_days": 60}}),
                    },
                    call(
                        admin.client.clone(),
                        vec![
                            ("legacy_api_tokens_enabled", "on".into()),
                            ("api_tokens_enabled", "on".into()),
                            ("api_token_ttl_days", "60".into()),
                        ],
                    ),
                )
                .await;
            }
            "organization/save_two_factor_policy" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "organization.two_factor_policy_changed",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"required": false, "grace_period_days": 30, "sso_exempt": true}),
                    },
                    call(
                        app.client.clone(),
                        vec![("grace_period_days", "30".into()), ("sso_exempt", "on".into())],
                    ),
                )
                .await;
            }
            "two_factor/confirm_app" => {
                let res = app
                    .server_fn(&factor_member.client, "two_factor/start_app", &[])
                    .await;
                let setup: Value = res.json().await.unwrap();
                factor_secret = setup["secret"].as_str().unwrap().to_owned();
                let code = crate::two_factor::pyotp(&factor_secret, app.now());
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "two_factor.enabled",
                        actor: &factor_member.email,
                        target: &factor_member.email,
                        details: json!({"factor": "authenticator_app"}),
                    },
                    call(factor_member.client.clone(), vec![("code", code)]),
                )
                .await;
            }
            "two_factor/recovery_codes" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "two_factor.enabled",
                        actor: &factor_member.email,
                        target: &factor_member.email,
                        details: json!({"factor": "recovery_codes"}),
                    },
                    call(
                        factor_member.client.clone(),
                        vec![("password", PASSWORD.into())],
                    ),
                )
                .await;
            }
            "two_factor/verify" => {
                let browser = new_client();
                ok(app
                    .log_in_with(&browser, &factor_member.email, PASSWORD)
                    .await)
                .await;
                let code = crate::two_factor::pyotp(&factor_secret, app.now() + 30);
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "signin.succeeded",
                        actor: &factor_member.email,
                        target: &factor_member.email,
                        details: json!({"second_factor": "authenticator_app"}),
                    },
                    call(browser, vec![("code", code)]),
                )
                .await;
            }
            "two_factor/remove_app" => {
                // The step after the one the sign-in used.
                app.advance(std::time::Duration::from_secs(60));
                let code = crate::two_factor::pyotp(&factor_secret, app.now());
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "two_factor.disabled",
                        actor: &factor_member.email,
                        target: &factor_member.email,
                        details: json!({"factor": "authenticator_app"}),
                    },
                    call(
                        factor_member.client.clone(),
                        vec![("password", PASSWORD.into()), ("code", code)],
                    ),
                )
                .await;
            }
            "members/reset_two_factor" => {
                crate::two_factor::set_up_app(&app, &factor_member.client).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "two_factor.reset",
                        actor: &owner_email,
                        target: &factor_member.email,
                        details: json!({"authenticator_app": true, "passkeys": 0}),
                    },
                    call(
                        app.client.clone(),
                        vec![("user_id", factor_member.id.to_string())],
                    ),
                )
                .await;
            }
            "passkeys/register" => {
                let (token, org) = (&passkey_owner.1, passkey_owner.2);
                expect_entry(
                    &app,
                    token,
                    org,
                    what,
                    Expect {
                        action: "passkey.added",
                        actor: &passkey_owner.0,
                        target: &passkey_owner.0,
                        details: json!({"passkey": "Audit key"}),
                    },
                    async {
                        let (id, _) = host
                            .register(&host_client, &mut soft_key, "Audit key")
                            .await;
                        passkey_credential = id;
                    },
                )
                .await;
            }
            "passkeys/sign_in" => {
                let (token, org) = (&passkey_owner.1, passkey_owner.2);
                let handle = crate::two_factor::user_handle_of(&app, &passkey_credential).await;
                let browser = new_client();
                let (ceremony, answer) = crate::two_factor::sign_in_answer(
                    &host,
                    &browser,
                    &mut soft_key,
                    &passkey_credential,
                    &handle,
                )
                .await;
                expect_entry(
                    &app,
                    token,
                    org,
                    what,
                    Expect {
                        action: "signin.succeeded",
                        actor: &passkey_owner.0,
                        target: &passkey_owner.0,
                        details: json!({"passkey": "Audit key"}),
                    },
                    async {
                        ok(
                            crate::two_factor::finish_sign_in(&host, &browser, &ceremony, &answer)
                                .await,
                        )
                        .await;
                    },
                )
                .await;
            }
            "two_factor/passkey" => {
                let (token, org) = (&passkey_owner.1, passkey_owner.2);
                let browser = new_client();
                ok(host
                    .call(
                        &browser,
                        "auth/log_in",
                        &[("email", &passkey_owner.0), ("password", PASSWORD)],
                    )
                    .await)
                .await;
                let challenge = host
                    .json(&browser, "two_factor/passkey_challenge", &[])
                    .await;
                let options: webauthn_rs_proto::RequestChallengeResponse =
                    serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
                let answer = {
                    use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
                    soft_key.do_authentication(host.url(), options).unwrap()
                };
                expect_entry(
                    &app,
                    token,
                    org,
                    what,
                    Expect {
                        action: "signin.succeeded",
                        actor: &passkey_owner.0,
                        target: &passkey_owner.0,
                        details: json!({"second_factor": "passkey"}),
                    },
                    async {
                        ok(host
                            .call(
                                &browser,
                                "two_factor/passkey",
                                &[
                                    ("ceremony", challenge["ceremony"].as_str().unwrap()),
                                    ("credential", &serde_json::to_string(&answer).unwrap()),
                                ],
                            )
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "two_factor/remove_passkey" => {
                let (token, org) = (&passkey_owner.1, passkey_owner.2);
                let status: Value = host_client
                    .get(format!("{}/api/current-user/two-factor", host.origin))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let id = status["passkeys"][0]["id"].as_i64().unwrap().to_string();
                let res = host
                    .call(
                        &host_client,
                        "two_factor/recovery_codes",
                        &[("password", PASSWORD)],
                    )
                    .await;
                let codes: Value = res.json().await.unwrap();
                let code = codes["codes"][0].as_str().unwrap().to_owned();
                expect_entry(
                    &app,
                    token,
                    org,
                    what,
                    Expect {
                        action: "passkey.removed",
                        actor: &passkey_owner.0,
                        target: &passkey_owner.0,
                        details: json!({"passkey": "Audit key"}),
                    },
                    async {
                        ok(host
                            .call(
                                &host_client,
                                "two_factor/remove_passkey",
                                &[("id", &id), ("password", PASSWORD), ("code", &code)],
                            )
                            .await)
                        .await;
                    },
                )
                .await;
            }
            "scim/create_token" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "scim.token_created",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"replaced": false}),
                    },
                    call(app.client.clone(), vec![]),
                )
                .await;
            }
            "scim/revoke_token" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "scim.token_revoked",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({}),
                    },
                    call(app.client.clone(), vec![]),
                )
                .await;
            }
            "scim/save_settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "scim.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"roles_groups": [["Manager", "managers"]]}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("mapping_role[0]", "MANAGER".into()),
                            ("mapping_group[0]", "managers".into()),
                        ],
                    ),
                )
                .await;
            }
            "sso/save_oidc_settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"protocol": "oidc"}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("issuer", "https://sso.example.com".into()),
                            ("client_id", "gatehouse-form".into()),
                            ("scopes", "openid email".into()),
                            ("domain", "".into()),
                            ("mapping_email", "email".into()),
                            ("mapping_groups", "groups".into()),
                            ("default_role", "NOT_ACTIVATED".into()),
                            ("mapping_role[0]", "ADMINISTRATOR".into()),
                            ("mapping_group[0]", "admins".into()),
                        ],
                    ),
                )
                .await;
            }
            "account/reset_api_token" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "api_token.reset",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({}),
                    },
                    call(admin.client.clone(), vec![]),
                )
                .await;
            }
            "account/rename" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "user.name_changed",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({"first_name": "Grace", "last_name": "Hopper"}),
                    },
                    call(
                        admin.client.clone(),
                        vec![
                            ("first_name", "Grace".into()),
                            ("last_name", "Hopper".into()),
                        ],
                    ),
                )
                .await;
            }
            "account/change_password" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password.changed",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({}),
                    },
                    call(
                        admin.client.clone(),
                        vec![
                            ("current_password", PASSWORD.into()),
                            ("new_password", "changed by form".into()),
                        ],
                    ),
                )
                .await;
            }
            "sso/save_saml_settings" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.settings_changed",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({"protocol": "saml"}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("metadata_xml", crate::saml::idp_metadata()),
                            ("domain", "".into()),
                            ("mapping_email", "".into()),
                            ("mapping_groups", "groups".into()),
                            ("default_role", "NOT_ACTIVATED".into()),
                            ("mapping_role[0]", "MANAGER".into()),
                            ("mapping_group[0]", "managers".into()),
                        ],
                    ),
                )
                .await;
            }
            "sso/unlink" => {
                // An identity the admin linked before (as signing in through a provider does).
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO sso_identities (organization_id, protocol, issuer, subject, user_id, email, created_at) \
                     VALUES ($1, 'oidc', 'https://login.example.com', 'sub-1', $2, $3, 0) RETURNING id",
                )
                .bind(org)
                .bind(admin.id)
                .bind(&admin.email)
                .fetch_one(app.db().pool())
                .await
                .unwrap();
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "sso.account_unlinked",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({"protocol": "oidc", "issuer": "https://login.example.com", "subject": "sub-1"}),
                    },
                    call(admin.client.clone(), vec![("id", id.to_string())]),
                )
                .await;
            }
            "account/end_session" => {
                ok(app
                    .log_in_with(&new_client(), &admin.email, "changed by form")
                    .await)
                .await;
                let id = other_session(&app, &admin.client).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "session.ended",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({"ended": 1}),
                    },
                    call(admin.client.clone(), vec![("id", id)]),
                )
                .await;
            }
            "account/end_other_sessions" => {
                ok(app
                    .log_in_with(&new_client(), &admin.email, "changed by form")
                    .await)
                .await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "session.ended",
                        actor: &admin.email,
                        target: &admin.email,
                        details: json!({"ended": 1}),
                    },
                    call(admin.client.clone(), vec![]),
                )
                .await;
            }
            "invites/reset_link" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "invite_link.reset",
                        actor: &owner_email,
                        target: "Renamed by form",
                        details: json!({}),
                    },
                    call(app.client.clone(), vec![]),
                )
                .await;
            }
            "invites/send" => {
                let new = entries_written_by(
                    &app,
                    &owner,
                    org,
                    "invitation.sent",
                    call(
                        app.client.clone(),
                        vec![
                            ("emails", "form-invited@example.com".into()),
                            ("role", "REVIEWER".into()),
                        ],
                    ),
                )
                .await;
                check(
                    &new[0],
                    &Expect {
                        action: "invitation.sent",
                        actor: &owner_email,
                        target: "form-invited@example.com",
                        details: json!({"role": "REVIEWER"}),
                    },
                    what,
                );
                invited_id = new[0].target.id.unwrap();
            }
            "invites/resend" => {
                assert!(invited_id > 0, "invites/send runs before invites/resend");
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "invitation.resent",
                        actor: &owner_email,
                        target: "form-invited@example.com",
                        details: json!({"role": "REVIEWER"}),
                    },
                    call(app.client.clone(), vec![("id", invited_id.to_string())]),
                )
                .await;
            }
            "invites/revoke" => {
                assert!(invited_id > 0, "invites/send runs before invites/revoke");
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "invitation.revoked",
                        actor: &owner_email,
                        target: "form-invited@example.com",
                        details: json!({}),
                    },
                    call(app.client.clone(), vec![("id", invited_id.to_string())]),
                )
                .await;
            }
            "members/change_role" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.deactivated",
                        actor: &owner_email,
                        target: &role_member.email,
                        details: json!({"from": "REVIEWER", "to": "DEACTIVATED"}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("user_id", role_member.id.to_string()),
                            ("role", "DEACTIVATED".into()),
                        ],
                    ),
                )
                .await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    "restoring",
                    Expect {
                        action: "member.restored",
                        actor: &owner_email,
                        target: &role_member.email,
                        details: json!({"from": "DEACTIVATED", "to": "ANNOTATOR"}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("user_id", role_member.id.to_string()),
                            ("role", "ANNOTATOR".into()),
                        ],
                    ),
                )
                .await;
            }
            "members/remove" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "member.removed",
                        actor: &owner_email,
                        target: &removed[1].email,
                        details: json!({"role": "NOT_ACTIVATED"}),
                    },
                    call(
                        app.client.clone(),
                        vec![("user_id", removed[1].id.to_string())],
                    ),
                )
                .await;
            }
            "members/transfer_ownership" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "ownership.transferred",
                        actor: &owner_email,
                        target: &admin.email,
                        details: json!({"from_email": owner_email}),
                    },
                    call(
                        app.client.clone(),
                        vec![
                            ("email", admin.email.clone()),
                            ("password", PASSWORD.into()),
                        ],
                    ),
                )
                .await;
            }
            "password_reset/request" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password_reset.requested",
                        actor: "system",
                        target: &reset_member.email,
                        details: json!({}),
                    },
                    call(new_client(), vec![("email", reset_member.email.clone())]),
                )
                .await;
            }
            "password_reset/confirm" => {
                // The REST request sent the first mail; the form's request the second.
                let token = reset_token_in_mail(&app, &reset_member.email, 2).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password_reset.completed",
                        actor: &reset_member.email,
                        target: &reset_member.email,
                        details: json!({}),
                    },
                    call(
                        new_client(),
                        vec![("token", token), ("password", "reset by form 1".into())],
                    ),
                )
                .await;
            }
            "members/send_password_reset" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password_reset.requested",
                        actor: &owner_email,
                        target: &self_member.email,
                        details: json!({}),
                    },
                    call(
                        app.client.clone(),
                        vec![("user_id", self_member.id.to_string())],
                    ),
                )
                .await;
            }
            // The Owner signed up without a link: their address is not verified yet.
            "verification/resend" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "email.verification_sent",
                        actor: &owner_email,
                        target: &owner_email,
                        details: json!({}),
                    },
                    call(app.client.clone(), vec![]),
                )
                .await;
            }
            "verification/confirm" => {
                // Signing up sent the first link; the resend above the second, which ended it.
                let token = app.wait_for_verification_to(&owner_email, 2).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "email.verified",
                        actor: &owner_email,
                        target: &owner_email,
                        details: json!({}),
                    },
                    call(new_client(), vec![("token", token)]),
                )
                .await;
            }
            "verification/disown" => {
                let token = app.wait_for_verification_to(&disowned.email, 1).await;
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "email.verification_disowned",
                        actor: "system",
                        target: &disowned.email,
                        details: json!({"deleted": true}),
                    },
                    call(new_client(), vec![("token", token)]),
                )
                .await;
            }
            other => {
                panic!("{other} changes state but the audit completeness test has no row for it")
            }
        }
    }

    // Every command of the server administrator that changes something.
    let commands: Vec<String> = gatehouse::server::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|c| !READ_ONLY_COMMANDS.contains(&c.as_str()))
        .collect();
    let org_arg = org.to_string();
    for command in &commands {
        let what = command.as_str();
        let run = |args: Vec<&str>, stdin: &str| {
            let (ok, out) = app.cli(&args, stdin);
            assert!(ok, "{what}: {out}");
        };
        match what {
            "create-owner" => {
                run(
                    vec![
                        "create-owner",
                        "--email",
                        "cli-owner@example.com",
                        "--password-stdin",
                    ],
                    "cli owner password\n",
                );
                let client = new_client();
                ok(app
                    .log_in_with(&client, "cli-owner@example.com", "cli owner password")
                    .await)
                .await;
                let token = app.token(&client).await;
                let other = app.organization(&token).await.id;
                let log = entries(&app, &token, other).await;
                check(
                    &log[0],
                    &Expect {
                        action: "organization.created",
                        actor: "cli",
                        target: "cli-owner@example.com",
                        details: json!({"owner_email": "cli-owner@example.com"}),
                    },
                    what,
                );
                check(
                    &log[1],
                    &Expect {
                        action: "signin.succeeded",
                        actor: "cli-owner@example.com",
                        target: "cli-owner@example.com",
                        details: json!({}),
                    },
                    what,
                );
                assert_intact(&app, other, 2);
            }
            "transfer-ownership" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "ownership.transferred",
                        actor: "cli",
                        target: &owner_email,
                        details: json!({"from_email": admin.email}),
                    },
                    async {
                        run(
                            vec![
                                "transfer-ownership",
                                "--org",
                                &org_arg,
                                "--to",
                                &owner_email,
                            ],
                            "",
                        )
                    },
                )
                .await;
            }
            "reset-password" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "password.changed",
                        actor: "cli",
                        target: &reset_member.email,
                        details: json!({}),
                    },
                    async {
                        run(
                            vec![
                                "reset-password",
                                "--email",
                                &reset_member.email,
                                "--password-stdin",
                            ],
                            "set by the cli\n",
                        )
                    },
                )
                .await;
            }
            "set-seats" => {
                expect_entry(
                    &app,
                    &owner,
                    org,
                    what,
                    Expect {
                        action: "seats.changed",
                        actor: "cli",
                        target: "Renamed by form",
                        details: json!({"from": null, "to": 40}),
                    },
                    async { run(vec!["set-seats", "--org", &org_arg, "--seats", "40"], "") },
                )
                .await;
            }
            other => panic!("the command {other} is not known to the audit completeness test"),
        }
    }

    // Everything above forms one chain, and every entry has its client address.
    let log = entries(&app, &owner, org).await;
    assert_intact(&app, org, log.len());
    assert!(log
        .iter()
        .filter(|e| e.actor.kind != "cli")
        .all(|e| e.client_address == "127.0.0.1"));
    let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=log.len() as i64).collect::<Vec<_>>());
}

async fn failed_sign_ins_and_lockouts_of_members_are_logged(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Annotator).await;
    // The Owner of another organization: their failures go to its log.
    ok(app
        .sign_up_with(&new_client(), "loner@example.com", PASSWORD)
        .await)
    .await;
    let before = head(&app, org).await;
    for failures in 1..=3 {
        let res = app
            .log_in_with(&new_client(), &member.email, "wrong password")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // Recorded after the answer (which must not wait for it).
        let written = if failures == 3 { 4 } else { failures };
        eventually("the failure in the log", || async {
            (entries(&app, &owner, org)
                .await
                .iter()
                .filter(|e| e.seq > before)
                .count()
                >= written)
                .then_some(())
        })
        .await;
    }
    // Locked out now: refused before any password is checked, and not logged again.
    let res = app
        .log_in_with(&new_client(), &member.email, "wrong password")
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Nobody's account: no log at all.
    let res = app
        .log_in_with(&new_client(), "nobody@example.com", "wrong password")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let new: Vec<AuditEntryView> = entries(&app, &owner, org)
        .await
        .into_iter()
        .filter(|e| e.seq > before)
        .collect();
    let actions: Vec<&str> = new.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "signin.failed",
            "signin.failed",
            "signin.failed",
            "signin.locked_out"
        ]
    );
    for entry in &new[..3] {
        check(
            entry,
            &Expect {
                action: "signin.failed",
                actor: "system",
                target: &member.email,
                details: json!({}),
            },
            "failure",
        );
        assert_eq!(entry.target.id, Some(member.id));
        assert_eq!(entry.client_address, "127.0.0.1");
    }
    check(
        &new[3],
        &Expect {
            action: "signin.locked_out",
            actor: "system",
            target: &member.email,
            details: json!({"failures": 3, "minutes": 15}),
        },
        "lockout",
    );
    assert!(new[3].summary.contains("locked out"), "{}", new[3].summary);
    // The other organization's log holds only its creation.
    let loner_client = new_client();
    ok(app
        .log_in_with(&loner_client, "loner@example.com", PASSWORD)
        .await)
    .await;
    let loner_token = app.token(&loner_client).await;
    let loner_org = app.organization(&loner_token).await.id;
    let res = app
        .log_in_with(&new_client(), "loner@example.com", "wrong password")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let actions: Vec<String> = eventually("the failure in the other log", || async {
        let log = entries(&app, &loner_token, loner_org).await;
        (log.len() >= 3).then(|| log.into_iter().map(|e| e.action).collect())
    })
    .await;
    assert_eq!(
        actions,
        ["organization.created", "signin.succeeded", "signin.failed"]
    );
    assert_intact(&app, org, entries(&app, &owner, org).await.len());
}

async fn concurrent_role_changes_and_invitations_keep_one_intact_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let members = app.insert_members_directly(org, 25, Role::Annotator).await;
    let mut tasks = Vec::new();
    for (i, id) in members.iter().enumerate() {
        let (address, token, id) = (app.address.clone(), owner.clone(), *id);
        tasks.push(tokio::spawn(async move {
            let res = new_client()
                .patch(format!("{address}/api/organizations/{org}/memberships"))
                .header(header::AUTHORIZATION, format!("Token {token}"))
                .json(&json!({"user_id": id, "role": "REVIEWER"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{}",
                res.text().await.unwrap()
            );
        }));
        let (address, token) = (app.address.clone(), owner.clone());
        tasks.push(tokio::spawn(async move {
            let res = new_client()
                .post(format!("{address}/api/invite/send-email"))
                .header(header::AUTHORIZATION, format!("Token {token}"))
                .json(&json!({"emails": [format!("race-{i}@example.com")], "role": "ANNOTATOR"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{}",
                res.text().await.unwrap()
            );
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let log = entries(&app, &owner, org).await;
    // The creation, the owner's sign-in is not one (signup signs in without an entry), 25 role
    // changes and 25 invitations.
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "member.role_changed")
            .count(),
        25
    );
    assert_eq!(
        log.iter().filter(|e| e.action == "invitation.sent").count(),
        25
    );
    assert_eq!(
        log.len(),
        51,
        "{:?}",
        log.iter().map(|e| &e.action).collect::<Vec<_>>()
    );
    assert_intact(&app, org, 51);
}

/// Reads one column of an entry as text (for restoring it), by the entry's id.
async fn column(app: &TestApp, id: i64, column: &str) -> String {
    sqlx::query_scalar(&format!("SELECT {column} FROM audit_log WHERE id = $1"))
        .bind(id)
        .fetch_one(app.db().pool())
        .await
        .unwrap()
}

async fn execute(app: &TestApp, sql: &str, id: i64) {
    sqlx::query(sql)
        .bind(id)
        .execute(app.db().pool())
        .await
        .unwrap();
}

async fn edited_deleted_or_swapped_rows_break_the_chain_at_the_entry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for title in ["One", "Two", "Three", "Four"] {
        ok(app
            .api(Method::PATCH, "/api/organization/", &owner)
            .json(&json!({"title": title}))
            .send()
            .await)
        .await;
    }
    let log = entries(&app, &owner, org).await;
    assert_eq!(log.len(), 5);
    assert_intact(&app, org, 5);
    let (second, third) = (log[1].id, log[2].id);

    // An edited field.
    let label = column(&app, third, "target_label").await;
    execute(
        &app,
        "UPDATE audit_log SET target_label = 'Someone else' WHERE id = $1",
        third,
    )
    .await;
    let (ok_, out) = verify(&app, org);
    assert!(!ok_, "{out}");
    assert!(
        out.contains(&format!("entry {third} (#3) was altered")),
        "{out}"
    );
    sqlx::query("UPDATE audit_log SET target_label = $1 WHERE id = $2")
        .bind(&label)
        .bind(third)
        .execute(app.db().pool())
        .await
        .unwrap();
    assert_intact(&app, org, 5);

    // An edited time.
    execute(
        &app,
        "UPDATE audit_log SET created_at = created_at - 3600 WHERE id = $1",
        second,
    )
    .await;
    let (ok_, out) = verify(&app, org);
    assert!(
        !ok_ && out.contains(&format!("entry {second} (#2) was altered")),
        "{out}"
    );
    execute(
        &app,
        "UPDATE audit_log SET created_at = created_at + 3600 WHERE id = $1",
        second,
    )
    .await;
    assert_intact(&app, org, 5);

    // Two rows swapped: their places (ids) exchanged.
    execute(&app, "UPDATE audit_log SET id = -1 WHERE id = $1", second).await;
    execute(
        &app,
        &format!("UPDATE audit_log SET id = {second} WHERE id = $1"),
        third,
    )
    .await;
    execute(
        &app,
        &format!("UPDATE audit_log SET id = {third} WHERE id = $1"),
        -1,
    )
    .await;
    let (ok_, out) = verify(&app, org);
    assert!(!ok_, "{out}");
    assert!(
        out.contains(&format!("entry {second} (#3)")) && out.contains("#2"),
        "{out}"
    );
    execute(&app, "UPDATE audit_log SET id = -1 WHERE id = $1", second).await;
    execute(
        &app,
        &format!("UPDATE audit_log SET id = {second} WHERE id = $1"),
        third,
    )
    .await;
    execute(
        &app,
        &format!("UPDATE audit_log SET id = {third} WHERE id = $1"),
        -1,
    )
    .await;
    assert_intact(&app, org, 5);

    // Two rows' contents swapped, places kept.
    execute(&app, "UPDATE audit_log SET seq = -3 WHERE id = $1", third).await;
    execute(&app, "UPDATE audit_log SET seq = 3 WHERE id = $1", second).await;
    execute(&app, "UPDATE audit_log SET seq = 2 WHERE id = $1", third).await;
    let (ok_, out) = verify(&app, org);
    assert!(
        !ok_ && out.contains(&format!("entry {second} (#3)")),
        "{out}"
    );
    execute(&app, "UPDATE audit_log SET seq = -2 WHERE id = $1", third).await;
    execute(&app, "UPDATE audit_log SET seq = 2 WHERE id = $1", second).await;
    execute(&app, "UPDATE audit_log SET seq = 3 WHERE id = $1", third).await;
    assert_intact(&app, org, 5);

    // A row deleted from the middle, then the newest one.
    execute(&app, "DELETE FROM audit_log WHERE id = $1", third).await;
    let (ok_, out) = verify(&app, org);
    assert!(!ok_, "{out}");
    assert!(out.contains("#3 was deleted"), "{out}");
    let app2 = TestApp::spawn(backend).await;
    app2.sign_up().await;
    let token2 = app2.token(&app2.client).await;
    let org2 = app2.org_id().await;
    ok(app2
        .api(Method::PATCH, "/api/organization/", &token2)
        .json(&json!({"title": "Renamed"}))
        .send()
        .await)
    .await;
    assert_intact(&app2, org2, 2);
    let newest = entries(&app2, &token2, org2).await[1].id;
    execute(&app2, "DELETE FROM audit_log WHERE id = $1", newest).await;
    let (ok_, out) = verify(&app2, org2);
    assert!(!ok_ && out.contains("newest entries were deleted"), "{out}");
}

async fn the_log_filters_and_pages_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Annotator).await;
    for i in 0..52 {
        let title = format!("Title {i}");
        ok(app
            .api(Method::PATCH, "/api/organization/", &owner)
            .json(&json!({"title": title}))
            .send()
            .await)
        .await;
    }
    app.set_role(member.id, Role::Reviewer).await;
    let page = |query: String| {
        let (app, owner) = (&app, &owner);
        async move {
            app.api(
                Method::GET,
                &format!("/api/organizations/{org}/audit-log?{query}"),
                owner,
            )
            .json_ok::<AuditPage>()
            .await
        }
    };
    let all = page(String::new()).await;
    // created, invited, accepted, 52 renames, the role change.
    assert_eq!(all.count, 56);
    assert_eq!((all.page, all.page_size, all.results.len()), (1, 50, 50));
    assert_eq!(all.results[0].action, "member.role_changed");
    assert!(
        all.results.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    let second = page("page=2".into()).await;
    assert_eq!(second.results.len(), 6);
    assert_eq!(
        second.results.last().unwrap().action,
        "organization.created"
    );
    let small = page("page=3&page_size=5".into()).await;
    assert_eq!(small.results.len(), 5);
    assert_eq!(small.results[0].seq, all.results[10].seq);
    assert!(page("page=9".into()).await.results.is_empty());

    let renamed = page("action=organization.renamed".into()).await;
    assert_eq!(renamed.count, 52);
    assert!(renamed
        .results
        .iter()
        .all(|e| e.action == "organization.renamed"));
    let by_member = page(format!("actor={}", member.email.to_uppercase())).await;
    assert_eq!(by_member.count, 1, "the member accepted their invitation");
    assert_eq!(by_member.results[0].action, "invitation.accepted");
    let by_owner = page(format!("actor={owner_email}&action=member.role_changed")).await;
    assert_eq!(by_owner.count, 1);
    assert_eq!(
        by_owner.results[0].summary,
        format!(
            "{owner_email} changed {} from Annotator to Reviewer",
            member.email
        )
    );
    assert_eq!(page("actor=cli".into()).await.count, 0);
    assert_eq!(page("actor=%25".into()).await.count, 0, "% is literal");

    let now = gatehouse::domain::format_timestamp(app.now());
    let today = &now[..10];
    assert_eq!(page(format!("since={today}&until={today}")).await.count, 56);
    assert_eq!(page("until=2000-01-01".into()).await.count, 0);
    assert_eq!(page("since=2999-01-01T00:00:00Z".into()).await.count, 0);
    // A time with an offset reads as that moment.
    let later = page(format!("since={}", now.replace('Z', "%2B00:00"))).await;
    assert!(later.count <= 56);

    // The page shows the same lines to the Owner.
    let res = app
        .client
        .get(app.url("/organization/activity"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "{owner_email} changed {} from Annotator to Reviewer",
            member.email
        )),
        "{html}"
    );
    assert!(html.contains("Showing 1–50 of 56"), "{html}");
    // Others get the Organization page's refusal.
    let res = member
        .client
        .get(app.url("/organization/activity"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = member
        .client
        .get(app.url("/organization"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn bad_filters_are_clear_400s(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for (query, field) in [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("action=member.nope", "action"),
        ("action=", "action"),
        ("since=yesterday", "since"),
        ("since=2026-02-30", "since"),
        ("until=2026-11-01T25:00", "until"),
        ("since=2026-11-02&until=2026-11-01", "until"),
    ] {
        for path in [
            format!("/api/organizations/{org}/audit-log?{query}"),
            format!("/api/organizations/{org}/audit-log.csv?{query}"),
        ] {
            if path.contains(".csv") && field.starts_with("page") {
                continue;
            }
            let res = app.api(Method::GET, &path, &owner).send().await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
            let body: Value = res.json().await.unwrap();
            assert!(
                body["validation_errors"].get(field).is_some(),
                "{path}: {body}"
            );
        }
    }
    let long = "a".repeat(255);
    let res = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?actor={long}"),
            &owner,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, doubled
/// quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = vec![];
    let mut record = vec![];
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

async fn the_csv_export_quotes_commas_quotes_and_line_breaks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    // Titles cannot hold a line break through the app (it refuses control characters); one made
    // before that rule, straight in the database, is what the log then quotes.
    let title = "Acme, \"Labs\"\nEast";
    sqlx::query("UPDATE organizations SET title = $1 WHERE id = $2")
        .bind(title)
        .bind(org)
        .execute(app.db().pool())
        .await
        .unwrap();
    ok(app
        .api(Method::POST, "/api/invite/reset-token", &owner)
        .send()
        .await)
    .await;
    ok(app
        .api(Method::PATCH, "/api/organization/", &owner)
        .json(&json!({"title": "Plain, \"quoted\""}))
        .send()
        .await)
    .await;
    let res = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log.csv"),
            &owner,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = res.text().await.unwrap();
    assert!(text.contains("\"Acme, \"\"Labs\"\"\nEast\""), "{text}");
    let records = parse_csv(&text);
    assert_eq!(records.len(), 4, "{text}");
    let columns = &records[0];
    assert_eq!(columns[0], "id");
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
    assert!(
        records.iter().all(|r| r.len() == columns.len()),
        "{records:?}"
    );
    assert_eq!(records[1][at("action")], "organization.renamed");
    assert_eq!(records[1][at("target")], "Plain, \"quoted\"");
    let details: Value = serde_json::from_str(&records[1][at("details")]).unwrap();
    assert_eq!(details["from"], title);
    assert_eq!(records[2][at("action")], "invite_link.reset");
    assert_eq!(records[2][at("target")], title);
    assert_eq!(records[3][at("action")], "organization.created");
    // Filters apply to the export too.
    let text = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log.csv?action=invite_link.reset"),
            &owner,
        )
        .send()
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(parse_csv(&text).len(), 2, "{text}");
    // Compressed, as a browser or schemathesis asks for it, the download ends cleanly (the
    // compression layer polls the body once more after its end).
    let res = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log.csv"),
            &owner,
        )
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = res.bytes().await.expect("the whole compressed download");
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a gzip stream");
    // Many more than one slice of the export, all of them, newest first.
    for _ in 0..7 {
        ok(app
            .api(Method::POST, "/api/invite/reset-token", &owner)
            .send()
            .await)
        .await;
    }
    let mut change = Change::to_organization(&app.state, org).await.unwrap();
    for i in 0..1100 {
        change.record(audit::Event::new(
            audit::Actor::System,
            gatehouse::domain::Action::SignInFailed,
            audit::Target::User {
                id: i,
                email: format!("u{i}@example.com"),
            },
        ));
    }
    change.commit().await.unwrap();
    let text = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log.csv"),
            &owner,
        )
        .send()
        .await
        .text()
        .await
        .unwrap();
    let records = parse_csv(&text);
    assert_eq!(records.len(), 1 + 3 + 7 + 1100);
    let seqs: Vec<i64> = records[1..].iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] == w[1] + 1),
        "every entry once, newest first"
    );
    assert_intact(&app, org, 1110);
}

async fn retention_prunes_old_entries_and_the_rest_still_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for title in ["Old one", "Old two"] {
        ok(app
            .api(Method::PATCH, "/api/organization/", &owner)
            .json(&json!({"title": title}))
            .send()
            .await)
        .await;
    }
    let old = entries(&app, &owner, org).await;
    assert_eq!(old.len(), 3);
    // An hour later, newer entries.
    app.advance(std::time::Duration::from_secs(60 * 60));
    let newer_at = app.now();
    for title in ["New one", "New two"] {
        ok(app
            .api(Method::PATCH, "/api/organization/", &owner)
            .json(&json!({"title": title}))
            .send()
            .await)
        .await;
    }
    // Keep one day: a day after the newer entries minus a second, only the old ones are older.
    let pruned = audit::prune(app.db(), 1, newer_at + 86_400 - 1)
        .await
        .unwrap();
    assert_eq!(pruned, 3);
    let left = entries(&app, &owner, org).await;
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    assert_intact(&app, org, 2);
    // Pruning again deletes nothing; new entries extend the chain.
    assert_eq!(
        audit::prune(app.db(), 1, newer_at + 86_400 - 1)
            .await
            .unwrap(),
        0
    );
    ok(app
        .api(Method::PATCH, "/api/organization/", &owner)
        .json(&json!({"title": "Newest"}))
        .send()
        .await)
    .await;
    assert_intact(&app, org, 3);
    // Tampering with what is left is still caught, at the first kept entry too.
    let first_kept = left[0].id;
    execute(
        &app,
        "UPDATE audit_log SET actor_email = 'x@example.com' WHERE id = $1",
        first_kept,
    )
    .await;
    let (ok_, out) = verify(&app, org);
    assert!(
        !ok_ && out.contains(&format!("entry {first_kept} (#4) was altered")),
        "{out}"
    );
    // Everything can go, and the chain goes on from the anchor.
    execute(&app, "UPDATE audit_log SET actor_email = (SELECT email FROM users ORDER BY id LIMIT 1) WHERE id = $1", first_kept).await;
    assert_intact(&app, org, 3);
    assert_eq!(
        audit::prune(app.db(), 1, app.now() + 2 * 86_400)
            .await
            .unwrap(),
        3
    );
    assert_intact(&app, org, 0);
    ok(app
        .api(Method::PATCH, "/api/organization/", &owner)
        .json(&json!({"title": "After"}))
        .send()
        .await)
    .await;
    assert_intact(&app, org, 1);
    // The server prunes by itself when the setting is on (at start, then daily).
    let app = TestApp::spawn_with(backend, |c| c.audit_retention_days = Some(1)).await;
    app.sign_up().await;
    let org = app.org_id().await;
    assert_intact(&app, org, 1);
}

/// `gatehouse audit seats --org ORG --at AT`: the count line and the holders.
fn seats_then(app: &TestApp, org: i64, at: i64) -> (usize, Vec<String>) {
    let at = gatehouse::domain::format_timestamp(at);
    let (ok, out) = app.cli(
        &["audit", "seats", "--org", &org.to_string(), "--at", &at],
        "",
    );
    assert!(ok, "{out}");
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    let used: usize = first
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    (used, lines.map(str::to_owned).collect())
}

async fn the_seat_history_matches_the_seats_counted_then(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    // The command line keeps the system's time, so the app's clock is left with it here and the
    // test waits for the next second after each moment.
    let tick = || async {
        let moment = app.now();
        eventually("the next second", || async {
            (app.now() > moment).then_some(())
        })
        .await
    };
    let mut moments = vec![];
    let mut snapshot = |used: i64| moments.push((app.now(), used));

    let annotator = app.add_member(Role::Annotator).await;
    let pending = app.add_member(Role::NotActivated).await;
    app.invite(
        &owner,
        &["waiting@example.com", "revoked@example.com"],
        Role::Reviewer,
    )
    .await;
    snapshot(app.organization(&owner).await.seats.used);
    tick().await;
    app.set_role(annotator.id, Role::Deactivated).await;
    app.set_role(pending.id, Role::Manager).await;
    ok(app
        .api(Method::POST, "/api/invite/revoke", &owner)
        .json(&json!({"email": "revoked@example.com"}))
        .send()
        .await)
    .await;
    let (ok_, out) = app.cli(
        &["set-seats", "--org", &org.to_string(), "--seats", "9"],
        "",
    );
    assert!(ok_, "{out}");
    snapshot(app.organization(&owner).await.seats.used);
    tick().await;
    let admin = app.add_member(Role::Administrator).await;
    let (ok_, out) = app.cli(
        &[
            "transfer-ownership",
            "--org",
            &org.to_string(),
            "--to",
            &admin.email,
        ],
        "",
    );
    assert!(ok_, "{out}");
    let path = format!("/api/organizations/{org}/memberships/{}", pending.id);
    ok(app.api(Method::DELETE, &path, &owner).send().await).await;
    snapshot(app.organization(&owner).await.seats.used);
    tick().await;

    for (at, used) in &moments {
        assert_eq!(seats_then(&app, org, *at).0, *used as usize, "at {at}");
    }
    let (used, holders) = seats_then(&app, org, moments[0].0);
    assert_eq!(used, 4);
    assert!(
        holders
            .iter()
            .any(|l| l.starts_with(&owner_email) && l.ends_with("Owner")),
        "{holders:?}"
    );
    assert!(holders
        .iter()
        .any(|l| l.starts_with(&annotator.email) && l.ends_with("Annotator")));
    assert!(holders
        .iter()
        .any(|l| l.starts_with("revoked@example.com") && l.contains("invitation")));
    assert!(
        !holders.iter().any(|l| l.starts_with(&pending.email)),
        "Pending takes no seat"
    );
    let (_, holders) = seats_then(&app, org, moments[2].0);
    assert!(
        holders
            .iter()
            .any(|l| l.starts_with(&admin.email) && l.ends_with("Owner")),
        "{holders:?}"
    );
    assert!(holders
        .iter()
        .any(|l| l.starts_with(&owner_email) && l.ends_with("Administrator")));
    let (ok_, out) = app.cli(
        &[
            "audit",
            "seats",
            "--org",
            &org.to_string(),
            "--at",
            "2026-11-01",
        ],
        "",
    );
    assert!(ok_ && out.contains("at 2026-11-01T00:00:00Z"), "{out}");
    let (ok_, out) = app.cli(
        &["audit", "seats", "--org", &org.to_string(), "--at", "soon"],
        "",
    );
    assert!(!ok_ && out.contains("--at"), "{out}");
    let (ok_, out) = app.cli(
        &["audit", "seats", "--org", "999999", "--at", "2026-11-01"],
        "",
    );
    assert!(
        !ok_ && out.contains("no organization with id 999999"),
        "{out}"
    );
    let (ok_, out) = app.cli(&["audit", "verify", "--org", "999999"], "");
    assert!(
        !ok_ && out.contains("no organization with id 999999"),
        "{out}"
    );
}

async fn a_thousand_address_invitation_writes_its_entries_in_one_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let emails: Vec<String> = (0..1000).map(|i| format!("bulk-{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let results = app.invite(&owner, &refs, Role::Annotator).await;
    assert_eq!(results.len(), 1000);
    let log = entries(&app, &owner, org).await;
    assert_eq!(log.len(), 1001);
    assert!(log[1..].iter().all(|e| e.action == "invitation.sent"));
    assert_eq!(log[1].target.label, "bulk-0@example.com");
    assert_eq!(log[1000].target.label, "bulk-999@example.com");
    // In one transaction: every entry has the same time.
    assert!(log[1..].iter().all(|e| e.created_at == log[1].created_at));
    assert_intact(&app, org, 1001);
}
