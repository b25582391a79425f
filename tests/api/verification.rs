//! Verified addresses and the mails that tell people where they stand: the verification link
//! (once, for a day, dead when a newer one is sent), the banner's limited resend, the notice to
//! admins of who waits for a role (at most once an interval, naming everyone new), and the mail
//! to a Pending member who gets a role.

use std::time::Duration;

use gatehouse::{
    domain::{CurrentUser, Role, Visit},
    server::mail::Email,
};
use reqwest::{Client, StatusCode};

use crate::helpers::*;

crate::on_both_databases!(
    the_verification_link_works_once_and_the_banner_goes,
    a_verification_link_dies_after_its_lifetime_and_when_a_newer_one_is_sent,
    resending_is_limited_and_refused_once_verified,
    joining_through_the_invite_link_asks_for_verification_and_an_invitation_does_not,
    admins_hear_of_everyone_waiting_at_most_once_an_interval,
    no_notice_when_notify_pending_is_off,
    a_pending_member_is_told_when_they_get_a_role,
    opening_the_link_changes_nothing_and_confirming_verifies,
    this_wasnt_me_deletes_a_pending_account_and_ends_its_sessions,
    this_wasnt_me_keeps_an_account_with_a_role_and_ends_its_sessions,
    confirming_and_disowning_work_without_javascript,
);

const INVALID_LINK: &str = "This verification link is invalid, has expired or was already used. Sign in and send yourself a new one from the banner.";

impl TestApp {
    async fn verify(&self, token: &str) -> reqwest::Response {
        self.server_fn(&new_client(), "verification/confirm", &[("token", token)])
            .await
    }

    async fn disown(&self, token: &str) -> reqwest::Response {
        self.server_fn(&new_client(), "verification/disown", &[("token", token)])
            .await
    }

    /// Whether `client` is signed in.
    async fn signed_in(&self, client: &Client) -> bool {
        let res = self.server_fn(client, "auth/current_user", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Visit>().await.unwrap().user.is_some()
    }

    async fn disowned_entries(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'email.verification_disowned'",
        )
        .fetch_one(self.db().pool())
        .await
        .unwrap()
    }

    async fn resend_verification(&self, client: &Client) -> reqwest::Response {
        self.server_fn(client, "verification/resend", &[]).await
    }

    async fn current_user(&self, client: &Client) -> CurrentUser {
        let res = self.server_fn(client, "auth/current_user", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Visit>().await.unwrap().user.expect("signed in")
    }

    async fn verified_in_members_table(&self, email: &str) -> bool {
        self.member_row(email).await.email_verified
    }
}

async fn the_verification_link_works_once_and_the_banner_goes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    assert!(!app.current_user(&app.client).await.email_verified);
    assert!(!app.verified_in_members_table(&email).await);
    let page = |client: &Client, path: &str| {
        let request = client
            .get(app.url(path))
            .header(reqwest::header::ACCEPT, "text/html");
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let home = page(&app.client, "/").await;
    assert!(home.contains("Please verify your email address"), "{home}");
    assert!(home.contains("Resend verification email"), "{home}");

    let token = app.wait_for_verification_to(&email, 1).await;
    assert!(token.starts_with("ghv_"), "{token}");
    // Opened by anyone holding it (the mail client's browser is rarely signed in).
    let res = app.verify(&token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["email"], email.as_str());
    assert_eq!(body["already"], false);
    assert!(app.current_user(&app.client).await.email_verified);
    assert!(app.verified_in_members_table(&email).await);
    let home = page(&app.client, "/").await;
    assert!(!home.contains("Please verify your email address"), "{home}");

    // Opened again (a reload), it says so and changes nothing.
    let again: serde_json::Value = app.verify(&token).await.json().await.unwrap();
    assert_eq!(again["already"], true);
    // The page renders the outcome on the server.
    let shown = page(&new_client(), &format!("/user/verify-email?token={token}")).await;
    assert!(
        shown.contains("This address is already verified"),
        "{shown}"
    );
    let forged = format!("{}x", token);
    let res = app.verify(&forged).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    let shown = new_client()
        .get(app.url(&format!("/user/verify-email?token={forged}")))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::BAD_REQUEST);
    assert!(shown.text().await.unwrap().contains(INVALID_LINK));
    // A reset token is not a verification token.
    let res = app.verify("ghr_abc").await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
}

