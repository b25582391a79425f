//! The account-takeover paths an attacker tries: a forged `Host` in mailed links, credentials
//! that outlive a recovery, reset-mail floods, and sessions or accounts left behind.

use std::time::Duration;

use gatehouse::domain::Role;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

crate::on_both_databases!(
    a_forged_host_never_builds_a_mailed_link,
    behind_a_wildcard_host_no_link_is_mailed,
    a_password_reset_replaces_the_api_token,
    a_password_change_replaces_the_api_token_when_asked,
    a_signup_with_a_registered_address_is_answered_as_a_new_one,
    signing_up_while_signed_in_ends_the_old_session,
    reset_mails_to_one_address_are_limited,
    a_deactivated_account_cannot_reset_its_password,
    an_unreadable_session_id_is_a_session_not_found,
);

const NEW_PASSWORD: &str = "a brand new password";

/// Every link in every message sent so far starts with one of `origins`.
fn assert_links_stay_on(app: &TestApp, origins: &[String]) {
    let sent = app.state.mailer.memory().unwrap().messages();
    for mail in &sent {
        for part in [&mail.text, &mail.html] {
            for (at, _) in part.match_indices("http") {
                let link = &part[at..];
                assert!(
                    origins.iter().any(|o| link.starts_with(&format!("{o}/"))),
                    "a link off the server in {:?}: {}",
                    mail.subject,
                    &link[..link.len().min(80)]
                );
            }
        }
    }
}

/// An anonymous reset request for `email`, sent with `host` as its `Host`.
async fn reset_request_with_host(app: &TestApp, email: &str, host: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/_sfn/password_reset/request"))
        .header(header::HOST, host)
        .form(&[("email", email)])
        .send()
        .await
        .unwrap()
}

async fn a_forged_host_never_builds_a_mailed_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let token = app.token(&app.client).await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    for host in [
        "[::1]@evil.example".to_owned(),
        "[::1]@evil.example:8443".to_owned(),
        "[::1]evil.example".to_owned(),
        "[::1]/x".to_owned(),
        format!("[::1]:{port}@evil.example"),
        "127.0.0.1:99999".to_owned(),
        "127.0.0.1:0".to_owned(),
        format!("localhost:{port}/evil.example"),
        "0x7f.1".to_owned(),
    ] {
        let res = reset_request_with_host(&app, &owner, &host).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{host}");
        let detail = error_detail(
            app.api(reqwest::Method::POST, "/api/invite/send-email", &token)
                .header(header::HOST, &host)
                .json(&json!({"emails": ["victim@example.com"]}))
                .send()
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(detail.starts_with("Unknown host"), "{host}: {detail}");
    }
    assert_eq!(app.count("invitations").await, 0);
    // The genuine request, on a loopback name, is mailed a link on that name.
    let res = reset_request_with_host(&app, &owner, &format!("[::1]:{port}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mail = app.wait_for_mail_to(&owner, 1).await;
    assert!(
        mail.text.contains(&format!(
            "http://[::1]:{port}/user/reset-password?token=ghr_"
        )),
        "{}",
        mail.text
    );
    let loopback = ["127.0.0.1", "localhost", "[::1]"].map(|h| format!("http://{h}:{port}"));
    assert_links_stay_on(&app, &loopback);
}

async fn behind_a_wildcard_host_no_link_is_mailed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.allowed_hosts = vec!["*".into()];
    })
    .await;
    // Any well-formed host is answered, and the account is made, without its verification mail.
    let owner = format!("{}@example.com", unique("owner-"));
    let res = app
        .client
        .post(app.url("/_sfn/auth/sign_up"))
        .header(header::HOST, "evil.example")
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("email", owner.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let token = app.token(&app.client).await;
    // The reset request is answered as always, and nothing is queued.
    let res = reset_request_with_host(&app, &owner, "evil.example").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.count("account_tokens").await, 0);
    // An administrator is told what to set.
    let detail = error_detail(
        app.api(reqwest::Method::POST, "/api/invite/send-email", &token)
            .header(header::HOST, "evil.example")
            .json(&json!({"emails": ["victim@example.com"]}))
            .send()
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(detail.contains("LABEL_STUDIO_HOST"), "{detail}");
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(app.count("email_outbox").await, 0);
}

