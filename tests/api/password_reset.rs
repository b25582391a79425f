//! A forgotten password: the same answer for every address, a one-time link by mail that dies
//! after its lifetime, when a newer one is asked for or when the password changes, and a new
//! password that ends every old session.

use std::time::Duration;

use gatehouse::domain::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    known_and_unknown_addresses_are_answered_alike,
    the_link_works_once_and_ends_every_old_session,
    a_link_dies_after_its_lifetime,
    a_newer_link_ends_the_earlier_one,
    requests_are_limited_per_client_address,
    an_admin_sends_a_member_the_reset_mail,
    the_cli_sets_a_password_ends_sessions_and_kills_links,
    the_pages_lead_from_login_to_a_new_password,
);

const NEW_PASSWORD: &str = "a brand new password";
const INVALID_LINK: &str =
    "This password reset link is invalid, has expired or was already used. Request a new one.";

/// The reset link in a message, if it has one.
fn reset_link(text: &str) -> Option<String> {
    let start = text.find("http")?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    let link = &rest[..end];
    link.contains("/user/reset-password?token=ghr_")
        .then(|| link.to_owned())
}

impl TestApp {
    async fn request_reset(&self, email: &str) -> (StatusCode, Value) {
        let res = new_client()
            .post(self.url("/api/password-reset/request"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    /// Asks for a reset of `email` and returns the token of the `nth` mail to it.
    async fn reset_token(&self, email: &str, nth: usize) -> String {
        assert_eq!(self.request_reset(email).await.0, StatusCode::ACCEPTED);
        self.reset_token_in_mail(email, nth).await
    }

    async fn reset_token_in_mail(&self, email: &str, nth: usize) -> String {
        let mail = self.wait_for_mail_to(email, nth).await;
        let link = reset_link(&mail.text).expect("the message has a reset link");
        assert!(link.starts_with(&self.address), "{link}");
        assert!(mail.html.contains(&link), "{}", mail.html);
        link.split("token=").nth(1).unwrap().to_owned()
    }

    async fn confirm_reset(
        &self,
        client: &Client,
        token: &str,
        password: &str,
    ) -> reqwest::Response {
        self.server_fn(
            client,
            "password_reset/confirm",
            &[("token", token), ("password", password)],
        )
        .await
    }
}

async fn known_and_unknown_addresses_are_answered_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let known = app.request_reset(&email).await;
    let unknown = app.request_reset("nobody-here@example.com").await;
    let malformed = app.request_reset("not an address").await;
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known, unknown);
    assert_eq!(known, malformed);
    assert_eq!(
        known.1["detail"],
        "If an account exists for that address, we sent a link."
    );
    // A newer request ends the earlier link, and an undelivered message with it: the first is
    // waited for before asking again.
    app.wait_for_mail_to(&email, 1).await;
    // The page's server function answers alike too.
    let mut answers = Vec::new();
    for address in [email.as_str(), "nobody-here@example.com"] {
        let res = app
            .server_fn(
                &new_client(),
                "password_reset/request",
                &[("email", address)],
            )
            .await;
        answers.push((res.status(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::OK);

    // Only the account gets mail: two messages, with the subject of a reset.
    let mail = app.wait_for_mail_to(&email, 2).await;
    assert_eq!(mail.subject, "Reset your Gatehouse password");
    assert!(reset_link(&mail.text).is_some(), "{}", mail.text);
    let sent = app.state.mailer.memory().unwrap().messages();
    assert!(sent.iter().all(|m| m.to == email), "{sent:#?}");
    // The database holds no secret: only hashes and salts.
    let token = reset_link(&mail.text).unwrap();
    let token = token.split("token=").nth(1).unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM account_tokens WHERE token_hash = $1")
            .bind(gatehouse::server::auth::secrets::hash(token).to_vec())
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(stored, 1);

    // A body that is not an object with an email string is refused.
    for body in [json!({}), json!({"email": 5}), json!(["a@example.com"])] {
        let res = new_client()
            .post(app.url("/api/password-reset/request"))
            .json(&body)
            .send()
            .await
            .unwrap();
        error_detail(res, StatusCode::BAD_REQUEST).await;
    }
}

async fn the_link_works_once_and_ends_every_old_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let laptop = new_client();
    assert_eq!(
        app.log_in_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let api_token = app.token(&app.client).await;
    let token = app.reset_token(&email, 1).await;

    // A password that is too short is refused without using the link up.
    let browser = new_client();
    let res = app.confirm_reset(&browser, &token, "short").await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST)
        .await
        .contains("at least 8"));

    let res = app.confirm_reset(&browser, &token, NEW_PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    // Every old session is gone; the new one works.
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of_whoami(&app, &laptop).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.whoami(&browser).await.email, email);
    // The one session left was opened by the link.
    let sessions: Value = app.get_json(&browser, "/api/current-user/sessions").await;
    let opened_by: Vec<&Value> = sessions["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["opened_by"])
        .collect();
    assert_eq!(opened_by, [&json!("reset_link")], "{sessions}");
    // The API token is replaced too: whoever held the account before keeps nothing.
    assert_eq!(
        app.api(Method::GET, "/api/current-user/whoami", &api_token)
            .send()
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The new password signs in, the old one no longer does.
    assert_eq!(
        app.log_in_with(&new_client(), &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.log_in_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Once only, from the page or over REST.
    let res = app
        .confirm_reset(&new_client(), &token, "yet another password")
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    let res = new_client()
        .post(app.url("/api/password-reset/confirm"))
        .json(&json!({ "token": token, "password": "yet another password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_detail(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    // A made-up token reads the same.
    let res = app
        .confirm_reset(&new_client(), "ghr_made-up", "yet another password")
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
}

async fn a_link_dies_after_its_lifetime(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let lifetime = app.config.password_reset_lifetime;
    assert_eq!(lifetime, Duration::from_secs(60 * 60));
    let email = app.sign_up().await;
    let token = app.reset_token(&email, 1).await;
    app.advance(lifetime);
    let res = app.confirm_reset(&new_client(), &token, NEW_PASSWORD).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    assert_eq!(
        app.log_in_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn a_newer_link_ends_the_earlier_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let first = app.reset_token(&email, 1).await;
    let second = app.reset_token(&email, 2).await;
    assert_ne!(first, second);
    let res = app.confirm_reset(&new_client(), &first, NEW_PASSWORD).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    // Over REST: 204, with the new session's cookie.
    let client = new_client();
    let res = client
        .post(app.url("/api/password-reset/confirm"))
        .json(&json!({ "token": second, "password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami(&client).await.email, email);
}

async fn requests_are_limited_per_client_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.signups_per_hour = 2).await;
    for address in ["one@example.com", "two@example.com"] {
        assert_eq!(app.request_reset(address).await.0, StatusCode::ACCEPTED);
    }
    let res = new_client()
        .post(app.url("/api/password-reset/request"))
        .json(&json!({ "email": "three@example.com" }))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key(reqwest::header::RETRY_AFTER));
    let detail = error_detail(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        detail.starts_with("Too many password reset requests"),
        "{detail}"
    );
    let res = app
        .server_fn(
            &new_client(),
            "password_reset/request",
            &[("email", "four@example.com")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn an_admin_sends_a_member_the_reset_mail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = app.sign_up().await;
    let member = app.add_member(Role::Reviewer).await;
    let admin = app.add_member(Role::Administrator).await;
    let annotator = app.add_member(Role::Annotator).await;
    let owner_id = app.whoami(&app.client).await.id;
    let send = |client: &Client, user_id: i64| {
        let client = client.clone();
        let user_id = user_id.to_string();
        let app = &app;
        async move {
            app.server_fn(
                &client,
                "members/send_password_reset",
                &[("user_id", user_id.as_str())],
            )
            .await
        }
    };
    assert_eq!(
        send(&admin.client, member.id).await.status(),
        StatusCode::OK
    );
    // Their invitation was the first message to them; the reset is the second.
    let token = app.reset_token_in_mail(&member.email, 2).await;
    let res = app.confirm_reset(&new_client(), &token, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED
    );

    // Only the Owner sends it to the Owner.
    let res = send(&admin.client, owner_id).await;
    assert!(server_fn_error(res, StatusCode::FORBIDDEN)
        .await
        .contains("Only the Owner"));
    assert_eq!(send(&app.client, owner_id).await.status(), StatusCode::OK);
    app.reset_token_in_mail(&owner_email, 1).await;
    // Other roles may not; another organization's Owner finds no such member.
    assert_eq!(
        send(&annotator.client, member.id).await.status(),
        StatusCode::FORBIDDEN
    );
    let other = new_client();
    app.sign_up_with(
        &other,
        &format!("{}@example.com", unique("other-")),
        PASSWORD,
    )
    .await;
    assert_eq!(
        send(&other, member.id).await.status(),
        StatusCode::NOT_FOUND
    );
    // A deactivated member cannot sign in: no mail for them.
    app.set_role(annotator.id, Role::Deactivated).await;
    assert_eq!(
        send(&app.client, annotator.id).await.status(),
        StatusCode::CONFLICT
    );
}

async fn the_cli_sets_a_password_ends_sessions_and_kills_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.reset_token(&email, 1).await;
    let (ok, out) = app.cli(
        &[
            "reset-password",
            "--email",
            &email.to_uppercase(),
            "--password-stdin",
        ],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&email) && out.contains("every session"),
        "{out}"
    );
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.log_in_with(&new_client(), &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // The password changed: the link sent before is dead.
    let res = app
        .confirm_reset(&new_client(), &token, "yet another password")
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );

    for (args, stdin, words) in [
        (
            vec![
                "reset-password",
                "--email",
                "nobody@example.com",
                "--password-stdin",
            ],
            "long enough pass",
            "no account",
        ),
        (
            vec![
                "reset-password",
                "--email",
                email.as_str(),
                "--password-stdin",
            ],
            "short",
            "at least 8",
        ),
        (
            vec!["reset-password", "--email", email.as_str()],
            "",
            "--password-stdin",
        ),
    ] {
        let (ok, out) = app.cli(&args, stdin);
        assert!(!ok, "{args:?} should fail");
        assert!(out.contains(words), "{args:?}: {out}");
    }
}

async fn the_pages_lead_from_login_to_a_new_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let get = |path: &str| {
        let url = app.url(path);
        async move {
            let res = new_client().get(url).send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, login) = get("/user/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(login.contains("href=\"/user/forgot-password\""), "{login}");
    let (status, forgot) = get("/user/forgot-password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(forgot.contains("Forgot password?") && forgot.contains("Send reset link"));
    let (status, reset) = get("/user/reset-password?token=ghr_abc").await;
    assert_eq!(status, StatusCode::OK);
    assert!(reset.contains("Choose a new password") && reset.contains("ghr_abc"));
}
