//! Personal access tokens (Label Studio's JWT refresh and access tokens), the organization's
//! token settings and session policy, and Label Studio's own paths, role codes and activity log
//! (SPEC section 13).

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use gatehouse::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    a_personal_access_token_lives_refreshes_rotates_and_is_revoked,
    a_refresh_token_expires_with_its_organizations_lifetime,
    of_simultaneous_requests_for_a_token_exactly_one_gets_it,
    forged_tokens_are_refused,
    deactivation_removal_and_a_password_reset_revoke_personal_access_tokens,
    revocation_holds_on_every_instance_at_once,
    legacy_tokens_and_personal_access_tokens_can_be_switched_off_and_on,
    the_session_policy_ends_sessions_of_every_member,
    label_studio_role_codes_and_paths_work_beside_gatehouses,
    the_activity_log_is_served_in_label_studios_shape,
);

/// The claims of a JWT, read without checking it (as the SDK does).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn json_of(res: reqwest::Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn a_personal_access_token_lives_refreshes_rotates_and_is_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let me = app.whoami(&app.client).await;

    // Made once, shown once, a JWT with Label Studio's claims.
    let made = json_of(
        app.api(Method::POST, "/api/token/", &legacy).send().await,
        StatusCode::CREATED,
    )
    .await;
    let refresh = made["token"].as_str().unwrap().to_owned();
    let c = claims(&refresh);
    assert_eq!(c["token_type"], "refresh");
    assert_eq!(c["user_id"], me.id);
    let iat = c["iat"].as_i64().unwrap();
    assert!((iat - app.now()).abs() <= 2, "{c}");
    assert_eq!(c["exp"], iat + 73_000 * 86_400, "the default lifetime");
    assert_eq!(c["jti"], made["id"]);
    // Only its id and hash are stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM personal_access_tokens")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // One live token per user.
    let second = app.api(Method::POST, "/api/token/", &legacy).send().await;
    assert_eq!(second.status(), StatusCode::CONFLICT);

    // Listed without its secret.
    let listed = json_of(
        app.api(Method::GET, "/api/token/", &legacy).send().await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], made["id"]);
    assert!(!listed.to_string().contains(&refresh), "{listed}");
    assert_eq!(listed[0]["last_used_at"], Value::Null);

    // Refreshed without any other credential; the access token lives 5 minutes.
    let access = app.access_from(&refresh).await;
    let a = claims(&access);
    assert_eq!(a["token_type"], "access");
    assert_eq!(a["user_id"], me.id);
    assert_eq!(a["exp"].as_i64().unwrap(), a["iat"].as_i64().unwrap() + 300);
    let org: Value = app
        .bearer(Method::GET, "/api/organization/", &access)
        .json_ok()
        .await;
    assert_eq!(org["owner"]["email"], me.email.as_str());
    let listed = json_of(
        app.api(Method::GET, "/api/token/", &legacy).send().await,
        StatusCode::OK,
    )
    .await;
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    // A refresh token is not an access token.
    let detail = app
        .bearer(Method::GET, "/api/organization/", &refresh)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    assert!(detail.contains("/api/token/refresh/"), "{detail}");

    // Five minutes later the access token is dead; a new one works.
    app.advance(Duration::from_secs(301));
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    let access = app.access_from(&refresh).await;
    app.bearer(Method::GET, "/api/organization/", &access)
        .json_ok::<Value>()
        .await;

    // Rotation: the old refresh token and its access tokens stop at once.
    let rotated = json_of(
        app.post_refresh_token("/api/token/rotate/", &refresh).await,
        StatusCode::OK,
    )
    .await;
    let new_refresh = rotated["refresh"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    let access = app.access_from(&new_refresh).await;

    // Blacklisted: refused at once, and again if reused.
    let res = app
        .post_refresh_token("/api/token/blacklist/", &new_refresh)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(&new_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    let again = app
        .post_refresh_token("/api/token/blacklist/", &new_refresh)
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // A forged token (signed with another key) is refused.
    let mut forged = new_refresh.clone();
    forged.pop();
    assert_eq!(
        app.refresh(&forged).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // With none live, a new one may be made.
    let listed = json_of(
        app.api(Method::GET, "/api/token/", &legacy).send().await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    app.personal_token(&app.client).await;

    // Each step is in the audit log, with the request that made it.
    let org_id = app.org_id().await;
    let log: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org_id}/audit-log?page_size=100"),
            &legacy,
        )
        .json_ok()
        .await;
    let actions: Vec<&str> = log["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "api_token.created",
        "api_token.rotated",
        "api_token.revoked",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let paths: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, request_path FROM audit_log WHERE action LIKE 'api_token.%' ORDER BY seq",
    )
    .fetch_all(app.db().pool())
    .await
    .unwrap();
    assert_eq!(
        paths,
        [
            ("api_token.created", "/api/token/"),
            ("api_token.rotated", "/api/token/rotate/"),
            ("api_token.revoked", "/api/token/blacklist/"),
            ("api_token.created", "/api/token/"),
        ]
        .map(|(a, p)| (a.to_owned(), p.to_owned()))
    );
    let (ok, out) = app.cli(&["audit", "verify", "--org", &org_id.to_string()], "");
    assert!(ok, "{out}");
}

async fn a_refresh_token_expires_with_its_organizations_lifetime(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let settings: Value = app
        .api(Method::POST, "/api/jwt/settings", &legacy)
        .json(&json!({ "api_token_ttl_days": 1 }))
        .json_ok()
        .await;
    assert_eq!(
        settings,
        json!({ "legacy_api_tokens_enabled": true, "api_tokens_enabled": true, "api_token_ttl_days": 1 })
    );
    let refresh = app.personal_token(&app.client).await;
    let c = claims(&refresh);
    assert_eq!(
        c["exp"].as_i64().unwrap(),
        c["iat"].as_i64().unwrap() + 86_400
    );
    app.advance(Duration::from_secs(86_000));
    app.access_from(&refresh).await;
    app.advance(Duration::from_secs(400));
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // An expired token is no longer live: a new one may be made.
    let res = app.api(Method::POST, "/api/token/", &legacy).send().await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Bodies that are not objects are refused.
    for path in ["/api/jwt/settings", "/api/token/refresh/"] {
        let res = app
            .api(Method::POST, path, &legacy)
            .json(&json!([null, null]))
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    let res = app
        .api(Method::PATCH, "/api/session-policy/", &legacy)
        .json(&json!([60, 60]))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Out-of-range lifetimes are refused on their field.
    for days in [0, 73_001] {
        let res = app
            .api(Method::POST, "/api/jwt/settings", &legacy)
            .json(&json!({ "api_token_ttl_days": days }))
            .send()
            .await;
        let body = json_of(res, StatusCode::BAD_REQUEST).await;
        assert!(
            body["validation_errors"]["api_token_ttl_days"].is_array()
                || body["validation_errors"]["api_token_ttl_days"].is_string(),
            "{body}"
        );
    }
}

async fn of_simultaneous_requests_for_a_token_exactly_one_gets_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let attempts = (0..8).map(|_| app.api(Method::POST, "/api/token/", &legacy).send());
    let mut statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let live: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM personal_access_tokens WHERE revoked_at IS NULL")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(live, 1);
}

async fn forged_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let refresh = app.personal_token(&app.client).await;
    let access = app.access_from(&refresh).await;
    let segment = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    // Unsigned ("alg": "none"), with the real claims.
    for token in [&refresh, &access] {
        let unsigned = format!(
            "{}.{}.",
            segment(&json!({"alg": "none", "typ": "JWT"})),
            segment(&claims(token))
        );
        assert_eq!(
            app.refresh(&unsigned).await.status(),
            StatusCode::UNAUTHORIZED
        );
        app.bearer(Method::GET, "/api/organization/", &unsigned)
            .error(StatusCode::UNAUTHORIZED)
            .await;
    }
    // The real signature over claims that name someone else, or live longer.
    let signature = access.rsplit('.').next().unwrap();
    let mut other = claims(&access);
    other["user_id"] = json!(other["user_id"].as_i64().unwrap() + 1);
    other["exp"] = json!(other["exp"].as_i64().unwrap() + 86_400);
    let tampered = format!(
        "{}.{}.{signature}",
        access.split('.').next().unwrap(),
        segment(&other)
    );
    app.bearer(Method::GET, "/api/organization/", &tampered)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    // An access token is no refresh token.
    assert_eq!(
        app.refresh(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Garbage, empty and huge.
    for junk in ["", "not-a-jwt", "a.b.c", &"x".repeat(100_000)] {
        assert_eq!(
            app.refresh(junk).await.status(),
            StatusCode::UNAUTHORIZED,
            "{junk:.20}"
        );
    }
}

async fn deactivation_removal_and_a_password_reset_revoke_personal_access_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;

    // Deactivated: refused at once, and not revived by restoring them.
    let member = app.add_member(Role::Annotator).await;
    let refresh = app.personal_token(&member.client).await;
    let access = app.access_from(&refresh).await;
    app.set_role(member.id, Role::Deactivated).await;
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.set_role(member.id, Role::Annotator).await;
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;

    // Removed.
    let member = app.add_member(Role::Reviewer).await;
    let refresh = app.personal_token(&member.client).await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/organizations/{org}/memberships/{}/", member.id),
            &owner,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A password reset (an administrator mails the link; the member follows it).
    let member = app.add_member(Role::Manager).await;
    let refresh = app.personal_token(&member.client).await;
    let res = new_client()
        .post(app.url("/api/password-reset/request"))
        .json(&json!({ "email": member.email }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mail = app.wait_for_mail_to(&member.email, 2).await;
    let token: String = mail
        .text
        .split("token=")
        .nth(1)
        .expect("the mail holds a reset link")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let res = new_client()
        .post(app.url("/api/password-reset/confirm"))
        .json(&json!({ "token": token, "password": "a brand new passphrase" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn revocation_holds_on_every_instance_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let other = app.second_instance().await;
    let refresh = app.personal_token(&app.client).await;
    // Made on one instance, used on the other.
    let access = other.access_from(&refresh).await;
    other
        .bearer(Method::GET, "/api/organization/", &access)
        .json_ok::<Value>()
        .await;
    let res = app
        .post_refresh_token("/api/token/blacklist/", &refresh)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    other
        .bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(
        other.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn legacy_tokens_and_personal_access_tokens_can_be_switched_off_and_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let access = app.access_token(&app.client).await;
    let member = app.add_member(Role::Annotator).await;
    let member_legacy = app.token(&member.client).await;

    // Legacy tokens off: every member's Token is refused with what to do; Bearer and sessions work.
    let settings: Value = app
        .bearer(Method::POST, "/api/jwt/settings", &access)
        .json(&json!({ "legacy_api_tokens_enabled": false }))
        .json_ok()
        .await;
    assert_eq!(settings["legacy_api_tokens_enabled"], false);
    assert_eq!(settings["api_tokens_enabled"], true);
    for token in [&legacy, &member_legacy] {
        let detail = app
            .api(Method::GET, "/api/organization/", token)
            .error(StatusCode::UNAUTHORIZED)
            .await;
        assert_eq!(
            detail,
            "Legacy API tokens are disabled for this organization; create a personal access token on your Account page."
        );
    }
    app.bearer(Method::GET, "/api/organization/", &access)
        .json_ok::<Value>()
        .await;
    app.whoami(&member.client).await;

    // Personal access tokens off: none made, none refreshed, access tokens refused.
    let settings: Value = app
        .bearer(Method::POST, "/api/jwt/settings", &access)
        .json(&json!({ "legacy_api_tokens_enabled": true, "api_tokens_enabled": false }))
        .json_ok()
        .await;
    assert_eq!(settings["api_tokens_enabled"], false);
    app.bearer(Method::GET, "/api/organization/", &access)
        .error(StatusCode::UNAUTHORIZED)
        .await;
    let res = app
        .api(Method::POST, "/api/token/", &member_legacy)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let refresh = {
        let listed: Value = app.api(Method::GET, "/api/token/", &legacy).json_ok().await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        listed
    };
    drop(refresh);

    // And on again: the token made before works again, legacy tokens too.
    app.api(Method::POST, "/api/jwt/settings", &legacy)
        .json(&json!({ "api_tokens_enabled": true }))
        .json_ok::<Value>()
        .await;
    app.bearer(Method::GET, "/api/organization/", &access)
        .json_ok::<Value>()
        .await;
    app.api(Method::GET, "/api/organization/", &member_legacy)
        .json_ok::<Value>()
        .await;
    // Only the Owner and Administrators read or change them.
    app.api(Method::GET, "/api/jwt/settings", &member_legacy)
        .error(StatusCode::FORBIDDEN)
        .await;
}

async fn the_session_policy_ends_sessions_of_every_member(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let me = app.whoami(&app.client).await;
    let member = app.add_member(Role::Reviewer).await;
    let policy: Value = app
        .api(Method::GET, "/api/session-policy/", &legacy)
        .json_ok()
        .await;
    // The server's settings are the defaults.
    assert_eq!(
        policy,
        json!({
            "max_session_age": app.config.session_max_age.as_secs() / 60,
            "max_time_between_activity": app.config.session_idle.as_secs() / 60,
        })
    );
    // Above the server's limits: refused.
    let res = app
        .api(Method::PATCH, "/api/session-policy/", &legacy)
        .json(&json!({ "max_session_age": policy["max_session_age"].as_i64().unwrap() + 1 }))
        .send()
        .await;
    json_of(res, StatusCode::BAD_REQUEST).await;

    // Idle for longer than 10 minutes: signed out.
    let policy: Value = app
        .api(Method::PATCH, "/api/session-policy/", &legacy)
        .json(&json!({ "max_time_between_activity": 10 }))
        .json_ok()
        .await;
    assert_eq!(policy["max_time_between_activity"], 10);
    app.advance(Duration::from_secs(9 * 60));
    seen_now(&app, &member.client, member.id).await;
    // Seen 9 minutes ago: still in (the last request pushed the deadline back).
    app.advance(Duration::from_secs(9 * 60));
    seen_now(&app, &member.client, member.id).await;
    app.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED
    );

    // Older than 30 minutes: signed out, however active. (The Owner's own session went idle
    // too: they sign in again.)
    let res = app.log_in_with(&app.client, &me.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let member = app.add_member(Role::Reviewer).await;
    app.api(Method::PATCH, "/api/session-policy/", &legacy)
        .json(&json!({ "max_session_age": 30 }))
        .json_ok::<Value>()
        .await;
    for _ in 0..3 {
        app.advance(Duration::from_secs(9 * 60));
        seen_now(&app, &member.client, member.id).await;
    }
    app.advance(Duration::from_secs(4 * 60));
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED
    );
    // The change is logged.
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'organization.session_policy_changed'",
    )
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!(n, 2);
}

/// Makes a request with `client` until its session has recorded one at the current time (the
/// time of a request is written after answering, and a busy database may drop the write).
async fn seen_now(app: &TestApp, client: &reqwest::Client, user_id: i64) {
    let since = app.now();
    eventually("the session's last request is recorded", || async {
        assert_eq!(status_of_whoami(app, client).await, StatusCode::OK);
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT MAX(last_seen_at) FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(app.db().pool())
                .await
                .unwrap();
        seen.is_some_and(|t| t >= since).then_some(())
    })
    .await;
}

async fn label_studio_role_codes_and_paths_work_beside_gatehouses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let me = app.whoami(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Annotator).await;

    // GET /api/current-user, with and without the slash.
    for path in ["/api/current-user", "/api/current-user/"] {
        let user: Value = app.api(Method::GET, path, &legacy).json_ok().await;
        assert_eq!(user["id"], me.id);
        assert_eq!(user["email"], me.email.as_str());
        assert_eq!(user["username"], me.email.as_str());
        assert_eq!(user["active_organization"], org);
        assert_eq!(
            user["org_membership"],
            json!([{ "role": "OWNER", "active": true, "organization_id": org }])
        );
        assert!(user["date_joined"].as_str().unwrap().ends_with('Z'));
    }
    // The caller's organization, in a list.
    for path in ["/api/organizations/", "/api/organizations"] {
        let list: Value = app.api(Method::GET, path, &legacy).json_ok().await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["id"], org);
    }

    // A role change with a two-letter code, answered with the name.
    for (code, name) in [
        ("RE", "REVIEWER"),
        ("MA", "MANAGER"),
        ("AD", "ADMINISTRATOR"),
        ("AN", "ANNOTATOR"),
    ] {
        let row: Value = app
            .api(
                Method::PATCH,
                &format!("/api/organizations/{org}/memberships"),
                &legacy,
            )
            .json(&json!({ "user_id": member.id, "role": code }))
            .json_ok()
            .await;
        assert_eq!(row["role"], name);
        // Label Studio's fields beside the row's own.
        assert_eq!(row["user"]["id"], member.id);
        assert_eq!(row["user"]["username"], member.email.as_str());
        assert_eq!(row["organization"], org);
    }
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/organizations/{org}/memberships"),
            &legacy,
        )
        .json(&json!({ "user_id": member.id, "role": "OW" }))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Codes filter the list too.
    let page: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/memberships?role=AN"),
            &legacy,
        )
        .json_ok()
        .await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["user"]["id"], member.id);
    assert_eq!(page["results"][0]["organization"], org);
    // Invitations take them.
    let sent: Value = app
        .api(Method::POST, "/api/invite/send-email", &legacy)
        .json(&json!({ "emails": ["coded@example.com"], "role": "MA" }))
        .json_ok()
        .await;
    assert_eq!(sent["results"][0]["status"], "invited", "{sent}");

    // One member, with and without the slash; a stranger's id is not found.
    for path in [
        format!("/api/organizations/{org}/memberships/{}/", member.id),
        format!("/api/organizations/{org}/memberships/{}", member.id),
    ] {
        let one: Value = app.api(Method::GET, &path, &legacy).json_ok().await;
        assert_eq!(one["organization"], org);
        assert_eq!(one["user"]["id"], member.id);
        assert_eq!(one["user"]["email"], member.email.as_str());
        assert_eq!(one["role"], "ANNOTATOR");
        assert!(one["created_at"].is_string());
    }
    let other = new_client();
    app.sign_up_with(&other, "elsewhere@example.com", PASSWORD)
        .await;
    let stranger = app.whoami(&other).await.id;
    app.api(
        Method::GET,
        &format!("/api/organizations/{org}/memberships/{stranger}/"),
        &legacy,
    )
    .error(StatusCode::NOT_FOUND)
    .await;

    // The members as users.
    let users: Value = app.api(Method::GET, "/api/users/", &legacy).json_ok().await;
    let ids: Vec<i64> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [me.id, member.id]);
    let user: Value = app
        .api(Method::GET, &format!("/api/users/{}/", member.id), &legacy)
        .json_ok()
        .await;
    assert_eq!(user["org_membership"][0]["role"], "ANNOTATOR");
    app.api(Method::GET, &format!("/api/users/{stranger}/"), &legacy)
        .error(StatusCode::NOT_FOUND)
        .await;
    // Members who are not administrators may not list them.
    let member_legacy = app.token(&member.client).await;
    app.api(Method::GET, "/api/users/", &member_legacy)
        .error(StatusCode::FORBIDDEN)
        .await;

    // The SDK's spelling of the token reset.
    let reset: Value = app
        .api(
            Method::POST,
            "/api/current-user/reset-token/",
            &member_legacy,
        )
        .json_ok()
        .await;
    assert_ne!(reset["token"], member_legacy.as_str());

    // Removal at Label Studio's path.
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/organizations/{org}/memberships/{}/", member.id),
            &legacy,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.api(
        Method::GET,
        &format!("/api/organizations/{org}/memberships/{}/", member.id),
        &legacy,
    )
    .error(StatusCode::NOT_FOUND)
    .await;
}

