//! Abuse limits and the session lifecycle (SPEC section 8): login lockout, the password-hash
//! budget, signup and invitation quotas, untrusted `Host` and forwarded headers, idle and
//! absolute session expiry, and credentials that die with deactivation.

use std::time::Duration;

use gatehouse::domain::{AuditEntryView, AuditPage, InviteStatus, Role};
use reqwest::{header, Client, Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    failed_logins_lock_the_email_until_the_window_passes,
    the_lockout_is_shared_by_every_instance,
    a_refused_login_checks_no_password,
    a_saturated_password_hasher_answers_busy_at_once,
    a_signup_beyond_the_hashers_is_busy_at_once_and_not_counted,
    failed_logins_from_one_client_address_are_limited,
    the_sixth_wrong_password_at_an_ownership_transfer_is_refused_and_logged,
    wrong_current_passwords_count_toward_the_sign_in_lockout,
    a_confirmed_current_password_clears_the_failures_of_the_address,
    wrong_passwords_of_signed_in_accounts_count_against_the_client_address,
    signups_from_one_client_address_are_limited,
    invitations_have_a_daily_quota,
    an_invitation_is_sent_again_at_most_once_a_minute,
    a_forged_host_is_refused_and_never_reaches_a_mail,
    links_use_the_public_host_whatever_the_request_says,
    forwarded_headers_count_only_from_a_trusted_proxy,
    an_idle_session_ends,
    a_session_ends_at_its_maximum_age_however_busy,
    deactivation_ends_sessions_and_the_token_for_good,
);

const WRONG: &str = "not the password";

/// Signs up an Owner with a client of its own, then forgets that client: the account exists and
/// nobody is signed in.
async fn account(app: &TestApp) -> String {
    let email = format!("{}@example.com", unique("user-"));
    let res = app.sign_up_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    email
}

async fn log_in(app: &TestApp, email: &str, password: &str) -> Response {
    app.log_in_with(&new_client(), email, password).await
}

