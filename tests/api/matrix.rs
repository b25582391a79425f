//! The authorization matrix: every REST endpoint and server function, called as an anonymous
//! visitor, as each of the seven roles, and as a member of another organization, against the
//! outcome it must have. A REST endpoint in the OpenAPI document, or a server function the app
//! registers, without a row here fails the test.

use std::collections::BTreeSet;

use gatehouse::domain::Role;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(every_endpoint_answers_every_caller_as_it_must);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Anonymous,
    Owner,
    Administrator,
    Manager,
    Reviewer,
    Annotator,
    Pending,
    Deactivated,
    OtherOrganization,
    /// The Owner and an Annotator with an access token made from their personal access token
    /// (`Authorization: Bearer`), and no session.
    OwnerBearer,
    AnnotatorBearer,
}

use Caller::*;

const CALLERS: [Caller; 11] = [
    Anonymous,
    Owner,
    Administrator,
    Manager,
    Reviewer,
    Annotator,
    Pending,
    Deactivated,
    OtherOrganization,
    OwnerBearer,
    AnnotatorBearer,
];

/// A session id nobody has.
const NO_SESSION: &str = "0000000000000000";

/// The fields of a server function call.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// Who may: the expected status for each caller.
#[derive(Clone, Copy)]
enum Rule {
    /// Anyone, signed in or not.
    Public(u16),
    /// Any member who may use their organization (the other organization's too).
    Active,
    /// Owner and Administrator (of their own organization); `ok` is their status.
    Admins(u16),
    /// Active members of the addressed organization; the other organization gets 404.
    ActiveHere,
    /// Owner and Administrator of the addressed organization; the other organization gets 404.
    AdminsHere(u16),
    /// Only the Owner; `ok` is their status.
    OwnerOnly(u16),
    /// Any signed-in account that is not deactivated, Pending members included.
    SignedIn,
    /// The same callers as `SignedIn`; `ok` is their status.
    SignedInWith(u16),
    /// The same callers as `SignedIn`, answered by whether their address is verified: the
    /// members who joined by email invitation are, the Owners who signed up and the Pending
    /// member who joined through the link are not.
    ByVerification { verified: u16, unverified: u16 },
    /// Any active member, answered `ok`.
    ActiveWith(u16),
    /// Making a personal access token: the Owner and the Annotator hold one already (409).
    NewToken,
}

fn expected(rule: Rule, caller: Caller) -> u16 {
    // A Bearer caller may do what the member does with a session.
    let caller = match caller {
        OwnerBearer => Owner,
        AnnotatorBearer => Annotator,
        c => c,
    };
    let active = !matches!(caller, Anonymous | Pending | Deactivated);
    let admin = matches!(caller, Owner | Administrator | OtherOrganization);
    match (rule, caller) {
        (Rule::Public(code), _) => code,
        // Deactivation ended the member's session: they are signed out.
        (_, Anonymous | Deactivated) => 401,
        (Rule::SignedIn, _) => 200,
        (Rule::SignedInWith(ok), _) => ok,
        (
            Rule::ByVerification {
                verified,
                unverified,
            },
            _,
        ) => {
            if matches!(caller, Owner | Pending | OtherOrganization) {
                unverified
            } else {
                verified
            }
        }
        (_, Pending) => 403,
        (Rule::Active, _) => 200,
        (Rule::ActiveWith(ok), _) => ok,
        (Rule::NewToken, Owner | Annotator) => 409,
        (Rule::NewToken, _) => 201,
        (Rule::Admins(ok), _) => {
            if admin {
                ok
            } else {
                403
            }
        }
        (Rule::ActiveHere, OtherOrganization) | (Rule::AdminsHere(_), OtherOrganization) => 404,
        (Rule::ActiveHere, _) => {
            if active {
                200
            } else {
                403
            }
        }
        (Rule::AdminsHere(ok), _) => {
            if admin {
                ok
            } else {
                403
            }
        }
        // The other organization's caller is the Owner of their own.
        (Rule::OwnerOnly(ok), _) => {
            if matches!(caller, Owner | OtherOrganization) {
                ok
            } else {
                403
            }
        }
    }
}

