//! The invite link, email invitations and their delivery, and the members list.

use std::time::Duration;

use gatehouse::{
    domain::{InviteInfo, InviteLink, InviteStatus, MemberPage, PendingInvitations, Role},
    server::config::MailTransport,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
    an_account_elsewhere_is_invited_like_a_new_address_and_accepts_only_once_free,
    resending_to_an_address_that_made_an_account_elsewhere_sends_it,
    resending_to_an_address_that_joined_meanwhile_says_so_and_frees_the_seat,
);

/// The first invitation sent to `address`: its token.
async fn invitation_for(app: &TestApp, address: &str) -> String {
    token_of(&app.invitation_link_to(address, 1).await)
}

async fn owner(app: &TestApp) -> String {
    app.sign_up().await;
    app.token(&app.client).await
}

async fn pending_invitations(app: &TestApp) -> PendingInvitations {
    app.server_fn(&app.client, "invites/pending", &[])
        .await
        .json()
        .await
        .unwrap()
}

async fn the_invite_link_is_stable_until_reset_and_then_dies_on_every_instance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let first: InviteLink = app.api(Method::GET, "/api/invite", &token).json_ok().await;
    let again: InviteLink = app.api(Method::GET, "/api/invite", &token).json_ok().await;
    assert_eq!(first, again, "reading the link never changes it");
    let link_token = first.token.clone();
    assert!(link_token.starts_with("ghl_") && link_token.len() >= 40);
    assert_eq!(
        first.invite_url,
        format!("{}/user/signup?token={link_token}", app.address)
    );

    // A second instance on the same database.
    let other = TestApp::spawn_with(backend, |c| c.database_url = app.database.url.clone()).await;
    let (res, _) = other.join(&link_token, "early@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);

    let reset: InviteLink = app
        .api(Method::POST, "/api/invite/reset-token", &token)
        .json_ok()
        .await;
    assert_ne!(reset.token, first.token);
    let users = app.count("users").await;
    for instance in [&app, &other] {
        let (res, _) = instance
            .join(&link_token, &format!("{}@example.com", unique("late-")))
            .await;
        assert_eq!(
            server_fn_error(res, StatusCode::BAD_REQUEST).await,
            "This invite link is invalid or has been reset. Ask your administrator for a new one."
        );
    }
    assert_eq!(
        app.count("users").await,
        users,
        "a dead link creates nothing"
    );
    let (res, _) = other.join(&reset.token, "new@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    // Accounts made through the old link are unaffected.
    assert_eq!(
        app.log_in_with(&new_client(), "early@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn a_link_signup_is_pending_and_refused_everywhere(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.disable_signup_without_link = true).await;
    // Open signup is off: the Owner is made with the `create-owner` command.
    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            "boss@example.com",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert!(ok, "{out}");
    assert_eq!(
        app.log_in_with(&app.client, "boss@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let token = app.token(&app.client).await;
    let link: InviteLink = app.api(Method::GET, "/api/invite", &token).json_ok().await;
    let org_id = app.org_id().await;

    let (res, pending) = app.join(&link.token, "waiting@example.com").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "invitees register although open signup is off"
    );
    let (role, org): (String, i64) = sqlx::query_as(
        "SELECT m.role, m.organization_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'waiting@example.com'",
    )
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!((role.as_str(), org), ("NOT_ACTIVATED", org_id));
    assert_eq!(
        app.organization(&token).await.seats.used,
        1,
        "a Pending member takes no seat"
    );

    let res = pending
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert!(error_detail(res, StatusCode::FORBIDDEN)
        .await
        .contains("assign your role"));
    let memberships = format!("/api/organizations/{org_id}/memberships");
    for (method, path) in [
        (Method::GET, "/api/organization/"),
        (Method::PATCH, "/api/organization/"),
        (Method::GET, "/api/current-user/token"),
        (Method::GET, "/api/invite"),
        (Method::POST, "/api/invite/send-email"),
        (Method::GET, memberships.as_str()),
    ] {
        let res = pending
            .request(method.clone(), app.url(path))
            .json(&json!({"emails": ["x@example.com"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    for endpoint in [
        "invites/link",
        "invites/pending",
        "organization/get",
        "account/api_token",
    ] {
        let res = app.server_fn(&pending, endpoint, &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{endpoint}");
    }
}

async fn email_invitations_report_each_address_and_register_with_the_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let owner_email = app.whoami(&app.client).await.email;
    let results = app
        .invite(
            &token,
            &[
                "Ann@Example.com, bob@example.com",
                "not-an-address",
                &owner_email,
                "ann@example.com",
            ],
            Role::Reviewer,
        )
        .await;
    let statuses: Vec<(&str, InviteStatus)> = results
        .iter()
        .map(|r| (r.email.as_str(), r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("ann@example.com", InviteStatus::Invited),
            ("bob@example.com", InviteStatus::Invited),
            ("not-an-address", InviteStatus::InvalidAddress),
            (owner_email.as_str(), InviteStatus::AlreadyMember),
        ],
        "one answer per address, repeats dropped"
    );
    // Inviting again re-sends.
    let again = app
        .invite(&token, &["bob@example.com"], Role::Reviewer)
        .await;
    assert_eq!(again[0].status, InviteStatus::Resent);

    let link = app.invitation_link_to("ann@example.com", 1).await;
    assert!(
        link.starts_with(&format!("{}/user/signup?token=ghi_", app.address)),
        "{link}"
    );
    let info: InviteInfo = app
        .server_fn(
            &new_client(),
            "invites/info",
            &[("token", &token_of(&link))],
        )
        .await
        .json()
        .await
        .unwrap();
    let InviteInfo::Email { email, role, .. } = info else {
        panic!("an email invitation: {info:?}")
    };
    assert_eq!(email, "ann@example.com");
    assert_eq!(role, Role::Reviewer);

    let (res, ann) = app.join(&token_of(&link), "ann@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.whoami(&ann).await.role,
        Role::Reviewer,
        "the invited role, at once"
    );
    let pending = pending_invitations(&app).await;
    assert_eq!(pending.count, 1);
    let emails: Vec<&str> = pending.results.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(
        emails,
        vec!["bob@example.com"],
        "accepted invitations leave the pending list"
    );
}

async fn an_email_invitation_works_once_only_for_its_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    app.invite(&token, &["carol@example.com"], Role::Annotator)
        .await;
    let secret = invitation_for(&app, "carol@example.com").await;

    let (res, _) = app.join(&secret, "mallory@example.com").await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST)
        .await
        .contains("sent to another email address"));
    let (res, _) = app.join(&secret, "Carol@Example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    let (res, _) = app.join(&secret, "carol2@example.com").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "used once only");
    assert_eq!(app.count("users").await, 2);

    // Concurrent use of one invitation: exactly one account.
    app.invite(&token, &["dave@example.com"], Role::Annotator)
        .await;
    let secret = invitation_for(&app, "dave@example.com").await;
    let tries = (0..8).map(|_| app.join(&secret, "dave@example.com"));
    let ok = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|(r, _)| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1);
}

async fn revoked_resent_and_expired_invitations_cannot_be_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    app.invite(
        &token,
        &["erin@example.com", "frank@example.com", "gina@example.com"],
        Role::Manager,
    )
    .await;

    let erin = invitation_for(&app, "erin@example.com").await;
    let res = app
        .api(Method::POST, "/api/invite/revoke", &token)
        .json(&json!({"email": "Erin@example.com"}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (res, _) = app.join(&erin, "erin@example.com").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "revoked");
    let detail = app
        .api(Method::POST, "/api/invite/revoke", &token)
        .json(&json!({"email": "erin@example.com"}))
        .error(StatusCode::NOT_FOUND)
        .await;
    assert_eq!(detail, "There is no pending invitation for this address.");

    let old = invitation_for(&app, "frank@example.com").await;
    let pending = pending_invitations(&app).await;
    let frank = pending
        .results
        .iter()
        .find(|p| p.email == "frank@example.com")
        .unwrap()
        .id
        .to_string();
    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &frank)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let new = token_of(&app.invitation_link_to("frank@example.com", 2).await);
    assert_ne!(new, old);
    let (res, _) = app.join(&old, "frank@example.com").await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the old secret died with the resend"
    );
    let (res, _) = app.join(&new, "frank@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);

    let gina = invitation_for(&app, "gina@example.com").await;
    app.expire_invitation_directly("gina@example.com").await;
    let (res, _) = app.join(&gina, "gina@example.com").await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        "This invitation has expired. Ask your administrator to send it again."
    );
    let pending = pending_invitations(&app).await;
    let gina_row = pending
        .results
        .iter()
        .find(|p| p.email == "gina@example.com")
        .unwrap()
        .clone();
    assert!(gina_row.expired);
}

async fn only_owner_and_administrator_may_use_the_invite_endpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_token = owner(&app).await;
    let link: InviteLink = app
        .api(Method::GET, "/api/invite", &owner_token)
        .json_ok()
        .await;
    let org_id = app.org_id().await;
    for (role, allowed) in [
        (Role::Administrator, true),
        (Role::Manager, false),
        (Role::Reviewer, false),
        (Role::Annotator, false),
        (Role::NotActivated, false),
    ] {
        // Active first: a Pending member cannot read their token.
        let Member {
            id, client: member, ..
        } = app.add_member(Role::Annotator).await;
        let token = app.token(&member).await;
        app.set_role(id, role).await;
        let expected = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        let memberships = format!("/api/organizations/{org_id}/memberships");
        let calls: Vec<(Method, &str, Value)> = vec![
            (Method::GET, "/api/invite", json!(null)),
            (
                Method::POST,
                "/api/invite/send-email",
                json!({"emails": [format!("{}@example.com", unique("x-"))], "role": "ANNOTATOR"}),
            ),
            (Method::GET, &memberships, json!(null)),
        ];
        for (method, path, body) in calls {
            let res = app
                .api(method.clone(), path, &token)
                .json(&body)
                .send()
                .await;
            let status = res.status();
            let text = res.text().await.unwrap();
            assert_eq!(status, expected, "{role} {method} {path}: {text}");
            assert!(
                !text.contains(&link.token) || allowed,
                "the link never reaches a non-admin"
            );
        }
        let res = app
            .api(Method::POST, "/api/invite/revoke", &token)
            .json(&json!({"email": "nobody@example.com"}))
            .send()
            .await;
        assert_eq!(
            res.status(),
            if allowed {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            },
            "{role} revoke"
        );
        for (endpoint, form) in [
            ("invites/link", vec![]),
            ("invites/pending", vec![]),
            (
                "invites/send",
                vec![("emails", "y@example.com"), ("role", "ANNOTATOR")],
            ),
            ("invites/resend", vec![("id", "1")]),
            ("invites/revoke", vec![("id", "999999")]),
            (
                "members/list",
                vec![("page", "1"), ("page_size", "10"), ("search", "")],
            ),
        ] {
            let res = app.server_fn(&member, endpoint, &form).await;
            let status = res.status();
            if allowed {
                assert!(
                    status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                    "{role} {endpoint}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {endpoint}");
            }
        }
        // Reset last: it is the one call that changes the link.
        let res = app
            .api(Method::POST, "/api/invite/reset-token", &token)
            .send()
            .await;
        assert_eq!(res.status(), expected, "{role} reset");
        if !allowed {
            let res = app.server_fn(&member, "invites/reset_link", &[]).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} reset_link");
        }
    }
    let anonymous = new_client();
    for path in [
        "/api/invite",
        "/api/invite/send-email",
        "/api/invite/revoke",
        "/api/invite/reset-token",
    ] {
        let res = anonymous
            .post(app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            res.status() == StatusCode::UNAUTHORIZED
                || res.status() == StatusCode::METHOD_NOT_ALLOWED,
            "{path}"
        );
    }
}

async fn memberships_are_paged_filtered_and_searched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let id = app.org_id().await;
    for (i, role) in [
        Role::Reviewer,
        Role::Reviewer,
        Role::Annotator,
        Role::NotActivated,
        Role::Deactivated,
    ]
    .into_iter()
    .enumerate()
    {
        let member = app.add_member(role).await;
        app.set_name_directly(&member.email, &format!("Ada{i}"), "Lovelace")
            .await;
    }
    let get = |query: &str| {
        app.api(
            Method::GET,
            &format!("/api/organizations/{id}/memberships{query}"),
            &token,
        )
    };
    let all: MemberPage = get("").json_ok().await;
    assert_eq!(all.count, 6);
    let page: MemberPage = get("?page=2&page_size=4").json_ok().await;
    assert_eq!((page.count, page.results.len()), (6, 2));
    let reviewers: MemberPage = get("?role=REVIEWER").json_ok().await;
    assert_eq!(reviewers.count, 2);
    for role in [Role::NotActivated, Role::Deactivated] {
        let v: MemberPage = get(&format!("?role={role}")).json_ok().await;
        assert_eq!(v.count, 1, "{role}");
        assert_eq!(v.results[0].role, role);
    }
    let found: MemberPage = get("?search=ADA3%20love").json_ok().await;
    assert_eq!(found.count, 1, "search by name, any case");
    let by_email: MemberPage = get("?search=member-").json_ok().await;
    assert_eq!(by_email.count, 5);
    let none: MemberPage = get("?search=%25").json_ok().await;
    assert_eq!(none.count, 0, "% is matched literally");
    for (query, field) in [
        ("?page_size=101", "page_size"),
        ("?page=0", "page"),
        ("?page=x", "page"),
        ("?role=KING", "role"),
    ] {
        let body: Value = get(query).send().await.json().await.unwrap();
        assert_eq!(body["status_code"], 400, "{query}");
        assert!(
            body["validation_errors"].get(field).is_some(),
            "{query}: {body}"
        );
    }
    let res = app
        .api(
            Method::GET,
            &format!("/api/organizations/{}/memberships", id + 1000),
            &token,
        )
        .send()
        .await;
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
    app.invite(&token, &["smtp@example.com"], Role::Annotator)
        .await;
    let message = wait_for(&smtp, "smtp@example.com").await;
    let decoded = message.decoded();
    assert!(decoded.contains("Subject: ") && decoded.contains("invited you to"));
    let link = invitation_link(&message.data).expect("a link");
    let (res, _) = app.join(&token_of(&link), "smtp@example.com").await;
    assert_eq!(res.status(), StatusCode::OK, "the mailed link works");

    // The mail server goes away: the invitation is kept and its message waits.
    let (port, store) = smtp.stop();
    app.invite(&token, &["later@example.com"], Role::Reviewer)
        .await;
    eventually("failed delivery attempt to later@example.com", || async {
        let attempts: i64 = sqlx::query_scalar(
            "SELECT attempts FROM email_outbox WHERE recipient = 'later@example.com'",
        )
        .fetch_one(app.db().pool())
        .await
        .unwrap();
        (attempts > 0).then_some(())
    })
    .await;
    let unsent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL",
    )
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!(unsent, 1);
    // It comes back: the message is delivered by the retries.
    let smtp = FakeSmtp::restart(port, store).await;
    let message = wait_for(&smtp, "later@example.com").await;
    assert!(invitation_link(&message.data).is_some());
}

