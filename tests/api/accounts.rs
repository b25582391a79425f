//! Signing up, logging in and out, sessions and deactivation.

use gatehouse::domain::{OrganizationView, Role, SeatsView};
use reqwest::{header, StatusCode};
use serde_json::Value;

use crate::helpers::*;

crate::on_both_databases!(
    signup_creates_an_organization_with_the_user_as_owner_and_signs_in,
    a_second_signup_with_the_same_email_in_any_case_makes_nothing,
    signup_reports_invalid_fields_by_name,
    signup_with_an_unknown_invite_token_is_refused_and_creates_nothing,
    login_and_logout,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    login_starts_a_new_session_and_ends_the_old_one,
    sessions_and_tokens_are_stored_only_as_hashes,
    disabled_signup_refuses_signup_without_a_link,
    twenty_concurrent_signups_with_one_email_create_one_account,
    deactivated_users_are_signed_out_and_cannot_log_in,
);

async fn signup_creates_an_organization_with_the_user_as_owner_and_signs_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = format!("{}@Example.com", unique("Ada-"));
    let res = app
        .sign_up_with(&app.client, &format!("  {email} "), PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("gatehouse_session=ghc_"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Secure"), "plain HTTP gets no Secure flag");

    let me = app.whoami(&app.client).await;
    assert_eq!(me.email, email.to_lowercase());
    assert_eq!(me.role, Role::Owner);

    let org: OrganizationView = app
        .client
        .get(app.url("/api/organization/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(org.title, email.to_lowercase());
    assert_eq!(org.owner.email, email.to_lowercase());
    assert_eq!(org.id, me.organization_id);
    assert_eq!(
        org.seats,
        SeatsView {
            used: 1,
            limit: None
        }
    );
    assert_eq!(
        (
            app.count("users").await,
            app.count("organizations").await,
            app.count("memberships").await
        ),
        (1, 1, 1)
    );
}

async fn a_second_signup_with_the_same_email_in_any_case_makes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let client = new_client();
    let res = app
        .sign_up_with(&client, &email.to_uppercase(), "another password")
        .await;
    // Answered as a new address is (a signup does not tell who has an account); the address's
    // owner is mailed instead, and the browser holds no session.
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.wait_for_mail_to(&email, 1).await.subject,
        "Gatehouse: you already have an account"
    );
    let res = client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
}

async fn signup_reports_invalid_fields_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        ("not-an-email", PASSWORD, "email", "valid email"),
        ("", PASSWORD, "email", "Enter your email"),
        ("ok@example.com", "short", "password", "at least 8"),
        (
            "ok@example.com",
            &"p".repeat(129),
            "password",
            "at most 128",
        ),
    ];
    for (email, password, field, words) in cases {
        let res = app.sign_up_with(&new_client(), email, password).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Invalid"]["field"], field, "{body}");
        assert!(
            body["Invalid"]["message"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    // A request the server function cannot even read is a client error too, never a 500.
    let res = app
        .server_fn(&app.client, "auth/sign_up", &[("nonsense", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("users").await, 0);
}

async fn signup_with_an_unknown_invite_token_is_refused_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .server_fn(
            &app.client,
            "auth/sign_up",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("token", "ghi_bogus"),
            ],
        )
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        "This invite link is invalid or has been reset. Ask your administrator for a new one."
    );
    assert_eq!(app.count("users").await, 0);
}

async fn login_and_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let browser = new_client();
    let whoami = |c: reqwest::Client| {
        let url = app.url("/api/current-user/whoami");
        async move { c.get(url).send().await.unwrap().status() }
    };
    assert_eq!(whoami(browser.clone()).await, StatusCode::UNAUTHORIZED);
    let res = app
        .log_in_with(&browser, &email.to_uppercase(), PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami(browser.clone()).await, StatusCode::OK);

    let res = app.server_fn(&browser, "auth/log_out", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cleared = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(whoami(browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("sessions").await,
        1,
        "only the signup session of the app's own client is left"
    );
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let wrong_password = app
        .log_in_with(&new_client(), &email, "not the password")
        .await;
    let unknown = app
        .log_in_with(&new_client(), "nobody@example.com", PASSWORD)
        .await;
    let a = server_fn_error(wrong_password, StatusCode::UNAUTHORIZED).await;
    let b = server_fn_error(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(a, "The email and password you entered don't match.");
    assert_eq!(a, b);
}

async fn login_starts_a_new_session_and_ends_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let first = app.log_in_with(&new_client(), &email, PASSWORD).await;
    let old = first
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let again = app
        .client
        .post(app.url("/_sfn/auth/log_in"))
        .header(header::COOKIE, &old)
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let new = again
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(old, new);
    let with = |cookie: String| {
        let req = new_client()
            .get(app.url("/api/current-user/whoami"))
            .header(header::COOKIE, cookie);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(with(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(with(new).await, StatusCode::OK);
}

async fn sessions_and_tokens_are_stored_only_as_hashes(backend: Backend) {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn(backend).await;
    let res = app
        .sign_up_with(&app.client, "hash@example.com", PASSWORD)
        .await;
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("gatehouse_session=")
        .to_owned();
    let token = app.token(&app.client).await;
    assert!(token.starts_with("ght_"));

    let stored: Vec<u8> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(stored, Sha256::digest(session.as_bytes()).to_vec());
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(stored, Sha256::digest(token.as_bytes()).to_vec());
    let password: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert!(
        password.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{password}"
    );
}

async fn disabled_signup_refuses_signup_without_a_link(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.disable_signup_without_link = true).await;
    let res = app
        .sign_up_with(&app.client, "ada@example.com", PASSWORD)
        .await;
    let message = server_fn_error(res, StatusCode::FORBIDDEN).await;
    assert!(message.contains("invite link"), "{message}");
    assert_eq!(app.count("users").await, 0);

    let page = app
        .client
        .get(app.url("/user/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Signing up needs an invitation"),
        "the page explains"
    );
    assert!(!page.contains("name=\"password\""), "no form is offered");
    let login = app
        .client
        .get(app.url("/user/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("name=\"password\""));
    assert!(
        !login.contains("href=\"/user/signup\""),
        "the login page hides the Sign up link"
    );

    // With signup open, the link is there.
    let open = TestApp::spawn(backend).await;
    let login = open
        .client
        .get(open.url("/user/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("href=\"/user/signup\""));
}

async fn twenty_concurrent_signups_with_one_email_create_one_account(backend: Backend) {
    // Every signup gets to hash its password (half at once, half right after: none waits more
    // than one round): the race is in the database, not the hashers.
    let app = TestApp::spawn_with(backend, |c| c.hash_concurrency = 10).await;
    let attempts = (0..20).map(|i| {
        let app = &app;
        async move {
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            let res = app.sign_up_with(&new_client(), email, PASSWORD).await;
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    });
    let results = futures::future::join_all(attempts).await;
    // Every one is answered alike, whether it made the account or found it made.
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
    assert_eq!(
        (
            app.count("users").await,
            app.count("organizations").await,
            app.count("memberships").await
        ),
        (1, 1, 1)
    );
}

async fn deactivated_users_are_signed_out_and_cannot_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    assert_eq!(
        member
            .client
            .get(app.url("/api/current-user/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.set_role(member.id, Role::Deactivated).await;
    let res = member
        .client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_detail(res, StatusCode::UNAUTHORIZED).await,
        "Sign in to continue.",
        "the session ended"
    );
    let res = app
        .log_in_with(&new_client(), &member.email, PASSWORD)
        .await;
    assert!(server_fn_error(res, StatusCode::FORBIDDEN)
        .await
        .contains("deactivated"));
}