/// The token of the reset link in the `nth` reset mail to `email`.
async fn reset_token_in_mail(app: &TestApp, email: &str, nth: usize) -> String {
    let resets = |sent: &[gatehouse::server::mail::Email]| {
        sent.iter()
            .filter(|m| m.to == email && m.subject == "Reset your Gatehouse password")
            .cloned()
            .collect::<Vec<_>>()
    };
    let sent = app
        .wait_for_mail_where(&format!("reset mail {nth} to {email}"), |sent| {
            resets(sent).len() >= nth
        })
        .await;
    let mail = resets(&sent).swap_remove(nth - 1);
    let at = mail
        .text
        .find("token=ghr_")
        .expect("the message has a reset link");
    mail.text[at + "token=".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn request_reset(app: &TestApp, email: &str) {
    let res = new_client()
        .post(app.url("/api/password-reset/request"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

async fn confirm_reset(app: &TestApp, client: &Client, token: &str) -> reqwest::Response {
    app.server_fn(
        client,
        "password_reset/confirm",
        &[("token", token), ("password", NEW_PASSWORD)],
    )
    .await
}

async fn status_with_token(app: &TestApp, token: &str) -> StatusCode {
    app.api(Method::GET, "/api/organization/", token)
        .send()
        .await
        .status()
}

async fn a_password_reset_replaces_the_api_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    // Someone who had the password, or registered the address first, holds the token.
    let stolen = app.token(&app.client).await;
    assert_eq!(status_with_token(&app, &stolen).await, StatusCode::OK);
    request_reset(&app, &owner).await;
    let token = reset_token_in_mail(&app, &owner, 1).await;
    let mail = app.wait_for_mail_to(&owner, 1).await;
    assert!(
        mail.text.contains("replaces your personal API token"),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("replaces your personal API token"),
        "{}",
        mail.html
    );
    let (_, page) = load_page(
        &new_client(),
        &app.url(&format!("/user/reset-password?token={token}")),
    )
    .await;
    assert!(page.contains("replaces your personal API token"), "{page}");
    let owner_client = new_client();
    let res = confirm_reset(&app, &owner_client, &token).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(
        status_with_token(&app, &stolen).await,
        StatusCode::UNAUTHORIZED
    );
    // Nor can the old session make a new token.
    let res = app
        .client
        .post(app.url("/api/current-user/reset-token"))
        .header(header::ORIGIN, &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let fresh = app.token(&owner_client).await;
    assert_ne!(fresh, stolen);
    assert_eq!(status_with_token(&app, &fresh).await, StatusCode::OK);
    // The log says so.
    let org = app.organization(&fresh).await.id;
    let log: serde_json::Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?action=password_reset.completed"),
            &fresh,
        )
        .json_ok()
        .await;
    assert_eq!(
        log["results"][0]["details"]["api_token_reset"], true,
        "{log}"
    );
}

async fn a_password_change_replaces_the_api_token_when_asked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let before = app.token(&app.client).await;
    // Unticked (the field left out): the token stays.
    let res = app
        .server_fn(
            &app.client,
            "account/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(status_with_token(&app, &before).await, StatusCode::OK);
    assert_eq!(app.token(&app.client).await, before);
    // Ticked, as the form has it by default: a new token, the old one dead.
    let res = app
        .server_fn(
            &app.client,
            "account/change_password",
            &[
                ("current_password", NEW_PASSWORD),
                ("new_password", PASSWORD),
                ("reset_api_token", "on"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(
        status_with_token(&app, &before).await,
        StatusCode::UNAUTHORIZED
    );
    let after = app.token(&app.client).await;
    assert_ne!(after, before);
    // The REST API asks for it by name.
    let res = app
        .api(Method::POST, "/api/current-user/password", &after)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "reset_api_token": true}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_with_token(&app, &after).await,
        StatusCode::UNAUTHORIZED
    );
    // The Account page offers it, ticked.
    let client = new_client();
    let res = app.log_in_with(&client, &owner, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, page) = load_page(&client, &app.url("/user/account")).await;
    let at = page.find("name=\"reset_api_token\"").expect("the checkbox");
    let tag = &page[page[..at].rfind('<').unwrap()..at + page[at..].find('>').unwrap()];
    assert!(tag.contains("checked"), "{tag}");
}

async fn a_signup_with_a_registered_address_is_answered_as_a_new_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let users = app.count("users").await;
    let again = new_client();
    let taken = app.sign_up_with(&again, &owner, "another password 1").await;
    let fresh = app
        .sign_up_with(
            &new_client(),
            &format!("{}@example.com", unique("new-")),
            PASSWORD,
        )
        .await;
    // The same status, the same headers but for their secrets, the same body.
    assert_eq!(taken.status(), fresh.status());
    let shape = |res: &reqwest::Response| {
        let mut names: Vec<String> = res.headers().keys().map(|k| k.to_string()).collect();
        names.retain(|n| n != "date");
        names.sort();
        let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
        let attributes = cookie.split_once(';').unwrap().1.to_owned();
        (
            names,
            attributes,
            res.headers().get(header::LOCATION).cloned(),
        )
    };
    assert_eq!(shape(&taken), shape(&fresh));
    assert_eq!(taken.text().await.unwrap(), fresh.text().await.unwrap());
    // Nothing was made, and the address was told.
    assert_eq!(app.count("users").await, users + 1);
    let mail = app.wait_for_mail_to(&owner, 1).await;
    assert_eq!(mail.subject, "Gatehouse: you already have an account");
    assert!(
        mail.text.contains(&format!("{}/user/login", app.address))
            && mail
                .text
                .contains(&format!("{}/user/forgot-password", app.address)),
        "{}",
        mail.text
    );
    // The cookie opens nothing; the account's password is unchanged.
    let res = again
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.log_in_with(&new_client(), &owner, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn signing_up_while_signed_in_ends_the_old_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let sessions_before = app.count("sessions").await;
    // The same browser signs up a second account.
    let second = format!("{}@example.com", unique("second-"));
    let res = app.sign_up_with(&app.client, &second, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.whoami(&app.client).await.email, second);
    // The first account's session is gone, not merely forgotten by the browser.
    assert_eq!(app.count("sessions").await, sessions_before);
}

async fn reset_mails_to_one_address_are_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.resend_cooldown = Duration::from_secs(60);
    })
    .await;
    let owner = app.sign_up().await;
    let sentinel = format!("{}@example.com", unique("sentinel-"));
    assert_eq!(
        app.sign_up_with(&new_client(), &sentinel, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    request_reset(&app, &owner).await;
    let first = reset_token_in_mail(&app, &owner, 1).await;
    // A flood within the minute: the same answer each time, no new mail, the link stays alive.
    for _ in 0..10 {
        request_reset(&app, &owner).await;
    }
    request_reset(&app, &sentinel).await;
    app.wait_for_mail_to(&sentinel, 1).await;
    let sent = app.state.mailer.memory().unwrap().messages();
    let resets = sent
        .iter()
        .filter(|m| m.to == owner && m.subject == "Reset your Gatehouse password")
        .count();
    assert_eq!(resets, 1, "{sent:#?}");
    // An administrator sending it is told to wait.
    let me = app.whoami(&app.client).await;
    let res = app
        .server_fn(
            &app.client,
            "members/send_password_reset",
            &[("user_id", &me.id.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = confirm_reset(&app, &new_client(), &first).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

async fn a_deactivated_account_cannot_reset_its_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    request_reset(&app, &member.email).await;
    let token = reset_token_in_mail(&app, &member.email, 1).await;
    app.set_role(member.id, Role::Deactivated).await;
    // A link sent before the deactivation is dead, with the answer of any dead link.
    let client = new_client();
    let res = confirm_reset(&app, &client, &token).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("invalid, has expired or was already used"));
    assert_eq!(
        client
            .get(app.url("/api/current-user/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // And a new request mails nothing (answered as for an unknown address).
    request_reset(&app, &member.email).await;
    let owner = app.whoami(&app.client).await.email;
    request_reset(&app, &owner).await;
    app.wait_for_mail_to(&owner, 1).await;
    let sent = app.state.mailer.memory().unwrap().messages();
    assert_eq!(
        sent.iter()
            .filter(|m| m.to == member.email && m.subject == "Reset your Gatehouse password")
            .count(),
        1,
        "{sent:#?}"
    );
    // Restored, the member signs in with the old password: the link changed nothing.
    app.set_role(member.id, Role::Annotator).await;
    let res = app
        .log_in_with(&new_client(), &member.email, PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn an_unreadable_session_id_is_a_session_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let detail = error_detail(
        app.api(Method::DELETE, "/api/current-user/sessions/%FF%FE", &token)
            .send()
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(!detail.contains("Organization"), "{detail}");
    assert!(detail.contains("session"), "{detail}");
}