/// Waits for a message to `address` to reach the SMTP server.
async fn wait_for(smtp: &FakeSmtp, address: &str) -> Received {
    eventually(
        &format!("message to {address} on the SMTP server"),
        || async {
            smtp.received()
                .into_iter()
                .find(|m| m.recipients.iter().any(|r| r == address))
        },
    )
    .await
}

async fn the_mail_folder_gets_each_message_when_no_smtp_is_configured(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.mail_transport = MailTransport::Settings).await;
    let token = owner(&app).await;
    let addresses: Vec<String> = (0..30).map(|i| format!("bulk{i}@example.com")).collect();
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let results = app.invite(&token, &refs, Role::Annotator).await;
    assert!(results.iter().all(|r| r.status == InviteStatus::Invited));
    // The invitations (the Owner's verification mail goes to the folder too).
    let sent_count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NOT NULL AND kind = 'invitation'",
        )
        .fetch_one(app.db().pool())
        .await
        .unwrap()
    };
    // The files are written before their messages are marked sent.
    eventually("delivery of 30 messages to the mail folder", || async {
        (sent_count().await >= 30).then_some(())
    })
    .await;
    let files: Vec<String> = std::fs::read_dir(app.config.mail_dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|text| !text.contains(&format!("Subject: {VERIFICATION_SUBJECT}")))
        .collect();
    assert_eq!(files.len(), 30, "one file per message");
    for address in &addresses {
        let file = files
            .iter()
            .find(|text| text.contains(&format!("To: {address}\r\n")))
            .expect("a file for each address");
        assert!(invitation_link(file)
            .expect("the message has a link")
            .contains("token=ghi_"));
    }
    assert_eq!(sent_count().await, 30);
    let invitations: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM email_outbox WHERE kind = 'invitation'")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(invitations, 30, "each message says what it is");
    let unknown = sqlx::query("UPDATE email_outbox SET kind = 'postcard'")
        .execute(app.db().pool())
        .await;
    assert!(unknown.is_err(), "the schema knows the kinds of message");
}