async fn a_verification_link_dies_after_its_lifetime_and_when_a_newer_one_is_sent(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let lifetime = app.config.email_verification_lifetime;
    assert_eq!(lifetime, Duration::from_secs(24 * 60 * 60));
    let email = app.sign_up().await;
    let first = app.wait_for_verification_to(&email, 1).await;
    app.advance(lifetime);
    let res = app.verify(&first).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK,
        "expired"
    );

    // A day later the session has ended too (idle): signed in again, they ask for a new link.
    let res = app.log_in_with(&app.client, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.resend_verification(&app.client).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = app.wait_for_verification_to(&email, 2).await;
    let res = app.resend_verification(&app.client).await;
    assert_eq!(res.status(), StatusCode::OK);
    let third = app.wait_for_verification_to(&email, 3).await;
    assert!(first != second && second != third);
    let res = app.verify(&second).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        INVALID_LINK,
        "a newer link ends the earlier one"
    );
    assert!(!app.current_user(&app.client).await.email_verified);
    assert_eq!(app.verify(&third).await.status(), StatusCode::OK);
    assert!(app.current_user(&app.client).await.email_verified);
}

async fn resending_is_limited_and_refused_once_verified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    for n in 1..=5 {
        let res = app.resend_verification(&app.client).await;
        assert_eq!(res.status(), StatusCode::OK, "resend {n}");
    }
    let res = app.resend_verification(&app.client).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        server_fn_error(res, StatusCode::TOO_MANY_REQUESTS).await,
        "Too many verification emails for this account. Try again in 60 minutes."
    );
    // Signed out, nobody can ask.
    let res = app.resend_verification(&new_client()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Another account, once verified, is told there is nothing to send.
    let other = new_client();
    let other_email = format!("{}@example.com", unique("verified-"));
    assert_eq!(
        app.sign_up_with(&other, &other_email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let token = app.wait_for_verification_to(&other_email, 1).await;
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);
    let res = app.resend_verification(&other).await;
    assert_eq!(
        server_fn_error(res, StatusCode::CONFLICT).await,
        "Your email address is already verified."
    );
    assert!(
        !app.current_user(&app.client).await.email_verified,
        "{email} still is not"
    );
}

async fn joining_through_the_invite_link_asks_for_verification_and_an_invitation_does_not(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let pending = app.add_member(Role::NotActivated).await;
    let invited = app.add_member(Role::Annotator).await;
    assert!(!app.current_user(&pending.client).await.email_verified);
    assert!(app.current_user(&invited.client).await.email_verified);
    // A Pending member looks after their own account: the resend works for them too.
    let res = app.resend_verification(&pending.client).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = app.wait_for_verification_to(&pending.email, 2).await;
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);
    assert!(app.verified_in_members_table(&pending.email).await);
    // The invited member was never sent a verification mail.
    let sent = app.state.mailer.memory().unwrap().messages();
    assert!(!sent
        .iter()
        .any(|m| m.to == invited.email && m.subject == VERIFICATION_SUBJECT));
}

/// The pending-members notices sent so far, to `address`.
fn notices_to(sent: &[Email], address: &str) -> Vec<Email> {
    sent.iter()
        .filter(|m| m.to == address && m.subject.contains("waiting for a role"))
        .cloned()
        .collect()
}

