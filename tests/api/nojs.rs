//! Forms without JavaScript: a plain HTML form post to a server function answers 303 to where
//! the app goes after the same action, or back to the form's page with the error (or marked
//! done) for the page to show; and the pending invitations, paged and searched.

use gatehouse::domain::{
    AppError, InviteOutcome, InviteStatus, MemberPage, PendingInvitations, Role,
};
use leptos::server_fn::error::ServerFnUrlError;
use reqwest::{header, Client, Method, Response, StatusCode};

use crate::helpers::*;

crate::on_both_databases!(
    a_form_post_signs_up_and_lands_in_the_app,
    a_wrong_password_comes_back_to_the_login_page_and_the_right_one_lands_in_the_app,
    signed_in_users_who_open_login_or_signup_go_to_the_app,
    logging_out_without_javascript_lands_on_the_login_page,
    a_role_changed_without_javascript_comes_back_to_the_organization_page_marked_done,
    invitations_sent_without_javascript_come_back_with_the_result_of_each_address,
    removing_without_javascript_asks_in_the_page_then_removes,
    resetting_the_link_without_javascript_asks_then_replaces_it,
    pending_invitations_are_paged_and_searched,
    invitations_are_resent_and_revoked_without_javascript,
    ownership_is_transferred_without_javascript,
    a_forgotten_password_is_reset_without_javascript,
    the_account_forms_work_without_javascript,
    the_verification_banner_resends_without_javascript,
    a_referer_with_dot_segments_never_sends_the_browser_to_another_site,
    messages_in_an_address_are_shown_only_when_the_server_signed_them,
    the_second_step_of_signing_in_works_without_javascript,
);