/// The status and message of inviting one address alone.
async fn invite_alone(app: &TestApp, token: &str, address: &str) -> (StatusCode, String) {
    let res = app
        .api(Method::POST, "/api/invite/send-email", token)
        .json(&json!({"emails": [address], "role": "ANNOTATOR"}))
        .send()
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn an_account_elsewhere_is_invited_like_a_new_address_and_accepts_only_once_free(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |c| c.invites_per_day = 6).await;
    let token = owner(&app).await;
    let org = app.org_id().await;
    let (elsewhere, elsewhere_client) = app.owner_elsewhere().await;
    let (second, _) = app.owner_elsewhere().await;
    let elsewhere_before = app.whoami(&elsewhere_client).await;
    // An account in no organization (its member was removed); one invitation of the quota.
    let loner = app.add_member(Role::Annotator).await;
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/organizations/{org}/memberships/{}", loner.id),
            &token,
        )
        .send()
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    // An account in another organization is answered like a new address, and holds a seat.
    app.set_seats(org, 3);
    let results = app
        .invite(&token, &["fresh@example.com", &elsewhere], Role::Annotator)
        .await;
    let answers: Vec<_> = results
        .iter()
        .map(|r| (r.status, r.detail.as_str()))
        .collect();
    assert_eq!(
        answers,
        vec![(InviteStatus::Invited, "Invitation sent."); 2],
        "{results:?}"
    );
    assert_eq!(app.organization(&token).await.seats.used, 3);
    let mail = app.wait_for_mail_to(&elsewhere, 1).await;
    assert!(
        mail.text
            .contains("You already have an account with this address: log in here to accept"),
        "{}",
        mail.text
    );
    let fresh = app.wait_for_mail_to("fresh@example.com", 1).await;
    assert!(
        fresh.text.contains("Create your account here:"),
        "{}",
        fresh.text
    );

    // No free seat: the same refusal for a new address and for an account elsewhere.
    let new = invite_alone(&app, &token, "new@example.com").await;
    assert_eq!(new.0, StatusCode::CONFLICT, "{new:?}");
    assert_eq!(invite_alone(&app, &token, &second).await, new);

    // An account in no organization accepts by logging in.
    app.set_seats(org, 10);
    let results = app.invite(&token, &[&loner.email], Role::Reviewer).await;
    assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
    let invited = token_of(&app.invitation_link_to(&loner.email, 2).await);
    let res = app
        .server_fn(
            &loner.client,
            "auth/log_in",
            &[
                ("email", &loner.email),
                ("password", PASSWORD),
                ("token", &invited),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let me = app.whoami(&loner.client).await;
    assert_eq!((me.role, me.organization_id), (Role::Reviewer, org));

    // Each counted against the daily quota: once it is spent, the same refusal for both.
    let results = app
        .invite(
            &token,
            &["third@example.com", "fourth@example.com"],
            Role::Annotator,
        )
        .await;
    assert!(
        results.iter().all(|r| r.status == InviteStatus::Invited),
        "{results:?}"
    );
    let new = invite_alone(&app, &token, "new@example.com").await;
    assert_eq!(new.0, StatusCode::TOO_MANY_REQUESTS, "{new:?}");
    assert_eq!(invite_alone(&app, &token, &second).await, new);
    let to_second = app
        .state
        .mailer
        .memory()
        .unwrap()
        .messages()
        .iter()
        .filter(|m| m.to == second && m.subject != VERIFICATION_SUBJECT)
        .count();
    assert_eq!(to_second, 0, "nothing was sent when nothing could be");

    // A member of another organization who logs in to accept is told to leave it first, and
    // nothing changes.
    let secret = token_of(&app.invitation_link_to(&elsewhere, 1).await);
    let res = app
        .server_fn(
            &new_client(),
            "auth/log_in",
            &[
                ("email", &elsewhere),
                ("password", PASSWORD),
                ("token", &secret),
            ],
        )
        .await;
    let message = server_fn_error(res, StatusCode::CONFLICT).await;
    assert!(message.contains("leave it first"), "{message}");
    let after = app.whoami(&elsewhere_client).await;
    assert_eq!(
        (after.role, after.organization_id),
        (elsewhere_before.role, elsewhere_before.organization_id)
    );
    assert_eq!(after.role, Role::Owner);
    let pending = pending_invitations(&app).await;
    assert!(
        pending.results.iter().any(|p| p.email == elsewhere),
        "the invitation is still open: {pending:?}"
    );
}

async fn resending_to_an_address_that_made_an_account_elsewhere_sends_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let address = format!("{}@example.com", unique("latecomer-"));
    let results = app.invite(&token, &[&address], Role::Annotator).await;
    assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
    app.wait_for_mail_to(&address, 1).await;
    // Meanwhile the address makes an organization of its own.
    let res = app.sign_up_with(&new_client(), &address, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = pending_invitations(&app).await.results[0].id;
    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &id.to_string())])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let again = app.wait_for_mail_to(&address, 2).await;
    assert!(
        again.text.contains("log in here to accept the invitation"),
        "{}",
        again.text
    );
    assert_eq!(
        app.organization(&token).await.seats.used,
        2,
        "it holds its seat"
    );
}

