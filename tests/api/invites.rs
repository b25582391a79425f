use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use gatehouse::server::config::MailTransport;

use crate::{helpers::*, smtp::*};

crate::on_both_databases!(
    the_invite_link_is_stable_until_reset_and_then_dies_on_every_instance,
    a_link_signup_is_pending_and_refused_everywhere,
    email_invitations_report_each_address_and_register_with_the_role,
    an_email_invitation_works_once_only_for_its_address,
    revoked_resent_and_expired_invitations_cannot_be_used,
    only_owner_and_administrator_may_use_the_invite_endpoints,
    memberships_are_paged_filtered_and_searched,
    invitations_are_delivered_over_smtp_and_survive_an_outage,
    the_mail_folder_gets_each_message_when_no_smtp_is_configured,
);

async fn invite(app: &TestApp, token: &str, emails: &[&str], role: &str) -> Vec<Value> {
    let res = app
        .api(Method::POST, "/api/invite/send-email", token)
        .await
        .json(&json!({ "emails": emails, "role": role }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["results"].as_array().unwrap().clone()
}

/// Signs up through an invite token; returns the response and the new user's client.
async fn join(app: &TestApp, token: &str, email: &str) -> (reqwest::Response, reqwest::Client) {
    let client = new_client();
    let res = app
        .server_fn(&client, "auth/sign_up", &[("email", email), ("password", PASSWORD), ("token", token)])
        .await;
    (res, client)
}

async fn whoami(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    client.get(app.url("/api/current-user/whoami")).send().await.unwrap()
}

/// Waits for the outbox to hand `address` its first message and returns the link in it.
async fn link_for(app: &TestApp, address: &str) -> String {
    let message = app.wait_for_mail_to(address, 1).await;
    invitation_link(&message.text).expect("the message has a link")
}

async fn owner(app: &TestApp) -> String {
    app.sign_up().await;
    app.token(&app.client).await
}

async fn the_invite_link_is_stable_until_reset_and_then_dies_on_every_instance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let first: Value = app.api(Method::GET, "/api/invite", &token).await.send().await.unwrap().json().await.unwrap();
    let again: Value = app.api(Method::GET, "/api/invite", &token).await.send().await.unwrap().json().await.unwrap();
    assert_eq!(first, again, "reading the link never changes it");
    let link_token = first["token"].as_str().unwrap().to_owned();
    assert!(link_token.starts_with("ghl_") && link_token.len() >= 40);
    assert_eq!(first["invite_url"], format!("{}/user/signup?token={link_token}", app.address));

    // A second instance on the same database.
    let other = TestApp::spawn_with(backend, |c| c.database_url = app.database.url.clone()).await;
    let (res, _) = join(&other, &link_token, "early@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);

    let reset: Value = app.api(Method::POST, "/api/invite/reset-token", &token).await.send().await.unwrap().json().await.unwrap();
    assert_ne!(reset["token"], first["token"]);
    let users = app.count("users").await;
    for instance in [&app, &other] {
        let (res, _) = join(instance, &link_token, &format!("{}@example.com", unique("late-"))).await;
        assert_eq!(
            server_fn_error(res, StatusCode::BAD_REQUEST).await,
            "This invite link is invalid or has been reset. Ask your administrator for a new one."
        );
    }
    assert_eq!(app.count("users").await, users, "a dead link creates nothing");
    let (res, _) = join(&other, reset["token"].as_str().unwrap(), "new@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    // Accounts made through the old link are unaffected.
    assert_eq!(app.log_in_with(&new_client(), "early@example.com", PASSWORD).await.status(), StatusCode::OK);
}

async fn a_link_signup_is_pending_and_refused_everywhere(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.disable_signup_without_link = true).await;
    // Open signup is off: the Owner is made as the `create-owner` command makes one.
    {
        let mut tx = app.db().begin().await.unwrap();
        let hash = gatehouse::server::auth::password::hash(gatehouse::domain::Password::parse(PASSWORD).unwrap()).await.unwrap();
        let email = gatehouse::domain::EmailAddress::parse("boss@example.com").unwrap();
        gatehouse::server::accounts::create_owner_in(&mut tx, &app.state.keys, &email, &hash, None).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(app.log_in_with(&app.client, "boss@example.com", PASSWORD).await.status(), StatusCode::OK);
    let token = app.token(&app.client).await;
    let link: Value = app.api(Method::GET, "/api/invite", &token).await.send().await.unwrap().json().await.unwrap();
    let org_id = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let (res, pending) = join(&app, link["token"].as_str().unwrap(), "waiting@example.com").await;
    assert_eq!(res.status(), StatusCode::OK, "invitees register although open signup is off");
    let (role, org): (String, i64) = sqlx::query_as(
        "SELECT m.role, m.organization_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'waiting@example.com'",
    )
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!((role.as_str(), org), ("NOT_ACTIVATED", org_id));
    let seats: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    assert_eq!(seats["seats"]["used"], 1, "a Pending member takes no seat");

    let res = whoami(&app, &pending).await;
    assert!(error_detail(res, StatusCode::FORBIDDEN).await.contains("assign your role"));
    let memberships = format!("/api/organizations/{org_id}/memberships");
    for (method, path) in [
        (Method::GET, "/api/organization/"),
        (Method::PATCH, "/api/organization/"),
        (Method::GET, "/api/current-user/token"),
        (Method::GET, "/api/invite"),
        (Method::POST, "/api/invite/send-email"),
        (Method::GET, memberships.as_str()),
    ] {
        let res = pending.request(method.clone(), app.url(path)).json(&json!({"emails": ["x@example.com"]})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    for endpoint in ["invites/link", "invites/pending", "organization/get", "account/api_token"] {
        let res = app.server_fn(&pending, endpoint, &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{endpoint}");
    }
}

async fn email_invitations_report_each_address_and_register_with_the_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let owner_email: String = whoami(&app, &app.client).await.json::<Value>().await.unwrap()["email"].as_str().unwrap().into();
    let results = invite(&app, &token, &["Ann@Example.com, bob@example.com", "not-an-address", &owner_email, "ann@example.com"], "REVIEWER").await;
    let statuses: Vec<(&str, &str)> = results.iter().map(|r| (r["email"].as_str().unwrap(), r["status"].as_str().unwrap())).collect();
    assert_eq!(
        statuses,
        vec![
            ("ann@example.com", "invited"),
            ("bob@example.com", "invited"),
            ("not-an-address", "invalid_address"),
            (owner_email.as_str(), "already_member"),
        ],
        "one answer per address, repeats dropped"
    );
    // Inviting again re-sends.
    let again = invite(&app, &token, &["bob@example.com"], "REVIEWER").await;
    assert_eq!(again[0]["status"], "resent");

    let link = link_for(&app, "ann@example.com").await;
    assert!(link.starts_with(&format!("{}/user/signup?token=ghi_", app.address)), "{link}");
    let info = app.server_fn(&new_client(), "invites/info", &[("token", &token_of(&link))]).await;
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["Email"]["email"], "ann@example.com");
    assert_eq!(info["Email"]["role"], "REVIEWER");

    let (res, ann) = join(&app, &token_of(&link), "ann@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = whoami(&app, &ann).await.json().await.unwrap();
    assert_eq!(me["role"], "REVIEWER", "the invited role, at once");
    let pending: Value = app.server_fn(&app.client, "invites/pending", &[]).await.json().await.unwrap();
    assert_eq!(pending["count"], 1);
    let emails: Vec<&str> = pending["results"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap()).collect();
    assert_eq!(emails, vec!["bob@example.com"], "accepted invitations leave the pending list");
}

async fn an_email_invitation_works_once_only_for_its_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    invite(&app, &token, &["carol@example.com"], "ANNOTATOR").await;
    let secret = token_of(&link_for(&app, "carol@example.com").await);

    let (res, _) = join(&app, &secret, "mallory@example.com").await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST).await.contains("sent to another email address"));
    let (res, _) = join(&app, &secret, "Carol@Example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    let (res, _) = join(&app, &secret, "carol2@example.com").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "used once only");
    assert_eq!(app.count("users").await, 2);

    // Concurrent use of one invitation: exactly one account.
    invite(&app, &token, &["dave@example.com"], "ANNOTATOR").await;
    let secret = token_of(&link_for(&app, "dave@example.com").await);
    let tries = (0..8).map(|_| join(&app, &secret, "dave@example.com"));
    let ok = futures::future::join_all(tries).await.into_iter().filter(|(r, _)| r.status() == StatusCode::OK).count();
    assert_eq!(ok, 1);
}

async fn revoked_resent_and_expired_invitations_cannot_be_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    invite(&app, &token, &["erin@example.com", "frank@example.com", "gina@example.com"], "MANAGER").await;

    let erin = token_of(&link_for(&app, "erin@example.com").await);
    let res = app.api(Method::POST, "/api/invite/revoke", &token).await.json(&json!({"email": "Erin@example.com"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (res, _) = join(&app, &erin, "erin@example.com").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "revoked");
    let res = app.api(Method::POST, "/api/invite/revoke", &token).await.json(&json!({"email": "erin@example.com"})).send().await.unwrap();
    assert_eq!(error_detail(res, StatusCode::NOT_FOUND).await, "There is no pending invitation for this address.");

    let old = token_of(&link_for(&app, "frank@example.com").await);
    let pending: Value = app.server_fn(&app.client, "invites/pending", &[]).await.json().await.unwrap();
    let frank = pending["results"].as_array().unwrap().iter().find(|p| p["email"] == "frank@example.com").unwrap()["id"].to_string();
    let res = app.server_fn(&app.client, "invites/resend", &[("id", &frank)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let resent = app.wait_for_mail_to("frank@example.com", 2).await;
    let new = token_of(&invitation_link(&resent.text).expect("the message has a link"));
    assert_ne!(new, old);
    let (res, _) = join(&app, &old, "frank@example.com").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the old secret died with the resend");
    let (res, _) = join(&app, &new, "frank@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);

    let gina = token_of(&link_for(&app, "gina@example.com").await);
    sqlx::query("UPDATE invitations SET expires_at = 1 WHERE email = 'gina@example.com'").execute(app.db().pool()).await.unwrap();
    let (res, _) = join(&app, &gina, "gina@example.com").await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        "This invitation has expired. Ask your administrator to send it again."
    );
    let pending: Value = app.server_fn(&app.client, "invites/pending", &[]).await.json().await.unwrap();
    let gina_row = pending["results"].as_array().unwrap().iter().find(|p| p["email"] == "gina@example.com").unwrap().clone();
    assert_eq!(gina_row["expired"], true);
}

async fn only_owner_and_administrator_may_use_the_invite_endpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_token = owner(&app).await;
    let link: Value = app.api(Method::GET, "/api/invite", &owner_token).await.send().await.unwrap().json().await.unwrap();
    let org_id: i64 = app.api(Method::GET, "/api/organization/", &owner_token).await.send().await.unwrap().json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for (role, allowed) in [
        ("ADMINISTRATOR", true),
        ("MANAGER", false),
        ("REVIEWER", false),
        ("ANNOTATOR", false),
        ("NOT_ACTIVATED", false),
    ] {
        let (email, member) = app.add_member("ANNOTATOR").await;
        let token = app.token(&member).await;
        app.set_role(&email, role).await;
        let expected = if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
        let memberships = format!("/api/organizations/{org_id}/memberships");
        let calls: Vec<(Method, &str, Value)> = vec![
            (Method::GET, "/api/invite", json!(null)),
            (Method::POST, "/api/invite/send-email", json!({"emails": [format!("{}@example.com", unique("x-"))], "role": "ANNOTATOR"})),
            (Method::GET, &memberships, json!(null)),
        ];
        for (method, path, body) in calls {
            let res = app.api(method.clone(), path, &token).await.json(&body).send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            assert_eq!(status, expected, "{role} {method} {path}: {text}");
            assert!(!text.contains(link["token"].as_str().unwrap()) || allowed, "the link never reaches a non-admin");
        }
        let res = app.api(Method::POST, "/api/invite/revoke", &token).await.json(&json!({"email": "nobody@example.com"})).send().await.unwrap();
        assert_eq!(res.status(), if allowed { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN }, "{role} revoke");
        for (endpoint, form) in [
            ("invites/link", vec![]),
            ("invites/pending", vec![]),
            ("invites/send", vec![("emails", "y@example.com"), ("role", "ANNOTATOR")]),
            ("invites/resend", vec![("id", "1")]),
            ("invites/revoke", vec![("id", "999999")]),
            ("members/list", vec![("page", "1"), ("page_size", "10"), ("search", "")]),
        ] {
            let res = app.server_fn(&member, endpoint, &form).await;
            let status = res.status();
            if allowed {
                assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{role} {endpoint}: {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {endpoint}");
            }
        }
        // Reset last: it is the one call that changes the link.
        let res = app.api(Method::POST, "/api/invite/reset-token", &token).await.send().await.unwrap();
        assert_eq!(res.status(), expected, "{role} reset");
        if !allowed {
            let res = app.server_fn(&member, "invites/reset_link", &[]).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} reset_link");
        }
    }
    let anonymous = new_client();
    for path in ["/api/invite", "/api/invite/send-email", "/api/invite/revoke", "/api/invite/reset-token"] {
        let res = anonymous.post(app.url(path)).json(&json!({})).send().await.unwrap();
        assert!(res.status() == StatusCode::UNAUTHORIZED || res.status() == StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
}

async fn memberships_are_paged_filtered_and_searched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let org: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    let id = org["id"].as_i64().unwrap();
    for (i, role) in ["REVIEWER", "REVIEWER", "ANNOTATOR", "NOT_ACTIVATED", "DEACTIVATED"].iter().enumerate() {
        let (email, _) = app.add_member("ANNOTATOR").await;
        app.set_role(&email, role).await;
        sqlx::query("UPDATE users SET first_name = $1, last_name = 'Lovelace' WHERE email = $2")
            .bind(format!("Ada{i}"))
            .bind(&email)
            .execute(app.db().pool())
            .await
            .unwrap();
    }
    let get = |query: String| {
        let req = app.client.get(app.url(&format!("/api/organizations/{id}/memberships{query}")))
            .header(reqwest::header::AUTHORIZATION, format!("Token {token}"));
        async move { req.send().await.unwrap() }
    };
    let all: Value = get(String::new()).await.json().await.unwrap();
    assert_eq!(all["count"], 6);
    let page: Value = get("?page=2&page_size=4".into()).await.json().await.unwrap();
    assert_eq!((page["count"].as_i64(), page["results"].as_array().unwrap().len()), (Some(6), 2));
    let reviewers: Value = get("?role=REVIEWER".into()).await.json().await.unwrap();
    assert_eq!(reviewers["count"], 2);
    for role in ["NOT_ACTIVATED", "DEACTIVATED"] {
        let v: Value = get(format!("?role={role}")).await.json().await.unwrap();
        assert_eq!(v["count"], 1, "{role}");
        assert_eq!(v["results"][0]["role"], role);
    }
    let found: Value = get("?search=ADA3%20love".into()).await.json().await.unwrap();
    assert_eq!(found["count"], 1, "search by name, any case");
    let by_email: Value = get("?search=member-".into()).await.json().await.unwrap();
    assert_eq!(by_email["count"], 5);
    let none: Value = get("?search=%25".into()).await.json().await.unwrap();
    assert_eq!(none["count"], 0, "% is matched literally");
    for (query, field) in [("?page_size=101", "page_size"), ("?page=0", "page"), ("?page=x", "page"), ("?role=KING", "role")] {
        let res = get(query.into()).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status_code"], 400, "{query}");
        assert!(body["validation_errors"].get(field).is_some(), "{query}: {body}");
    }
    let res = app.api(Method::GET, &format!("/api/organizations/{}/memberships", id + 1000), &token).await.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn invitations_are_delivered_over_smtp_and_survive_an_outage(backend: Backend) {
    let smtp = FakeSmtp::start(0).await;
    let port = smtp.port;
    let app = TestApp::spawn_with(backend, |c| {
        c.mail_transport = MailTransport::Settings;
        c.smtp = Some(gatehouse::server::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            credentials: None,
            tls: gatehouse::server::config::SmtpTls::None,
        });
        c.mail_retry_base_seconds = 1;
        c.mail_poll_interval = Duration::from_millis(200);
    })
    .await;
    let token = owner(&app).await;
    invite(&app, &token, &["smtp@example.com"], "ANNOTATOR").await;
    let message = wait_for(&smtp, "smtp@example.com").await;
    let decoded = message.decoded();
    assert!(decoded.contains("Subject: ") && decoded.contains("invited you to"));
    let link = invitation_link(&message.data).expect("a link");
    let (res, _) = join(&app, &token_of(&link), "smtp@example.com").await;
    assert_eq!(res.status(), StatusCode::OK, "the mailed link works");

    // The mail server goes away: the invitation is kept and its message waits.
    let (port, store) = smtp.stop();
    invite(&app, &token, &["later@example.com"], "REVIEWER").await;
    let mut failed = false;
    for _ in 0..100 {
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM email_outbox WHERE recipient = 'later@example.com'")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
        if attempts > 0 {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed, "a delivery was attempted and failed");
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(unsent, 1);
    // It comes back: the message is delivered by the retries.
    let smtp = FakeSmtp::restart(port, store).await;
    let message = wait_for(&smtp, "later@example.com").await;
    assert!(invitation_link(&message.data).is_some());
}

async fn wait_for(smtp: &FakeSmtp, address: &str) -> Received {
    for _ in 0..300 {
        if let Some(m) = smtp.received().into_iter().find(|m| m.recipients.iter().any(|r| r == address)) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no message for {address} reached the SMTP server");
}

async fn the_mail_folder_gets_each_message_when_no_smtp_is_configured(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.mail_transport = MailTransport::Settings).await;
    let token = owner(&app).await;
    let addresses: Vec<String> = (0..30).map(|i| format!("bulk{i}@example.com")).collect();
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let results = invite(&app, &token, &refs, "ANNOTATOR").await;
    assert!(results.iter().all(|r| r["status"] == "invited"));
    let sent_count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NOT NULL")
            .fetch_one(app.db().pool())
            .await
            .unwrap()
    };
    // The files are written before their messages are marked sent.
    let deadline = tokio::time::Instant::now() + MAIL_DEADLINE;
    while sent_count().await < 30 {
        assert!(tokio::time::Instant::now() < deadline, "the outbox did not deliver 30 messages in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let files: Vec<String> = std::fs::read_dir(app.config.mail_dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(files.len(), 30, "one file per message");
    for address in &addresses {
        let file = files.iter().find(|text| text.contains(&format!("To: {address}\r\n"))).expect("a file for each address");
        assert!(invitation_link(file).expect("the message has a link").contains("token=ghi_"));
    }
    assert_eq!(sent_count().await, 30);
    let invitations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_outbox WHERE kind = 'invitation'")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(invitations, 30, "each message says what it is");
    let unknown = sqlx::query("UPDATE email_outbox SET kind = 'postcard'").execute(app.db().pool()).await;
    assert!(unknown.is_err(), "the schema knows the kinds of message");
}