async fn admins_hear_of_everyone_waiting_at_most_once_an_interval(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let interval = app.config.pending_notice_interval;
    assert_eq!(interval, Duration::from_secs(60 * 60));
    let owner = app.sign_up().await;
    let admin = app.add_member(Role::Administrator).await;
    let annotator = app.add_member(Role::Annotator).await;

    let first = app.add_member(Role::NotActivated).await;
    let sent = app
        .wait_for_mail_where("the first notice", |sent| {
            notices_to(sent, &owner).len() == 1 && notices_to(sent, &admin.email).len() == 1
        })
        .await;
    let notice = &notices_to(&sent, &owner)[0];
    assert!(
        notice
            .subject
            .starts_with("Gatehouse: 1 person is waiting for a role in \""),
        "{}",
        notice.subject
    );
    assert!(notice.text.contains(&first.email), "{}", notice.text);
    assert!(
        notice.text.contains("(email not verified)"),
        "{}",
        notice.text
    );
    assert!(
        notice.text.contains("/organization?role=NOT_ACTIVATED"),
        "{}",
        notice.text
    );
    // (A message is marked sent just after it is handed over.)
    eventually("the first notices marked sent", || async {
        (unsent_notices(&app).await == 0).then_some(())
    })
    .await;
    // Times are whole seconds: someone who joins in the very second a notice goes out may be
    // named again in the next one. Here nobody does.
    app.advance(Duration::from_secs(1));

    // Three more join within the interval, one of them with a name: one notice names all three.
    let (second, third, fourth) = tokio::join!(
        app.add_member(Role::NotActivated),
        app.add_member(Role::NotActivated),
        app.add_member(Role::NotActivated)
    );
    app.set_name_directly(&third.email, "Grace", "Hopper").await;
    // The second notice waits for the interval: when everything due is delivered, it is not.
    gatehouse::server::delivery::deliver_due(&app.state)
        .await
        .unwrap();
    assert_eq!(unsent_notices(&app).await, 2, "one to each admin, waiting");
    app.advance(interval);
    let sent = app
        .wait_for_mail_where("the second notice", |sent| {
            notices_to(sent, &owner).len() == 2 && notices_to(sent, &admin.email).len() == 2
        })
        .await;
    for address in [&owner, &admin.email] {
        let notice = &notices_to(&sent, address)[1];
        assert!(
            notice
                .subject
                .starts_with("Gatehouse: 3 people are waiting"),
            "{}",
            notice.subject
        );
        for m in [&second, &fourth] {
            assert!(
                notice.text.contains(&format!("- {}, joined", m.email)),
                "{}",
                notice.text
            );
        }
        assert!(
            notice
                .text
                .contains(&format!("- Grace Hopper <{}>", third.email)),
            "{}",
            notice.text
        );
        assert!(
            !notice.text.contains(&first.email),
            "named in the first notice already: {}",
            notice.text
        );
    }
    // Nobody else hears of it, and nothing more is queued.
    assert!(notices_to(&sent, &annotator.email).is_empty());
    assert!(notices_to(&sent, &first.email).is_empty());
    assert_eq!(notices_to(&sent, &owner).len(), 2);
    // (A message is marked sent just after it is handed over.)
    eventually("no notice left to send", || async {
        (unsent_notices(&app).await == 0).then_some(())
    })
    .await;
}

/// How many pending-members notices are queued and not sent.
async fn unsent_notices(app: &TestApp) -> i64 {
    app.count("email_outbox WHERE kind = 'pending_members' AND sent_at IS NULL")
        .await
}

async fn no_notice_when_notify_pending_is_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.notify_pending = false).await;
    app.sign_up().await;
    app.add_member(Role::NotActivated).await;
    app.add_member(Role::NotActivated).await;
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM email_outbox WHERE kind = 'pending_members'")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(queued, 0);
}

async fn a_pending_member_is_told_when_they_get_a_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::NotActivated).await;
    app.set_role(member.id, Role::Reviewer).await;
    let mail = app
        .wait_for_mail_where("the role notice", |sent| {
            sent.iter()
                .any(|m| m.to == member.email && m.subject.contains("you can now use"))
        })
        .await
        .into_iter()
        .find(|m| m.to == member.email && m.subject.contains("you can now use"))
        .unwrap();
    assert!(
        mail.text.contains("You are now a Reviewer in "),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains(&format!("{}/\n", app.address)),
        "{}",
        mail.text
    );
    // Deactivating and restoring them, or another change of role, tells them nothing more.
    app.set_role(member.id, Role::Deactivated).await;
    app.set_role(member.id, Role::Annotator).await;
    app.set_role(member.id, Role::Manager).await;
    let other = app.add_member(Role::NotActivated).await;
    app.set_role(other.id, Role::Annotator).await;
    let sent = app
        .wait_for_mail_where("the second role notice", |sent| {
            sent.iter()
                .any(|m| m.to == other.email && m.subject.contains("you can now use"))
        })
        .await;
    assert_eq!(
        sent.iter()
            .filter(|m| m.to == member.email && m.subject.contains("you can now use"))
            .count(),
        1
    );
}