async fn resending_to_an_address_that_joined_meanwhile_says_so_and_frees_the_seat(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let token = owner(&app).await;
    let address = format!("{}@example.com", unique("joiner-"));
    let results = app.invite(&token, &[&address], Role::Annotator).await;
    assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
    app.wait_for_mail_to(&address, 1).await;
    assert_eq!(app.organization(&token).await.seats.used, 2);
    // Meanwhile the address joins this organization through the invite link.
    let link: InviteLink = app.api(Method::GET, "/api/invite", &token).json_ok().await;
    let (res, _) = app.join(&link.token, &address).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.member_row(&address).await.role, Role::NotActivated);
    let id = pending_invitations(&app).await.results[0].id;

    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &id.to_string())])
        .await;
    let message = server_fn_error(res, StatusCode::CONFLICT).await;
    assert_eq!(
        message,
        format!("{address} has joined this organization meanwhile, so nothing was sent: the invitation is revoked and its seat is free again.")
    );
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_outbox WHERE recipient = $1 AND kind = 'invitation'",
    )
    .bind(&address)
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!(queued, 1, "nothing more is sent");
    assert!(
        pending_invitations(&app).await.results.is_empty(),
        "the invitation is revoked"
    );
    assert_eq!(
        app.organization(&token).await.seats.used,
        1,
        "the seat it held is free"
    );
    // Asking again finds no invitation.
    let res = app
        .server_fn(&app.client, "invites/resend", &[("id", &id.to_string())])
        .await;
    let message = server_fn_error(res, StatusCode::NOT_FOUND).await;
    assert_eq!(message, "There is no pending invitation for this address.");
}