async fn every_endpoint_answers_every_caller_as_it_must(backend: Backend) {
    // Every caller tries the same wrong login: no lockout here (the abuse tests have their own).
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 1000).await;
    app.sign_up().await;
    let owner = app.client.clone();
    let org_id = app.org_id().await;
    // A member whose role the role-changing calls toggle.
    let target_id = app.add_member(Role::Annotator).await.id;

    let mut clients: Vec<(Caller, Client)> =
        vec![(Anonymous, new_client()), (Owner, owner.clone())];
    let mut annotator = None;
    for (caller, role) in [
        (Administrator, Role::Administrator),
        (Manager, Role::Manager),
        (Reviewer, Role::Reviewer),
        (Annotator, Role::Annotator),
        (Pending, Role::NotActivated),
        (Deactivated, Role::Deactivated),
    ] {
        let member = app.add_member(role).await;
        if caller == Annotator {
            annotator = Some(member.client.clone());
        }
        clients.push((caller, member.client));
    }
    let other = new_client();
    assert_eq!(
        app.sign_up_with(&other, "elsewhere@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    clients.push((OtherOrganization, other));
    // Last: with their access tokens they end the sessions the callers before them use.
    clients.push((OwnerBearer, bearer_client(&app.access_token(&owner).await)));
    let annotator = annotator.expect("an Annotator was added");
    clients.push((
        AnnotatorBearer,
        bearer_client(&app.access_token(&annotator).await),
    ));
    assert_eq!(clients.len(), CALLERS.len());

    let here = format!("/api/organizations/{org_id}");
    let memberships = format!("{here}/memberships");
    let user = target_id.to_string();
    // (method, path, body, rule); state-changing calls that would end the caller's session come last.
    let saml_metadata = crate::saml::idp_metadata();
    let rest: Vec<(Method, String, Value, Rule)> = vec![
        (
            Method::GET,
            "/health".into(),
            json!(null),
            Rule::Public(200),
        ),
        (
            Method::GET,
            "/api/openapi.json".into(),
            json!(null),
            Rule::Public(200),
        ),
        (
            Method::GET,
            "/api/organization/".into(),
            json!(null),
            Rule::Active,
        ),
        (
            Method::PATCH,
            "/api/organization/".into(),
            json!({"title": "Renamed"}),
            Rule::Admins(200),
        ),
        (Method::GET, here.clone(), json!(null), Rule::ActiveHere),
        (
            Method::PATCH,
            here.clone(),
            json!({"title": "Renamed"}),
            Rule::AdminsHere(200),
        ),
        (
            Method::GET,
            memberships.clone(),
            json!(null),
            Rule::AdminsHere(200),
        ),
        (
            Method::PATCH,
            memberships.clone(),
            json!({"user_id": target_id, "role": "REVIEWER"}),
            Rule::AdminsHere(200),
        ),
        (
            Method::GET,
            format!("{here}/audit-log"),
            json!(null),
            Rule::AdminsHere(200),
        ),
        (
            Method::GET,
            format!("{here}/audit-log.csv"),
            json!(null),
            Rule::AdminsHere(200),
        ),
        (
            Method::GET,
            format!("{here}/two-factor-policy"),
            json!(null),
            Rule::AdminsHere(200),
        ),
        // Only the grace period: an Administrator may change it (not SSO's exemption).
        (
            Method::PATCH,
            format!("{here}/two-factor-policy"),
            json!({"grace_period_days": 10}),
            Rule::AdminsHere(200),
        ),
        // Nobody with this id is a member anywhere: admins find no such member.
        (
            Method::DELETE,
            format!("{memberships}/999999"),
            json!(null),
            Rule::AdminsHere(404),
        ),
        (
            Method::DELETE,
            format!("{memberships}/999999/two-factor"),
            json!(null),
            Rule::AdminsHere(404),
        ),
        (
            Method::GET,
            format!("{memberships}/999999"),
            json!(null),
            Rule::AdminsHere(404),
        ),
        (
            Method::GET,
            format!("{memberships}/999999/"),
            json!(null),
            Rule::AdminsHere(404),
        ),
        (
            Method::DELETE,
            format!("{memberships}/999999/"),
            json!(null),
            Rule::AdminsHere(404),
        ),
        (
            Method::GET,
            "/api/organizations/".into(),
            json!(null),
            Rule::Active,
        ),
        (
            Method::GET,
            "/api/users/".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::GET,
            "/api/users/999999/".into(),
            json!(null),
            Rule::Admins(404),
        ),
        (
            Method::GET,
            "/api/activity-logs/".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (Method::GET, "/api/token/".into(), json!(null), Rule::Active),
        (
            Method::POST,
            "/api/token/".into(),
            json!(null),
            Rule::NewToken,
        ),
        (
            Method::POST,
            "/api/token/refresh/".into(),
            json!({"refresh": "not-a-token"}),
            Rule::Public(401),
        ),
        (
            Method::POST,
            "/api/token/rotate/".into(),
            json!({"refresh": "not-a-token"}),
            Rule::Public(401),
        ),
        (
            Method::POST,
            "/api/token/blacklist/".into(),
            json!({"refresh": "not-a-token"}),
            Rule::Public(401),
        ),
        (
            Method::GET,
            "/api/jwt/settings".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/jwt/settings".into(),
            json!({"api_token_ttl_days": 30}),
            Rule::Admins(200),
        ),
        (
            Method::GET,
            "/api/saml/settings".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/saml/settings".into(),
            json!({"metadata_xml": saml_metadata}),
            Rule::OwnerOnly(200),
        ),
        (
            Method::DELETE,
            "/api/saml/settings".into(),
            json!(null),
            Rule::OwnerOnly(204),
        ),
        (
            Method::GET,
            "/api/oidc/settings".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/oidc/settings".into(),
            json!({"issuer": "https://login.example.com", "client_id": "gatehouse"}),
            Rule::OwnerOnly(200),
        ),
        (
            Method::DELETE,
            "/api/oidc/settings".into(),
            json!(null),
            Rule::OwnerOnly(204),
        ),
        (
            Method::GET,
            "/api/scim/settings".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/scim/settings".into(),
            json!({"roles_groups": [["Annotator", "labelers"]]}),
            Rule::OwnerOnly(200),
        ),
        (
            Method::GET,
            "/api/session-policy/".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::PATCH,
            "/api/session-policy/".into(),
            json!({"max_session_age": 1000}),
            Rule::Admins(200),
        ),
        (
            Method::GET,
            "/api/invite".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/invite/reset-token".into(),
            json!(null),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/invite/send-email".into(),
            json!({"emails": ["matrix@example.com"]}),
            Rule::Admins(200),
        ),
        (
            Method::POST,
            "/api/invite/revoke".into(),
            json!({"email": "nobody@example.com"}),
            Rule::Admins(404),
        ),
        (
            Method::POST,
            "/api/password-reset/request".into(),
            json!({"email": "matrix-reset@example.com"}),
            Rule::Public(202),
        ),
        (
            Method::POST,
            "/api/password-reset/confirm".into(),
            json!({"token": "ghr_not-a-token", "password": PASSWORD}),
            Rule::Public(400),
        ),
        (
            Method::GET,
            "/api/current-user/whoami".into(),
            json!(null),
            Rule::Active,
        ),
        (
            Method::GET,
            "/api/current-user/token".into(),
            json!(null),
            Rule::Active,
        ),
        (
            Method::GET,
            "/api/current-user".into(),
            json!(null),
            Rule::SignedIn,
        ),
        (
            Method::POST,
            "/api/current-user/reset-token".into(),
            json!(null),
            Rule::Active,
        ),
        (
            Method::PATCH,
            "/api/current-user".into(),
            json!({"first_name": "Matrix"}),
            Rule::SignedIn,
        ),
        // A wrong current password: refused on its field, nothing changes.
        (
            Method::POST,
            "/api/current-user/password".into(),
            json!({"current_password": "not the password", "new_password": "a new password"}),
            Rule::SignedInWith(400),
        ),
        (
            Method::GET,
            "/api/current-user/sessions".into(),
            json!(null),
            Rule::SignedIn,
        ),
        (
            Method::GET,
            "/api/current-user/two-factor".into(),
            json!(null),
            Rule::SignedIn,
        ),
        // With the session cookie: every session but this one ends.
        (
            Method::DELETE,
            "/api/current-user/sessions".into(),
            json!(null),
            Rule::SignedIn,
        ),
        // Nobody has a session with this id.
        (
            Method::DELETE,
            format!("/api/current-user/sessions/{NO_SESSION}"),
            json!(null),
            Rule::SignedInWith(404),
        ),
    ];
    let server_fns: Vec<(&str, Form, Rule)> = vec![
        ("auth/current_user", vec![], Rule::Public(200)),
        (
            "auth/sign_up",
            vec![("email", "not-an-email"), ("password", PASSWORD)],
            Rule::Public(400),
        ),
        (
            "auth/log_in",
            vec![("email", "nobody@example.com"), ("password", PASSWORD)],
            Rule::Public(401),
        ),
        (
            "invites/info",
            vec![("token", "ghl_not-a-link")],
            Rule::Public(400),
        ),
        ("organization/get", vec![], Rule::Admins(200)),
        (
            "audit/list",
            vec![("page", "1"), ("actor", ""), ("since", ""), ("until", "")],
            Rule::Admins(200),
        ),
        (
            "organization/rename",
            vec![("title", "Renamed")],
            Rule::Admins(200),
        ),
        ("account/api_token", vec![], Rule::Active),
        ("account/api_token_accepted", vec![], Rule::Active),
        ("tokens/list", vec![], Rule::Active),
        // The REST call above made every active caller one already.
        ("tokens/create", vec![], Rule::ActiveWith(409)),
        (
            "tokens/revoke",
            vec![("id", "no-such-token")],
            Rule::ActiveWith(404),
        ),
        ("tokens/settings", vec![], Rule::Admins(200)),
        ("scim/overview", vec![], Rule::Admins(200)),
        ("scim/create_token", vec![], Rule::OwnerOnly(200)),
        ("scim/revoke_token", vec![], Rule::OwnerOnly(200)),
        (
            "scim/save_settings",
            vec![
                ("mapping_role[0]", "ANNOTATOR"),
                ("mapping_group[0]", "labelers"),
            ],
            Rule::OwnerOnly(200),
        ),
        ("sso/oidc_settings", vec![], Rule::Admins(200)),
        ("sso/saml_settings", vec![], Rule::Admins(200)),
        (
            "sso/save_saml_settings",
            vec![
                ("metadata_xml", saml_metadata.as_str()),
                ("domain", ""),
                ("mapping_email", ""),
                ("mapping_groups", "groups"),
                ("default_role", "NOT_ACTIVATED"),
            ],
            Rule::OwnerOnly(200),
        ),
        (
            "sso/save_oidc_settings",
            vec![
                ("issuer", "https://login.example.com"),
                ("client_id", "gatehouse"),
                ("scopes", "openid email"),
                ("domain", ""),
                ("mapping_email", "email"),
                ("mapping_groups", "groups"),
                ("default_role", "NOT_ACTIVATED"),
            ],
            Rule::OwnerOnly(200),
        ),
        (
            "tokens/save_settings",
            vec![
                ("legacy_api_tokens_enabled", "on"),
                ("api_tokens_enabled", "on"),
                ("api_token_ttl_days", "30"),
            ],
            Rule::Admins(200),
        ),
        ("account/reset_api_token", vec![], Rule::Active),
        ("account/profile", vec![], Rule::SignedIn),
        (
            "account/rename",
            vec![("first_name", "Matrix"), ("last_name", "")],
            Rule::SignedIn,
        ),
        (
            "account/change_password",
            vec![
                ("current_password", "not the password"),
                ("new_password", "a new password"),
            ],
            Rule::SignedInWith(400),
        ),
        ("account/sessions", vec![], Rule::SignedIn),
        (
            "account/end_session",
            vec![("id", NO_SESSION)],
            Rule::SignedInWith(404),
        ),
        ("account/end_other_sessions", vec![], Rule::SignedIn),
        ("sso/identities", vec![], Rule::SignedIn),
        ("two_factor/status", vec![], Rule::SignedIn),
        ("two_factor/start_app", vec![], Rule::SignedIn),
        // After the secret above: a code of no six digits matches nothing.
        (
            "two_factor/confirm_app",
            vec![("code", "not a code")],
            Rule::SignedInWith(400),
        ),
        // Without a factor to remove, a wrong password is refused first.
        (
            "two_factor/remove_app",
            vec![("password", "not the password"), ("code", "")],
            Rule::SignedInWith(400),
        ),
        (
            "two_factor/remove_passkey",
            vec![("id", "999999")],
            Rule::SignedInWith(400),
        ),
        (
            "two_factor/recovery_codes",
            vec![("password", "not the password")],
            Rule::SignedInWith(400),
        ),
        // No pending sign-in in this browser.
        (
            "two_factor/verify",
            vec![("code", "123456")],
            Rule::Public(401),
        ),
        ("two_factor/passkey_challenge", vec![], Rule::Public(401)),
        (
            "two_factor/passkey",
            vec![("ceremony", "ghw_none"), ("credential", "{}")],
            Rule::Public(400),
        ),
        // Passkeys need localhost or the public address: the tests' 127.0.0.1 has neither.
        (
            "passkeys/registration_challenge",
            vec![],
            Rule::SignedInWith(409),
        ),
        (
            "passkeys/register",
            vec![
                ("ceremony", "ghw_none"),
                ("name", "Key"),
                ("credential", "{}"),
            ],
            Rule::SignedInWith(400),
        ),
        ("passkeys/sign_in_challenge", vec![], Rule::Public(409)),
        (
            "passkeys/sign_in",
            vec![("ceremony", "ghw_none"), ("credential", "{}")],
            Rule::Public(400),
        ),
        ("organization/two_factor_policy", vec![], Rule::Admins(200)),
        (
            "organization/save_two_factor_policy",
            vec![("grace_period_days", "7"), ("sso_exempt", "on")],
            Rule::Admins(200),
        ),
        // Nobody with this id is a member anywhere.
        (
            "members/reset_two_factor",
            vec![("user_id", "999999")],
            Rule::Admins(404),
        ),
        (
            "sso/unlink",
            vec![("id", "999999")],
            Rule::SignedInWith(404),
        ),
        (
            "verification/confirm",
            vec![("token", "ghv_not-a-token")],
            Rule::Public(400),
        ),
        (
            "verification/inspect",
            vec![("token", "ghv_not-a-token")],
            Rule::Public(400),
        ),
        (
            "verification/disown",
            vec![("token", "ghv_not-a-token")],
            Rule::Public(400),
        ),
        // Whoever is signed in asks for their own link; a verified address is told it is.
        (
            "verification/resend",
            vec![],
            Rule::ByVerification {
                verified: 409,
                unverified: 200,
            },
        ),
        ("invites/link", vec![], Rule::Admins(200)),
        ("invites/reset_link", vec![], Rule::Admins(200)),
        (
            "invites/send",
            vec![("emails", "matrix2@example.com"), ("role", "ANNOTATOR")],
            Rule::Admins(200),
        ),
        ("invites/pending", vec![], Rule::Admins(200)),
        ("invites/resend", vec![("id", "999999")], Rule::Admins(404)),
        ("invites/revoke", vec![("id", "999999")], Rule::Admins(404)),
        (
            "members/list",
            vec![("page", "1"), ("page_size", "10"), ("search", "")],
            Rule::Admins(200),
        ),
        // The other organization's Administrator does not find this member in their own.
        (
            "members/change_role",
            vec![("user_id", user.as_str()), ("role", "ANNOTATOR")],
            Rule::AdminsHere(200),
        ),
        (
            "members/remove",
            vec![("user_id", "999999")],
            Rule::Admins(404),
        ),
        (
            "password_reset/request",
            vec![("email", "matrix-reset@example.com")],
            Rule::Public(200),
        ),
        (
            "password_reset/confirm",
            vec![("token", "ghr_not-a-token"), ("password", PASSWORD)],
            Rule::Public(400),
        ),
        // The other organization's Administrator does not find this member in their own.
        (
            "members/send_password_reset",
            vec![("user_id", user.as_str())],
            Rule::AdminsHere(200),
        ),
        (
            "members/transfer_ownership",
            vec![
                ("email", "nobody@example.com"),
                ("password", "wrong password"),
            ],
            Rule::OwnerOnly(400),
        ),
        ("auth/log_out", vec![], Rule::Public(200)),
    ];

    for (caller, client) in &clients {
        for (method, path, body, rule) in &rest {
            let mut req = client.request(method.clone(), app.url(path));
            if !body.is_null() {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            assert_eq!(
                status,
                expected(*rule, *caller),
                "{caller:?} {method} {path}: {text}"
            );
        }
        for (endpoint, form, rule) in &server_fns {
            let res = client
                .post(app.url(&format!("/_sfn/{endpoint}")))
                .header(header::ORIGIN, &app.address)
                .form(form)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            assert_eq!(
                status,
                expected(*rule, *caller),
                "{caller:?} {endpoint}: {text}"
            );
        }
    }

    // Every documented REST endpoint and every registered server function has a row.
    let doc: Value = new_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "patch", "put", "delete"].contains(&k.as_str()))
                .map(move |m| {
                    format!(
                        "{} {}",
                        m.to_uppercase(),
                        path.replace("{id}", &org_id.to_string())
                            .replace("{user_id}", "999999")
                            .replace("{session_id}", NO_SESSION)
                    )
                })
        })
        .collect();
    let covered: BTreeSet<String> = rest.iter().map(|(m, p, _, _)| format!("{m} {p}")).collect();
    assert_eq!(
        documented, covered,
        "every documented REST endpoint has a row, and every row is documented"
    );
    let registered: BTreeSet<String> = gatehouse::server_fn_paths().collect();
    let listed: BTreeSet<String> = server_fns
        .iter()
        .map(|(e, _, _)| format!("/_sfn/{e}"))
        .collect();
    assert_eq!(registered, listed, "every server function has a row");
}

/// A client that sends `Authorization: Bearer <access>` on every request, and keeps no cookies.
fn bearer_client(access: &str) -> Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        header::HeaderValue::from_str(&format!("Bearer {access}")).unwrap(),
    );
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