/// A page load as a browser (or a mail scanner) makes it: status and HTML.
async fn open_page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client
        .get(app.url(path))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn opening_the_link_changes_nothing_and_confirming_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let title = app.organization(&app.token(&app.client).await).await.title;
    let token = app.wait_for_verification_to(&email, 1).await;
    let path = format!("/user/verify-email?token={token}");
    // A mail scanner's prefetch, twice: the page names the account and offers both buttons.
    for _ in 0..2 {
        let (status, html) = open_page(&app, &new_client(), &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Confirm my address"), "{html}");
        assert!(
            html.contains("This wasn&#x27;t me") || html.contains("This wasn't me"),
            "{html}"
        );
        assert!(html.contains(&email), "{html}");
        assert!(html.contains(&title), "{html}");
        assert!(!html.contains("your address is verified"), "{html}");
    }
    let res = app
        .server_fn(&new_client(), "verification/inspect", &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let link: serde_json::Value = res.json().await.unwrap();
    assert_eq!(link["email"], email.as_str());
    assert_eq!(link["organization"], title.as_str());
    assert_eq!(link["already"], false);
    assert!(!app.current_user(&app.client).await.email_verified);
    assert!(!app.verified_in_members_table(&email).await);

    // The POST of "Confirm my address" verifies.
    let res = app.verify(&token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(app.current_user(&app.client).await.email_verified);
    let (status, html) = open_page(&app, &new_client(), &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This address is already verified"), "{html}");
    assert!(!html.contains("Confirm my address"), "{html}");
    // The token is used up: it cannot disown the account now.
    assert_eq!(
        server_fn_error(app.disown(&token).await, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
    assert!(app.signed_in(&app.client).await);
}

async fn this_wasnt_me_deletes_a_pending_account_and_ends_its_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let pending = app.add_member(Role::NotActivated).await;
    let token = app.wait_for_verification_to(&pending.email, 1).await;
    assert!(app.signed_in(&pending.client).await);
    let users = app.count("users").await;

    let res = app.disown(&token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: serde_json::Value = res.json().await.unwrap();
    assert_eq!(done["email"], pending.email.as_str());
    assert_eq!(done["deleted"], true);
    assert_eq!(app.count("users").await, users - 1);
    assert!(!app.signed_in(&pending.client).await, "its session ended");
    let res = app
        .log_in_with(&new_client(), &pending.email, PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.disowned_entries().await, 1);
    // The link is dead either way.
    for res in [app.verify(&token).await, app.disown(&token).await] {
        assert_eq!(
            server_fn_error(res, StatusCode::BAD_REQUEST).await,
            INVALID_LINK
        );
    }
    let (status, html) = open_page(
        &app,
        &new_client(),
        &format!("/user/verify-email?token={token}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains(INVALID_LINK), "{html}");
    // The address is free for its owner.
    let res = app
        .sign_up_with(&new_client(), &pending.email, PASSWORD)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

async fn this_wasnt_me_keeps_an_account_with_a_role_and_ends_its_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.wait_for_verification_to(&email, 1).await;
    let users = app.count("users").await;
    let res = app.disown(&token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: serde_json::Value = res.json().await.unwrap();
    assert_eq!(done["deleted"], false);
    // The Owner's account stays, unverified, with its sessions ended; the log tells the admins.
    assert_eq!(app.count("users").await, users);
    assert!(!app.signed_in(&app.client).await);
    assert_eq!(app.disowned_entries().await, 1);
    let again = new_client();
    let res = app.log_in_with(&again, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!app.current_user(&again).await.email_verified);
    assert_eq!(
        server_fn_error(app.verify(&token).await, StatusCode::BAD_REQUEST).await,
        INVALID_LINK
    );
}

async fn confirming_and_disowning_work_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form_post = |endpoint: &'static str, from: String, token: String| {
        let request = new_client()
            .post(app.url(&format!("/_sfn/{endpoint}")))
            .header(reqwest::header::ORIGIN, &app.address)
            .header(reqwest::header::REFERER, app.url(&from))
            .header(reqwest::header::ACCEPT, "text/html,application/xhtml+xml")
            .form(&[("token", token)]);
        async move {
            let res = request.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{res:?}");
            res.headers()[reqwest::header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    // Confirm my address.
    let email = app.sign_up().await;
    let token = app.wait_for_verification_to(&email, 1).await;
    let from = format!("/user/verify-email?token={token}");
    let location = form_post("verification/confirm", from.clone(), token.clone()).await;
    assert_eq!(location, format!("{from}&done=/_sfn/verification/confirm"));
    assert!(app.current_user(&app.client).await.email_verified);
    let (status, html) = open_page(&app, &new_client(), &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Thank you: your address is verified"),
        "{html}"
    );

    // This wasn't me, for an account in no organization yet: a Pending one.
    let pending = app.add_member(Role::NotActivated).await;
    let token = app.wait_for_verification_to(&pending.email, 1).await;
    let from = format!("/user/verify-email?token={token}");
    let location = form_post("verification/disown", from, token.clone()).await;
    assert_eq!(location, "/user/verify-email?disowned=deleted");
    assert!(!app.signed_in(&pending.client).await);
    let (status, html) = open_page(&app, &new_client(), &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("is deleted"), "{html}");
}