async fn the_activity_log_is_served_in_label_studios_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let legacy = app.token(&app.client).await;
    let me = app.whoami(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Annotator).await;
    app.api(Method::PATCH, "/api/organization/", &legacy)
        .json(&json!({ "title": "Renamed" }))
        .json_ok::<Value>()
        .await;

    let page: Value = app
        .api(Method::GET, "/api/activity-logs/", &legacy)
        .json_ok()
        .await;
    let newest = &page["data"][0];
    assert_eq!(newest["email"], me.email.as_str());
    assert_eq!(newest["user_id"], me.id);
    assert_eq!(newest["organization_id"], org);
    assert_eq!(newest["request_method"], "PATCH");
    assert_eq!(newest["request_url"], "/api/organization/");
    assert_eq!(newest["ip_address"], "127.0.0.1");
    assert_eq!(newest["extra_data"]["action"], "organization.renamed");
    assert_eq!(newest["extra_data"]["details"]["to"], "Renamed");
    assert!(newest["datetime"].as_str().unwrap().ends_with('Z'));
    assert!(newest.get("response_code").is_some());
    let total = page["recordsTotal"].as_i64().unwrap();
    assert!(total >= 3, "{page}");
    assert_eq!(page["recordsFiltered"], total);

    // Filtered by who acted, and by time.
    let by_member: Value = app
        .api(
            Method::GET,
            &format!("/api/activity-logs/?user_id={}", member.id),
            &legacy,
        )
        .json_ok()
        .await;
    let entries = by_member["data"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["user_id"] == member.id),
        "{by_member}"
    );
    assert_eq!(by_member["recordsTotal"], total);
    let later = gatehouse::domain::format_timestamp(app.now() + 60);
    let none: Value = app
        .api(
            Method::GET,
            &format!("/api/activity-logs/?start_date={later}"),
            &legacy,
        )
        .json_ok()
        .await;
    assert_eq!(none["data"], json!([]));
    let paged: Value = app
        .api(
            Method::GET,
            "/api/activity-logs/?page=2&page_size=1",
            &legacy,
        )
        .json_ok()
        .await;
    assert_eq!(paged["data"].as_array().unwrap().len(), 1);
    assert_eq!(paged["data"][0]["id"], page["data"][1]["id"]);
    // Bad filters are refused on their field.
    for query in ["user_id=x", "start_date=yesterday", "page=0"] {
        let res = app
            .api(
                Method::GET,
                &format!("/api/activity-logs/?{query}"),
                &legacy,
            )
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let member_legacy = app.token(&member.client).await;
    app.api(Method::GET, "/api/activity-logs/", &member_legacy)
        .error(StatusCode::FORBIDDEN)
        .await;
}