fn retry_after(res: &Response) -> u64 {
    res.headers()
        .get(header::RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

async fn failed_logins_lock_the_email_until_the_window_passes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let lockout = app.config.login_lockout;
    assert_eq!(lockout, Duration::from_secs(15 * 60));
    let email = account(&app).await;
    for _ in 0..3 {
        let res = log_in(&app, &email, WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    for password in [WRONG, PASSWORD] {
        let res = log_in(&app, &email, password).await;
        let wait = retry_after(&res);
        assert!(
            (14 * 60 + 1..=15 * 60).contains(&wait),
            "Retry-After {wait}"
        );
        assert_eq!(
            server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
            "Too many failed attempts. Try again in 15 minutes.",
            "refused, right password or not"
        );
    }
    // Another address is not affected.
    let other = account(&app).await;
    assert_eq!(
        log_in(&app, &other, PASSWORD).await.status(),
        StatusCode::OK
    );

    // A minute before the window has passed, still refused.
    app.advance(lockout - Duration::from_secs(60));
    let res = log_in(&app, &email, PASSWORD).await;
    assert!((1..=60).contains(&retry_after(&res)));
    assert_eq!(
        server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
        "Too many failed attempts. Try again in 1 minute."
    );
    app.advance(Duration::from_secs(60));
    assert_eq!(
        log_in(&app, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    // The success cleared the count: three more failures before the next lockout.
    for _ in 0..3 {
        assert_eq!(
            log_in(&app, &email, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in(&app, &email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn the_lockout_is_shared_by_every_instance(backend: Backend) {
    let one = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let two = one.second_instance().await;
    let email = account(&one).await;
    for app in [&one, &two, &one] {
        assert_eq!(
            log_in(app, &email, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for app in [&two, &one] {
        let res = log_in(app, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

async fn a_refused_login_checks_no_password(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 2).await;
    let email = account(&app).await;
    for _ in 0..2 {
        let res = log_in(&app, &email, WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Counted by the hasher itself: a timing would depend on what else the machine is doing.
    let hashes = app.state.hashing.computed();
    for _ in 0..2 {
        let res = log_in(&app, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        app.state.hashing.computed(),
        hashes,
        "no password was hashed for a refused attempt"
    );
}

async fn a_saturated_password_hasher_answers_busy_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.hash_concurrency = 1;
        c.hash_queue = 2;
    })
    .await;
    let attempts = (0..24).map(|i| {
        let app = &app;
        async move {
            let res = log_in(app, &format!("nobody-{i}@example.com"), WRONG).await;
            let status = res.status();
            let wait = res
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().to_owned());
            let message = server_fn_error(res, status).await;
            (status, wait, message)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let busy: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let checked = answers
        .iter()
        .filter(|(status, ..)| *status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(
        checked >= 3,
        "one running and two waiting were checked: {answers:?}"
    );
    assert_eq!(busy.len() + checked, answers.len(), "{answers:?}");
    for (_, wait, message) in busy {
        assert_eq!(wait.as_deref(), Some("1"));
        assert!(message.contains("busy"), "{message}");
    }
}

async fn a_signup_beyond_the_hashers_is_busy_at_once_and_not_counted(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.hash_concurrency = 1;
        c.hash_queue = 0;
        c.signups_per_hour = 1;
    })
    .await;
    let held = app.state.hashing.turn().await.unwrap();
    let hashes = app.state.hashing.computed();
    for i in 0..3 {
        let res = app
            .sign_up_with(&new_client(), &format!("storm-{i}@example.com"), PASSWORD)
            .await;
        assert_eq!(
            res.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap()),
            Some("1")
        );
        let message = server_fn_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(message.contains("busy"), "{message}");
    }
    assert_eq!(app.state.hashing.computed(), hashes, "nothing was hashed");
    drop(held);
    // The address's one signup an hour is still there.
    account(&app).await;
}

async fn failed_logins_from_one_client_address_are_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_max_failures_per_client = 3;
    })
    .await;
    let email = account(&app).await;
    for i in 0..3 {
        let res = log_in(&app, &format!("guess-{i}@example.com"), WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = log_in(&app, &email, PASSWORD).await;
    assert_eq!(
        server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
        "Too many failed attempts. Try again in 15 minutes."
    );
}

/// The entries of `action` in the organization's log, newest first, once there are `n` of them
/// (a failed password is written just after the answer).
async fn logged(
    app: &TestApp,
    token: &str,
    org: i64,
    action: &str,
    n: usize,
) -> Vec<AuditEntryView> {
    let url = format!("/api/organizations/{org}/audit-log?action={action}");
    eventually(&format!("{n} entries {action}"), || async {
        let page: AuditPage = app.api(Method::GET, &url, token).json_ok().await;
        (page.results.len() >= n).then_some(page.results)
    })
    .await
}

async fn transfer_ownership(app: &TestApp, to: &str, password: &str) -> Response {
    app.server_fn(
        &app.client,
        "members/transfer_ownership",
        &[("email", to), ("password", password)],
    )
    .await
}

async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Response {
    app.api(Method::POST, "/api/current-user/password", token)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
}

async fn the_sixth_wrong_password_at_an_ownership_transfer_is_refused_and_logged(backend: Backend) {
    // The default limit: five failures per address.
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let admin = app.add_member(Role::Administrator).await;
    for _ in 0..5 {
        let res = transfer_ownership(&app, &admin.email, WRONG).await;
        assert_eq!(
            server_fn_error(res, StatusCode::BAD_REQUEST).await,
            "That is not your password."
        );
    }
    let hashes = app.state.hashing.computed();
    for password in [WRONG, PASSWORD] {
        let res = transfer_ownership(&app, &admin.email, password).await;
        let wait = retry_after(&res);
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
        assert_eq!(
            server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
            "Too many failed attempts. Try again in 15 minutes.",
            "refused, right password or not"
        );
    }
    assert_eq!(
        app.state.hashing.computed(),
        hashes,
        "no password was checked past the limit"
    );
    assert_eq!(app.whoami(&app.client).await.role, Role::Owner);
    // The same lockout as signing in.
    let res = log_in(&app, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let me = app.whoami(&app.client).await.id;
    let failures = logged(&app, &owner, org, "signin.failed", 5).await;
    assert_eq!(failures.len(), 5);
    for entry in &failures {
        assert_eq!(
            (
                entry.actor.kind.as_str(),
                entry.target.id,
                entry.target.label.as_str()
            ),
            ("system", Some(me), email.as_str())
        );
        assert_eq!(entry.client_address, "127.0.0.1");
    }
    let lockouts = logged(&app, &owner, org, "signin.locked_out", 1).await;
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].details, json!({"failures": 5, "minutes": 15}));
    assert_eq!(lockouts[0].target.label, email);
}

async fn wrong_current_passwords_count_toward_the_sign_in_lockout(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for _ in 0..2 {
        let res = log_in(&app, &email, WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The third failure of the address, made at the password change, locks it out.
    let res = change_password(&app, &owner, WRONG, "a brand new passphrase").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["validation_errors"]["current_password"],
        json!(["That is not your current password."]),
        "{body}"
    );
    let res = log_in(&app, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) > 0);
    let res = change_password(&app, &owner, PASSWORD, "a brand new passphrase").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) > 0);
    assert_eq!(logged(&app, &owner, org, "signin.failed", 3).await.len(), 3);
    let lockouts = logged(&app, &owner, org, "signin.locked_out", 1).await;
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].details, json!({"failures": 3, "minutes": 15}));
}

async fn a_confirmed_current_password_clears_the_failures_of_the_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let email = app.sign_up().await;
    let owner = app.token(&app.client).await;
    const NEW: &str = "a brand new passphrase";
    for _ in 0..2 {
        let res = log_in(&app, &email, WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = change_password(&app, &owner, PASSWORD, NEW).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // As a successful sign-in would: three more failures before the next lockout.
    for _ in 0..3 {
        let res = log_in(&app, &email, WRONG).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        log_in(&app, &email, NEW).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn wrong_passwords_of_signed_in_accounts_count_against_the_client_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_max_failures_per_client = 3;
    })
    .await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let admin = app.add_member(Role::Administrator).await;
    let other = account(&app).await;
    for _ in 0..2 {
        let res = transfer_ownership(&app, &admin.email, WRONG).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = change_password(&app, &owner, WRONG, "a brand new passphrase").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Every address from this client waits now, at sign-in as at the forms.
    let res = log_in(&app, &other, PASSWORD).await;
    assert_eq!(
        server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
        "Too many failed attempts. Try again in 15 minutes."
    );
    let res = transfer_ownership(&app, &admin.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.whoami(&app.client).await.role, Role::Owner);
}

async fn signups_from_one_client_address_are_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.signups_per_hour = 2).await;
    account(&app).await;
    account(&app).await;
    let hashes = app.state.hashing.computed();
    let res = app
        .sign_up_with(&new_client(), "third@example.com", PASSWORD)
        .await;
    assert!(retry_after(&res) > 3500);
    assert_eq!(
        server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
        "Too many signups from your network. Try again in 60 minutes."
    );
    assert_eq!(app.state.hashing.computed(), hashes);
}

async fn invitations_have_a_daily_quota(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.invites_per_day = 3).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let results = app
        .invite(
            &token,
            &[
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "d@example.com",
            ],
            Role::Annotator,
        )
        .await;
    let statuses: Vec<_> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            InviteStatus::Invited,
            InviteStatus::Invited,
            InviteStatus::Invited,
            InviteStatus::RateLimited
        ]
    );
    assert_eq!(
        results[3].detail,
        "Not sent: this organization has sent its 3 invitations for the last 24 hours. Try again in 24 hours."
    );
    // Nothing left: the request as a whole is refused, and nothing is written.
    let res = app
        .api(Method::POST, "/api/invite/send-email", &token)
        .json(&json!({"emails": ["e@example.com"], "role": "ANNOTATOR"}))
        .send()
        .await;
    assert!(retry_after(&res) > 80_000);
    assert!(error_detail(res, StatusCode::TOO_MANY_REQUESTS)
        .await
        .contains("has sent its 3 invitations"));
    assert_eq!(app.count("invitations").await, 3);
    assert_eq!(app.count("email_outbox WHERE kind = 'invitation'").await, 3);
}

async fn an_invitation_is_sent_again_at_most_once_a_minute(backend: Backend) {
    let cooldown = Duration::from_secs(60);
    let app = TestApp::spawn_with(backend, |c| c.resend_cooldown = cooldown).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    app.invite(&token, &["frank@example.com"], Role::Reviewer)
        .await;
    // Delivered before anything else happens: a message whose link a re-send replaced before the
    // worker reached it is dropped unsent, and the test counts messages.
    app.wait_for_mail_to("frank@example.com", 1).await;
    let again = app
        .invite(
            &token,
            &["frank@example.com", "grace@example.com"],
            Role::Reviewer,
        )
        .await;
    assert_eq!(again[0].status, InviteStatus::RateLimited);
    assert!(
        again[0]
            .detail
            .starts_with("Invited less than a minute ago"),
        "{again:?}"
    );
    assert_eq!(again[1].status, InviteStatus::Invited);
    // Alone, it is refused as a whole.
    let res = app
        .api(Method::POST, "/api/invite/send-email", &token)
        .json(&json!({"emails": ["frank@example.com"], "role": "REVIEWER"}))
        .send()
        .await;
    assert!((1..=60).contains(&retry_after(&res)));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status_code"], 429);
    assert_eq!(body["results"][0]["status"], "rate_limited");
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM invitations WHERE email = 'frank@example.com'")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &id.to_string())])
        .await;
    assert!((1..=60).contains(&retry_after(&res)));
    server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await;

    app.advance(cooldown);
    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.wait_for_mail_to("frank@example.com", 2).await;
}

/// Sends `request` with the `Host` header replaced.
async fn with_host(client: &Client, method: Method, url: &str, host: &str) -> Response {
    client
        .request(method, url)
        .header(header::HOST, host)
        .send()
        .await
        .unwrap()
}

async fn a_forged_host_is_refused_and_never_reaches_a_mail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    for path in [
        "/",
        "/user/login",
        "/api/organization/",
        "/pkg/gatehouse.css",
    ] {
        let res = app
            .client
            .get(app.url(path))
            .header(header::HOST, "evil.example")
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .send()
            .await
            .unwrap();
        let detail = error_detail(res, StatusCode::BAD_REQUEST).await;
        assert!(
            detail.starts_with("Unknown host \"evil.example\"")
                && detail.contains("set LABEL_STUDIO_HOST or LABEL_STUDIO_ALLOWED_HOSTS"),
            "{path}: {detail}"
        );
    }
    let res = app
        .client
        .post(app.url("/api/invite/send-email"))
        .header(header::HOST, "evil.example")
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .json(&json!({"emails": ["victim@example.com"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("invitations").await, 0);
    // The health check answers load balancers that probe by address.
    let res = with_host(&app.client, Method::GET, &app.url("/health"), "10.1.2.3").await;
    assert_eq!(res.status(), StatusCode::OK);

    // A loopback name is allowed without settings, and is what the link says.
    let port = app.address.rsplit(':').next().unwrap();
    let res = app
        .client
        .post(app.url("/api/invite/send-email"))
        .header(header::HOST, format!("localhost:{port}"))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .json(&json!({"emails": ["victim@example.com"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let link = app.invitation_link_to("victim@example.com", 1).await;
    assert!(
        link.starts_with(&format!("http://localhost:{port}/user/signup?token=")),
        "{link}"
    );
}

async fn links_use_the_public_host_whatever_the_request_says(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("https://labels.example.com".into());
        c.allowed_hosts = vec!["127.0.0.1".into(), "internal.example".into()];
    })
    .await;
    let email = format!("{}@example.com", unique("owner-"));
    let res = app
        .client
        .post(app.url("/_sfn/auth/sign_up"))
        .header(header::ORIGIN, "https://labels.example.com")
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-gatehouse_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let token: Value = app
        .client
        .get(app.url("/api/current-user/token"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"]
        .as_str()
        .expect("signed in by the __Host- cookie");
    let link: Value = app
        .client
        .get(app.url("/api/invite"))
        .header(header::HOST, "internal.example")
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        link["invite_url"]
            .as_str()
            .unwrap()
            .starts_with("https://labels.example.com/user/signup?token="),
        "{link}"
    );
    // Over HTTPS the plain cookie name is not a session (a neighbour could have planted it).
    let plain = session.replace("__Host-", "");
    let res = app
        .client
        .get(app.url("/api/current-user/whoami"))
        .header(header::COOKIE, plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn forwarded_headers_count_only_from_a_trusted_proxy(backend: Backend) {
    let trusting = TestApp::spawn_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.allowed_hosts = vec!["labels.example.com".into(), "127.0.0.1".into()];
        c.login_max_failures_per_client = 2;
    })
    .await;
    // Through the proxy: its X-Forwarded-* name the public address.
    trusting.sign_up().await;
    let token = trusting.token(&trusting.client).await;
    let link = |app: &TestApp, headers: Vec<(&'static str, &'static str)>| {
        let mut request = app
            .client
            .get(app.url("/api/invite"))
            .header(header::AUTHORIZATION, format!("Token {token}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let res = link(
        &trusting,
        vec![
            ("x-forwarded-host", "labels.example.com"),
            ("x-forwarded-proto", "https"),
            ("host", "labels.example.com"),
        ],
    )
    .await
    .unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(
        body["invite_url"]
            .as_str()
            .unwrap()
            .starts_with("https://labels.example.com/user/signup"),
        "{body}"
    );
    // A forwarded host must be allowed like any other.
    let res = link(
        &trusting,
        vec![
            ("x-forwarded-host", "evil.example"),
            ("host", "labels.example.com"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Failures are counted per forwarded client.
    let from = |ip: &'static str| {
        let app = &trusting;
        async move {
            app.client
                .post(app.url("/_sfn/auth/log_in"))
                .header("x-forwarded-for", ip)
                .header(header::HOST, "labels.example.com")
                .header(header::ORIGIN, "http://labels.example.com")
                .form(&[("email", "nobody@example.com"), ("password", WRONG)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(from("203.0.113.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(from("203.0.113.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(from("203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from("203.0.113.2").await, StatusCode::UNAUTHORIZED);

    // Without the proxy listed, the same headers are ignored.
    let plain = TestApp::spawn_with(backend, |c| c.login_max_failures_per_client = 2).await;
    plain.sign_up().await;
    let token = plain.token(&plain.client).await;
    let body: Value = plain
        .client
        .get(plain.url("/api/invite"))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .header("x-forwarded-host", "localhost")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["invite_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/user/signup", plain.address)),
        "{body}"
    );
    for (ip, status) in [
        ("203.0.113.1", StatusCode::UNAUTHORIZED),
        ("203.0.113.2", StatusCode::UNAUTHORIZED),
        ("203.0.113.3", StatusCode::TOO_MANY_REQUESTS),
    ] {
        let res = plain
            .client
            .post(plain.url("/_sfn/auth/log_in"))
            .header("x-forwarded-for", ip)
            .header(header::ORIGIN, &plain.address)
            .form(&[("email", "nobody@example.com"), ("password", WRONG)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "all from 127.0.0.1");
    }
}

async fn signed_in(app: &TestApp, client: &Client) -> bool {
    let res = client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    match res.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other}"),
    }
}

/// Whether `client` is signed in; when it is, waits until the session has been seen within the
/// last minute (the server records a request after answering it, at most once a minute).
async fn signed_in_now(app: &TestApp, client: &Client) -> bool {
    let at = app.now();
    if !signed_in(app, client).await {
        return false;
    }
    eventually("the request recorded on the session", || async {
        let seen: Option<i64> = sqlx::query_scalar("SELECT MAX(last_seen_at) FROM sessions")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
        seen.filter(|&seen| seen >= at - 60)
    })
    .await;
    true
}

async fn an_idle_session_ends(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let idle = app.config.session_idle;
    assert_eq!(idle, Duration::from_secs(12 * 60 * 60));
    app.sign_up().await;
    // Busy: every request pushes the deadline back, for four times the idle time.
    for _ in 0..6 {
        assert!(signed_in_now(&app, &app.client).await);
        app.advance(idle * 2 / 3);
    }
    assert!(signed_in_now(&app, &app.client).await);
    // Still signed in a minute short of the idle time; idle for all of it, signed out.
    app.advance(idle - Duration::from_secs(60));
    assert!(
        signed_in_now(&app, &app.client).await,
        "idle for less than 12 h"
    );
    app.advance(idle);
    assert!(!signed_in(&app, &app.client).await, "idle for 12 h");
}

async fn a_session_ends_at_its_maximum_age_however_busy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let max_age = app.config.session_max_age;
    assert_eq!(max_age, Duration::from_secs(14 * 24 * 60 * 60));
    let email = format!("{}@example.com", unique("owner-"));
    let res = app.sign_up_with(&app.client, &email, PASSWORD).await;
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let max_age_attribute = format!("Max-Age={}", max_age.as_secs());
    assert!(
        cookie
            .split(';')
            .any(|part| part.trim() == max_age_attribute),
        "the browser keeps it no longer: {cookie}"
    );
    // Busy all along: a request every two thirds of the idle time, until a minute short of the
    // maximum age.
    let end = max_age - Duration::from_secs(60);
    let mut age = Duration::ZERO;
    while age < end {
        assert!(signed_in_now(&app, &app.client).await);
        let step = (app.config.session_idle * 2 / 3).min(end - age);
        app.advance(step);
        age += step;
    }
    assert!(signed_in_now(&app, &app.client).await);
    // Past the maximum age since the session began.
    app.advance(Duration::from_secs(60));
    assert!(!signed_in(&app, &app.client).await);
}

async fn deactivation_ends_sessions_and_the_token_for_good(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    let old_token = app.token(&member.client).await;
    assert!(signed_in(&app, &member.client).await);

    app.set_role(member.id, Role::Deactivated).await;
    app.set_role(member.id, Role::Annotator).await;

    assert!(
        !signed_in(&app, &member.client).await,
        "restoring revives no session"
    );
    let res = app
        .api(Method::GET, "/api/current-user/whoami", &old_token)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "nor the old token");
    // They sign in again, with a new token.
    let res = app
        .log_in_with(&member.client, &member.email, PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(app.token(&member.client).await, old_token);
}