/// Posts `form` to a server function as a browser does without JavaScript, from the page at
/// `from` (a path with its query).
async fn form_post(
    app: &TestApp,
    client: &Client,
    endpoint: &str,
    from: &str,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(app.url(&format!("/_sfn/{endpoint}")))
        .header(header::ORIGIN, &app.address)
        .header(header::REFERER, app.url(from))
        .header(
            header::ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Where a 303 answer sends the browser.
fn see_other(res: &Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{res:?}");
    res.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

/// A page load as a browser makes it: status and HTML.
async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client
        .get(app.url(path))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn a_form_post_signs_up_and_lands_in_the_app(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = new_client();
    let email = format!("{}@example.com", unique("plain-"));
    let res = form_post(
        &app,
        &client,
        "auth/sign_up",
        "/user/signup",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(see_other(&res), "/");
    assert_eq!(app.whoami(&client).await.email, email);

    // A refused signup comes back to the signup page, which shows why under the field.
    let other = format!("{}@example.com", unique("plain-"));
    let again = form_post(
        &app,
        &new_client(),
        "auth/sign_up",
        "/user/signup",
        &[("email", &other), ("password", "short")],
    )
    .await;
    let back = see_other(&again);
    assert!(
        back.starts_with("/user/signup?__path=%2F_sfn%2Fauth%2Fsign_up&__err="),
        "{back}"
    );
    let (status, html) = page(&app, &new_client(), &back).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(
            r#"id="field-password-error" role="alert" class="field-error">Use at least 8 characters for your password."#
        ),
        "{html}"
    );
}

async fn a_wrong_password_comes_back_to_the_login_page_and_the_right_one_lands_in_the_app(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let client = new_client();
    let wrong = form_post(
        &app,
        &client,
        "auth/log_in",
        "/user/login",
        &[("email", &email), ("password", "not the password")],
    )
    .await;
    let back = see_other(&wrong);
    assert!(
        back.starts_with("/user/login?__path=%2F_sfn%2Fauth%2Flog_in&__err="),
        "{back}"
    );
    let (status, html) = page(&app, &client, &back).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("The email and password you entered don&#x27;t match.")
            || html.contains("The email and password you entered don't match."),
        "{html}"
    );

    // The right password, sent from the page that shows the error, lands in the app.
    let right = form_post(
        &app,
        &client,
        "auth/log_in",
        &back,
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(see_other(&right), "/");
    assert_eq!(app.whoami(&client).await.email, email);
    let (status, html) = page(&app, &client, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&email), "the app shows who is signed in");
}

async fn signed_in_users_who_open_login_or_signup_go_to_the_app(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/user/login", "/user/signup"] {
        let (status, _) = page(&app, &app.client, path).await;
        assert_eq!(status, StatusCode::OK, "{path} is for signed-out visitors");
    }
    app.sign_up().await;
    for path in ["/user/login", "/user/signup"] {
        let res = app
            .client
            .get(app.url(path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{path}: {}", res.status());
        assert_eq!(res.headers()[header::LOCATION], "/", "{path}");
    }
}

async fn logging_out_without_javascript_lands_on_the_login_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let res = form_post(&app, &app.client, "auth/log_out", "/organization", &[]).await;
    assert_eq!(see_other(&res), "/user/login");
    let whoami = app
        .client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);
}

async fn a_role_changed_without_javascript_comes_back_to_the_organization_page_marked_done(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    let id = member.id.to_string();
    let res = form_post(
        &app,
        &app.client,
        "members/change_role",
        "/organization?role=ANNOTATOR",
        &[("user_id", &id), ("role", "REVIEWER")],
    )
    .await;
    assert_eq!(
        see_other(&res),
        "/organization?role=ANNOTATOR&done=/_sfn/members/change_role"
    );
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let found: MemberPage = app
        .api(
            Method::GET,
            &format!(
                "/api/organizations/{org}/memberships?search={}",
                member.email
            ),
            &owner,
        )
        .json_ok()
        .await;
    assert_eq!(found.results[0].role, Role::Reviewer);
    let (status, html) = page(
        &app,
        &app.client,
        "/organization?done=/_sfn/members/change_role",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Role saved."), "{html}");
    // The drop-down shows the saved role without JavaScript, with its button.
    assert!(
        html.contains(r#"<option value="REVIEWER" selected>"#),
        "{html}"
    );
    assert!(html.contains("Save role"), "{html}");

    // A refusal comes back to the page, which says why.
    let res = form_post(
        &app,
        &app.client,
        "members/change_role",
        "/organization",
        &[("user_id", &id), ("role", "OWNER")],
    )
    .await;
    let back = see_other(&res);
    assert!(
        back.starts_with("/organization?__path=%2F_sfn%2Fmembers%2Fchange_role&__err="),
        "{back}"
    );
    let error = server_fn_error(
        app.server_fn(
            &app.client,
            "members/change_role",
            &[("user_id", &id), ("role", "OWNER")],
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let (status, html) = page(&app, &app.client, &back).await;
    assert_eq!(status, StatusCode::OK);
    let shown = html.replace("&#x27;", "'").replace("&quot;", "\"");
    assert!(
        shown.contains(&format!(r#"role="alert" class="form-error">{error}"#)),
        "{error} in {html}"
    );
}

async fn invitations_sent_without_javascript_come_back_with_the_result_of_each_address(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let invited = format!("{}@example.com", unique("guest-"));
    let res = form_post(
        &app,
        &app.client,
        "invites/send",
        "/organization?invite=link",
        &[
            ("emails", &format!("{invited}, not-an-address")),
            ("role", "ANNOTATOR"),
        ],
    )
    .await;
    let back = see_other(&res);
    assert!(
        back.starts_with("/organization?invite=email&invited="),
        "{back}"
    );
    let (status, html) = page(&app, &app.client, &back).await;
    assert_eq!(status, StatusCode::OK);
    let results = html
        .split(r#"data-testid="invite-results""#)
        .nth(1)
        .expect("the results are in the page");
    let results = &results[..results.find("</ul>").unwrap()];
    assert!(results.contains(&invited), "{results}");
    assert!(results.contains("Invited"), "{results}");
    assert!(results.contains("not-an-address"), "{results}");
    assert!(results.contains("Invalid address"), "{results}");
    app.wait_for_mail_to(&invited, 1).await;
}

async fn removing_without_javascript_asks_in_the_page_then_removes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    let (_, html) = page(&app, &app.client, "/organization").await;
    assert!(
        html.contains(&format!(r#"name="confirm" value="remove-{}""#, member.id)),
        "the Remove button asks through the page: {html}"
    );
    let asking = format!("/organization?confirm=remove-{}", member.id);
    let (status, html) = page(&app, &app.client, &asking).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<form method="post" action="/_sfn/members/remove" class="inline">"#),
        "{html}"
    );
    assert!(html.contains("Remove member"), "{html}");
    assert!(
        html.contains(r#"<a href="/organization" class="button">Cancel</a>"#),
        "{html}"
    );

    let id = member.id.to_string();
    let res = form_post(
        &app,
        &app.client,
        "members/remove",
        &asking,
        &[("user_id", &id)],
    )
    .await;
    assert_eq!(see_other(&res), "/organization?done=/_sfn/members/remove");
    let whoami = member
        .client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        whoami.status(),
        StatusCode::UNAUTHORIZED,
        "the removed member is signed out"
    );
    let (_, html) = page(&app, &app.client, "/organization?done=/_sfn/members/remove").await;
    assert!(html.contains("Member removed."), "{html}");
    assert!(!html.contains(&member.email), "{html}");
}

async fn resetting_the_link_without_javascript_asks_then_replaces_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let (_, html) = page(&app, &app.client, "/organization?invite=link").await;
    let link = |html: &str| {
        let at = html
            .find("/user/signup?token=ghl_")
            .expect("the link is in the page");
        let token = &html[at..];
        let end = token[20..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(token.len(), |n| n + 20);
        token[..end].to_owned()
    };
    let before = link(&html);
    let (_, asking) = page(
        &app,
        &app.client,
        "/organization?invite=link&confirm=reset-link",
    )
    .await;
    assert!(asking.contains("Reset the link?"), "{asking}");
    let res = form_post(
        &app,
        &app.client,
        "invites/reset_link",
        "/organization?invite=link&confirm=reset-link",
        &[],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(
        back,
        "/organization?invite=link&done=/_sfn/invites/reset_link"
    );
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("The old link no longer works."), "{html}");
    assert_ne!(link(&html), before);
}

async fn pending_invitations_are_paged_and_searched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let tag = unique("t");
    let team: Vec<String> = (0..25)
        .map(|i| format!("team-{tag}-{i}@example.com"))
        .collect();
    let others: Vec<String> = (0..20)
        .map(|i| format!("other_{tag}-{i}@example.com"))
        .collect();
    for batch in [&team, &others] {
        let emails: Vec<&str> = batch.iter().map(String::as_str).collect();
        app.invite(&owner, &emails, Role::Annotator).await;
    }
    let list = |page: Option<i64>, search: Option<String>| {
        let app = &app;
        async move {
            let mut form = Vec::new();
            let page = page.map(|p| p.to_string());
            if let Some(page) = &page {
                form.push(("page", page.as_str()));
            }
            if let Some(search) = &search {
                form.push(("search", search.as_str()));
            }
            let res = app.server_fn(&app.client, "invites/pending", &form).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<PendingInvitations>().await.unwrap()
        }
    };

    // Twenty a page, newest first; the first page without `page`.
    let first = list(None, None).await;
    assert_eq!((first.count, first.page, first.page_size), (45, 1, 20));
    assert_eq!(first.results.len(), 20);
    assert_eq!(first.results[0].email, others[19]);
    let mut seen: Vec<String> = Vec::new();
    for page in 1..=3 {
        let p = list(Some(page), None).await;
        assert_eq!(p.count, 45);
        assert_eq!(p.page, page);
        assert_eq!(p.results.len(), if page == 3 { 5 } else { 20 });
        seen.extend(p.results.into_iter().map(|i| i.email));
    }
    let mut all: Vec<String> = team.iter().chain(&others).cloned().collect();
    all.sort();
    seen.sort();
    assert_eq!(seen, all, "the pages hold every invitation once");
    assert!(list(Some(4), None).await.results.is_empty());

    // The search matches part of the address, in any case; LIKE's wildcards are plain text.
    let found = list(Some(1), Some(format!(" TEAM-{tag} "))).await;
    assert_eq!((found.count, found.results.len()), (25, 20));
    assert!(found.results.iter().all(|i| i.email.starts_with("team-")));
    let second = list(Some(2), Some(format!("team-{tag}"))).await;
    assert_eq!((second.count, second.results.len()), (25, 5));
    assert_eq!(list(Some(1), Some("other_".into())).await.count, 20);
    assert_eq!(list(Some(1), Some("%".into())).await.count, 0);
    assert_eq!(list(Some(1), Some("team_".into())).await.count, 0);
    assert_eq!(list(Some(1), Some(format!("{tag}-7@"))).await.count, 2);

    // A revoked invitation leaves the list and its count.
    let gone = &first.results[0];
    app.server_fn(
        &app.client,
        "invites/revoke",
        &[("id", &gone.id.to_string())],
    )
    .await
    .error_for_status()
    .unwrap();
    let after = list(None, None).await;
    assert_eq!(after.count, 44);
    assert!(after.results.iter().all(|i| i.id != gone.id));

    // A page before the first, or a search too long, is refused as bad input.
    let res = app
        .server_fn(&app.client, "invites/pending", &[("page", "0")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let long = "a".repeat(255);
    let res = app
        .server_fn(&app.client, "invites/pending", &[("search", &long)])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The Organization page shows the first page and how many there are.
    let (status, html) = page(&app, &app.client, "/organization").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Showing 1–20 of 44"), "{html}");
    assert_eq!(html.matches(r#"action="/_sfn/invites/resend""#).count(), 20);
}

async fn invitations_are_resent_and_revoked_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let guest = format!("{}@example.com", unique("guest-"));
    app.invite(&owner, &[&guest], Role::Annotator).await;
    app.wait_for_mail_to(&guest, 1).await;
    let pending: PendingInvitations = app
        .server_fn(&app.client, "invites/pending", &[])
        .await
        .json()
        .await
        .unwrap();
    let id = pending.results[0].id.to_string();

    let res = form_post(
        &app,
        &app.client,
        "invites/resend",
        "/organization",
        &[("id", &id)],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(back, "/organization?done=/_sfn/invites/resend");
    app.wait_for_mail_to(&guest, 2).await;
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("Invitation re-sent."), "{html}");

    let asking = format!("/organization?confirm=revoke-{id}");
    let (_, html) = page(&app, &app.client, &asking).await;
    assert!(
        html.contains(&format!("Revoke invitation for {guest}?")),
        "{html}"
    );
    assert!(html.contains(r#"action="/_sfn/invites/revoke""#), "{html}");
    let res = form_post(&app, &app.client, "invites/revoke", &asking, &[("id", &id)]).await;
    let back = see_other(&res);
    assert_eq!(back, "/organization?done=/_sfn/invites/revoke");
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("Invitation revoked."), "{html}");
    assert!(html.contains("No pending invitations."), "{html}");

    // Revoking it again comes back with the reason.
    let res = form_post(&app, &app.client, "invites/revoke", &asking, &[("id", &id)]).await;
    let back = see_other(&res);
    assert!(
        back.starts_with("/organization?__path=%2F_sfn%2Finvites%2Frevoke&__err="),
        "{back}"
    );
    let (status, html) = page(&app, &app.client, &back).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"class="saved failed""#), "{html}");
}

async fn ownership_is_transferred_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let member = app.add_member(Role::Administrator).await;
    let wrong = form_post(
        &app,
        &app.client,
        "members/transfer_ownership",
        "/organization",
        &[("email", &member.email), ("password", "not the password")],
    )
    .await;
    let back = see_other(&wrong);
    assert!(
        back.starts_with("/organization?__path=%2F_sfn%2Fmembers%2Ftransfer_ownership&__err="),
        "{back}"
    );
    assert_eq!(app.whoami(&app.client).await.role, Role::Owner);

    let res = form_post(
        &app,
        &app.client,
        "members/transfer_ownership",
        "/organization",
        &[("email", &member.email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(see_other(&res), "/organization");
    let me = app.whoami(&app.client).await;
    assert_eq!(
        (me.email.as_str(), me.role),
        (owner.as_str(), Role::Administrator)
    );
    assert_eq!(app.whoami(&member.client).await.role, Role::Owner);
}

async fn a_forgotten_password_is_reset_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let client = new_client();
    let res = form_post(
        &app,
        &client,
        "password_reset/request",
        "/user/forgot-password",
        &[("email", &email)],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(
        back,
        "/user/forgot-password?done=/_sfn/password_reset/request"
    );
    let (_, html) = page(&app, &client, &back).await;
    assert!(
        html.contains("If an account exists for that address, we sent a link."),
        "{html}"
    );

    let is_reset =
        |m: &gatehouse::server::mail::Email| m.to == email && m.text.contains("token=ghr_");
    let mail = app
        .wait_for_mail_where("a reset link", |sent| sent.iter().any(is_reset))
        .await
        .into_iter()
        .find(is_reset)
        .unwrap();
    let at = mail.text.find("token=ghr_").unwrap() + "token=".len();
    let token: String = mail.text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let from = format!("/user/reset-password?token={token}");
    let short = form_post(
        &app,
        &client,
        "password_reset/confirm",
        &from,
        &[("token", &token), ("password", "short")],
    )
    .await;
    let back = see_other(&short);
    assert!(
        back.starts_with(&format!(
            "{from}&__path=%2F_sfn%2Fpassword_reset%2Fconfirm&__err="
        )),
        "{back}"
    );
    let (_, html) = page(&app, &client, &back).await;
    assert!(
        html.contains("Use at least 8 characters for your password."),
        "{html}"
    );

    let res = form_post(
        &app,
        &client,
        "password_reset/confirm",
        &back,
        &[("token", &token), ("password", "a brand new password")],
    )
    .await;
    assert_eq!(see_other(&res), "/");
    assert_eq!(app.whoami(&client).await.email, email);
}

async fn the_account_forms_work_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let res = form_post(
        &app,
        &app.client,
        "account/rename",
        "/user/account",
        &[("first_name", "Ada"), ("last_name", "Lovelace")],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(back, "/user/account?done=/_sfn/account/rename");
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("Saved."), "{html}");
    assert!(html.contains(r#"value="Lovelace""#), "{html}");

    let elsewhere = new_client();
    let res = app.log_in_with(&elsewhere, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = form_post(
        &app,
        &app.client,
        "account/end_other_sessions",
        "/user/account",
        &[],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(back, "/user/account?done=/_sfn/account/end_other_sessions");
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(
        html.contains("Signed out of every other session."),
        "{html}"
    );
    let whoami = elsewhere
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);

    let res = form_post(
        &app,
        &app.client,
        "account/change_password",
        "/user/account",
        &[
            ("current_password", "not it"),
            ("new_password", "a brand new password"),
        ],
    )
    .await;
    let back = see_other(&res);
    assert!(
        back.starts_with("/user/account?__path=%2F_sfn%2Faccount%2Fchange_password&__err="),
        "{back}"
    );
    let res = form_post(
        &app,
        &app.client,
        "account/change_password",
        &back,
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new password"),
        ],
    )
    .await;
    let back = see_other(&res);
    assert_eq!(back, "/user/account?done=/_sfn/account/change_password");
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("Password changed."), "{html}");
}

async fn the_verification_banner_resends_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let first = app.wait_for_verification_to(&email, 1).await;
    let res = form_post(&app, &app.client, "verification/resend", "/", &[]).await;
    let back = see_other(&res);
    assert_eq!(back, "/?done=/_sfn/verification/resend");
    assert_ne!(app.wait_for_verification_to(&email, 2).await, first);
    let (_, html) = page(&app, &app.client, &back).await;
    assert!(html.contains("Sent. Check your inbox"), "{html}");
}

async fn a_referer_with_dot_segments_never_sends_the_browser_to_another_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let client = new_client();
    let referers = [
        "/..//evil.example",
        "/..//evil.example/user/login?a=b",
        "/./..//evil.example",
        "/%2e%2e//evil.example",
        "/.%2E//evil.example",
        "/%2f/evil.example",
        "/%5cevil.example",
        "/..%5c/evil.example",
        "/./\\evil.example",
        "/\\evil.example",
        "//evil.example",
    ];
    for referer in referers {
        for from in [app.url(referer), referer.to_owned()] {
            // A failed sign-in comes back with its error, a rename marked done.
            for (client, endpoint, form) in [
                (
                    &client,
                    "auth/log_in",
                    vec![("email", email.as_str()), ("password", "not the password")],
                ),
                (
                    &app.client,
                    "organization/rename",
                    vec![("title", "Renamed")],
                ),
            ] {
                let res = client
                    .post(app.url(&format!("/_sfn/{endpoint}")))
                    .header(header::ORIGIN, &app.address)
                    .header(header::REFERER, &from)
                    .header(header::ACCEPT, "text/html")
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let location = see_other(&res);
                let second = location.chars().nth(1);
                assert!(
                    location.starts_with('/') && !matches!(second, Some('/' | '\\')),
                    "{from} led to {location}"
                );
                assert!(!location.contains("evil"), "{from} led to {location}");
            }
        }
    }
    // Arguments that cannot be read are answered before the function runs, still back to a page
    // of this site, with a message that says what to do.
    for from in [
        app.url("/..//evil.example"),
        "http://evil.example/user/login".to_owned(),
        "/user/login?__path=%2F_sfn%2Fauth%2Flog_in&__err=forged".to_owned(),
    ] {
        let res = client
            .post(app.url("/_sfn/auth/log_in"))
            .header(header::ORIGIN, &app.address)
            .header(header::REFERER, &from)
            .header(header::ACCEPT, "text/html")
            .form(&[("email", email.as_str())])
            .send()
            .await
            .unwrap();
        let location = see_other(&res);
        assert!(
            location.starts_with("/?__path=%2F_sfn%2Fauth%2Flog_in&__err=")
                || location.starts_with("/user/login?__path=%2F_sfn%2Fauth%2Flog_in&__err="),
            "{from} led to {location}"
        );
        assert!(!location.contains("forged"), "{location}");
        if location.starts_with("/user/login") {
            let (status, html) = page(&app, &client, &location).await;
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains("The form could not be read."), "{html}");
        }
    }

    // A genuine page still gets its answer, dots resolved.
    let res = form_post(
        &app,
        &client,
        "auth/log_in",
        "/user/../user/login?next=x",
        &[("email", &email), ("password", "not the password")],
    )
    .await;
    let back = see_other(&res);
    assert!(
        back.starts_with("/user/login?next=x&__path=%2F_sfn%2Fauth%2Flog_in&__err="),
        "{back}"
    );
}

/// The page at `path` as a browser shows it, following the server's redirects.
async fn page_followed(app: &TestApp, client: &Client, path: &str) -> (String, String) {
    let mut path = path.to_owned();
    for _ in 0..3 {
        let res = client
            .get(app.url(&path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        if res.status().is_redirection() {
            path = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
            continue;
        }
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        return (path, res.text().await.unwrap());
    }
    panic!("too many redirects from {path}");
}

/// `path` (with its query) and the error of the server function at `action`, as an answer to a
/// form carries it.
fn with_error_of(path: &str, action: &str, message: &str) -> String {
    let url = ServerFnUrlError::new(action, AppError::BadRequest(message.into()))
        .to_url(&format!("http://h{path}"))
        .unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

async fn messages_in_an_address_are_shown_only_when_the_server_signed_them(backend: Backend) {
    const NOTICE: &str = "Security notice: sign in at https://evil.example";
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let anonymous = new_client();

    // On the login page, an error nobody signed is not shown, and the address loses it.
    let forged = with_error_of("/user/login", "/_sfn/auth/log_in", NOTICE);
    let (landed, html) = page_followed(&app, &anonymous, &forged).await;
    assert_eq!(landed, "/user/login");
    assert!(!html.contains("evil.example"), "{html}");
    for tampered in [
        format!("{forged}&__sig=x"),
        // A signature of another message.
        format!(
            "{forged}&__sig={}",
            gatehouse::server::form_answers::sign(
                &app.state,
                b"",
                &with_error_of("/user/login", "/_sfn/auth/log_in", "Something else"),
            )
            .rsplit_once("__sig=")
            .unwrap()
            .1
        ),
        // The message written twice, or its name encoded.
        format!(
            "{}&__err=x",
            gatehouse::server::form_answers::sign(&app.state, b"", &forged)
        ),
        forged
            .replace("__err=", "%5F%5Ferr=")
            .replace("__path=", "%5f%5fpath="),
    ] {
        let (_, html) = page_followed(&app, &anonymous, &tampered).await;
        assert!(!html.contains("evil.example"), "{tampered}: {html}");
    }
    // The same message, had the server signed it, would be shown: the signature decides.
    let signed = gatehouse::server::form_answers::sign(&app.state, b"", &forged);
    let (_, html) = page_followed(&app, &anonymous, &signed).await;
    assert!(html.contains("evil.example"), "{html}");

    // On the organization page: neither a forged error nor forged invitation results.
    let forged_error = with_error_of("/organization", "/_sfn/organization/rename", NOTICE);
    let forged_results = InviteOutcome::to_query(&[InviteOutcome {
        email: "owner@example.com".into(),
        status: InviteStatus::InvalidAddress,
        detail: NOTICE.into(),
    }]);
    let mut url = reqwest::Url::parse(&app.url("/organization?invite=email")).unwrap();
    url.query_pairs_mut()
        .append_pair("invited", &forged_results);
    let forged_invited = format!("{}?{}", url.path(), url.query().unwrap());
    for forged in [forged_error, forged_invited] {
        let (landed, html) = page_followed(&app, &app.client, &forged).await;
        assert!(
            !landed.contains("__err") && !landed.contains("invited"),
            "{landed}"
        );
        assert!(!html.contains("evil.example"), "{forged}: {html}");
    }

    // Genuine answers are shown: a failed sign-in and the results of invitations.
    let res = form_post(
        &app,
        &anonymous,
        "auth/log_in",
        "/user/login",
        &[("email", &email), ("password", "not the password")],
    )
    .await;
    let back = see_other(&res);
    assert!(back.contains("&__sig="), "{back}");
    let (landed, html) = page_followed(&app, &anonymous, &back).await;
    assert_eq!(landed, back);
    assert!(
        html.contains("The email and password you entered don&#x27;t match.")
            || html.contains("The email and password you entered don't match."),
        "{html}"
    );
    let res = form_post(
        &app,
        &app.client,
        "invites/send",
        "/organization",
        &[("emails", "not-an-address"), ("role", "ANNOTATOR")],
    )
    .await;
    let back = see_other(&res);
    let (landed, html) = page_followed(&app, &app.client, &back).await;
    assert_eq!(landed, back);
    assert!(html.contains("data-testid=\"invite-results\""), "{html}");
    assert!(html.contains("not-an-address"), "{html}");
    // In another browser the same address shows nothing: it was signed for the one that sent it.
    let other = new_client();
    let res = app
        .sign_up_with(
            &other,
            &format!("{}@example.com", unique("other-")),
            PASSWORD,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (landed, html) = page_followed(&app, &other, &back).await;
    assert_eq!(landed, "/organization?invite=email");
    assert!(!html.contains("not-an-address"), "{html}");
}

async fn the_second_step_of_signing_in_works_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (_, codes) = crate::two_factor::set_up_app(&app, &app.client).await;
    let client = new_client();
    let res = form_post(
        &app,
        &client,
        "auth/log_in",
        "/user/login",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(see_other(&res), "/user/login/two-factor");
    let (status, html) = page(&app, &client, "/user/login/two-factor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Code from your authenticator app") && html.contains("Recovery code"));

    // A wrong code comes back to the page with the error; a recovery code lands in the app.
    let wrong = form_post(
        &app,
        &client,
        "two_factor/verify",
        "/user/login/two-factor",
        &[("code", "12345")],
    )
    .await;
    let back = see_other(&wrong);
    assert!(back.starts_with("/user/login/two-factor?"), "{back}");
    let (_, html) = page(&app, &client, &back).await;
    assert!(html.contains("That code is not right"), "{html}");
    let right = form_post(
        &app,
        &client,
        "two_factor/verify",
        &back,
        &[("code", &codes[0])],
    )
    .await;
    assert_eq!(see_other(&right), "/");
    assert_eq!(app.whoami(&client).await.email, email);
}
