//! The server-rendered pages: who sees what, and with which status.

use gatehouse::{api::audit::ENTRIES_PER_PAGE, domain::Role};
use regex::Regex;
use reqwest::{header, StatusCode};

use crate::helpers::*;

crate::on_both_databases!(
    signed_out_visitors_are_sent_to_the_login_page,
    the_owner_sees_the_organization_menu_entry_and_page,
    members_without_the_role_get_403_on_the_organization_page,
    the_account_page_shows_email_role_and_token,
    pending_members_see_only_the_waiting_page,
    unknown_pages_are_404,
    health_checks_the_database,
    responses_are_compressed_with_brotli_or_gzip,
    the_openapi_document_describes_the_api,
    undeclared_methods_are_405_with_the_allowed_ones,
    the_activity_page_shows_no_code_and_page_buttons_that_work,
);

async fn signed_out_visitors_are_sent_to_the_login_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/", "/organization", "/user/account"] {
        let res = app
            .client
            .get(app.url(path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/user/login");
    }
    let (status, page) = load_page(&app.client, &app.url("/user/signup")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Create your account") && page.contains("name=\"email\""));
}

async fn the_owner_sees_the_organization_menu_entry_and_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (status, home) = load_page(&app.client, &app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        home.contains("href=\"/organization\""),
        "the menu has Organization"
    );
    assert!(home.contains(&email));
    let (status, page) = load_page(&app.client, &app.url("/organization")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rename the organization"));
    assert!(
        page.contains(&format!("data-testid=\"org-title\">{email}<")),
        "the title is shown"
    );
    assert!(page.contains("Seats: 1 / unlimited"));
}

async fn members_without_the_role_get_403_on_the_organization_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    for role in [Role::Manager, Role::Reviewer, Role::Annotator] {
        let member = app.add_member(role).await.client;
        let (status, home) = load_page(&member, &app.url("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !home.contains("href=\"/organization\""),
            "{role} has no Organization entry"
        );
        assert!(home.contains("href=\"/user/account\""));
        let (status, page) = load_page(&member, &app.url("/organization")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        assert!(
            page.contains("You don&#x27;t have access to this page")
                || page.contains("You don't have access to this page")
        );
        assert!(!page.contains("Rename the organization"));
    }
    let admin = app.add_member(Role::Administrator).await.client;
    let (status, page) = load_page(&admin, &app.url("/organization")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rename the organization"));
}

async fn the_account_page_shows_email_role_and_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let (status, page) = load_page(&app.client, &app.url("/user/account")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("data-testid=\"account-email\">{email}<")));
    assert!(page.contains("data-testid=\"account-role\">Owner<"));
    assert!(page.contains(&token), "the token is on the page");
    assert!(page.contains(">Copy<") && page.contains(">Reset token<"));
}

async fn pending_members_see_only_the_waiting_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::NotActivated).await;
    for path in ["/", "/organization"] {
        let (status, page) = load_page(&member.client, &app.url(path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("Waiting for your role"), "{path}");
        assert!(!page.contains("Rename the organization"));
        assert!(
            page.contains("href=\"/user/account\""),
            "{path}: their own account is a link away"
        );
    }
    // Their own account is theirs to look after (name, password, sessions), but the API is not.
    let (status, page) = load_page(&member.client, &app.url("/user/account")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("data-testid=\"account-role\">Pending<"),
        "{page}"
    );
    assert!(
        page.contains("Change password") && !page.contains("Reset token"),
        "{page}"
    );
    // Deactivation ends the session: they are back at the login page.
    app.set_role(member.id, Role::Deactivated).await;
    let res = member
        .client
        .get(app.url("/"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/user/login");
}

async fn unknown_pages_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, page) = load_page(&app.client, &app.url("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Page not found"));
    let res = app
        .client
        .get(app.url("/api/no/such/endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_detail(res, StatusCode::NOT_FOUND).await,
        "There is no API endpoint at this address."
    );
}

async fn health_checks_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    app.db().close().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn responses_are_compressed_with_brotli_or_gzip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (accept, expected) in [("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br", "br")] {
        let res = app
            .client
            .get(app.url("/user/login"))
            .header(header::ACCEPT_ENCODING, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers().get(header::CONTENT_ENCODING).unwrap(),
            expected,
            "Accept-Encoding: {accept}"
        );
    }
    let plain = app.client.get(app.url("/user/login")).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
}

async fn the_openapi_document_describes_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/organization/",
        "/api/organizations/{id}",
        "/api/current-user/whoami",
        "/api/current-user/token",
        "/api/current-user/reset-token",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
}

async fn undeclared_methods_are_405_with_the_allowed_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    for (method, path, allowed) in [
        (
            reqwest::Method::DELETE,
            "/api/organization/",
            "GET,HEAD,PATCH",
        ),
        (reqwest::Method::PUT, "/api/invite/revoke", "POST"),
        (
            reqwest::Method::POST,
            "/api/current-user/whoami",
            "GET,HEAD",
        ),
        (reqwest::Method::DELETE, "/health", "GET,HEAD"),
    ] {
        let res = app.api(method.clone(), path, &token).send().await;
        let allow = res
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().replace(' ', ""))
            .unwrap_or_default();
        let mut allow: Vec<&str> = allow.split(',').collect();
        allow.sort_unstable();
        assert_eq!(allow.join(","), allowed, "{method} {path}");
        let detail = error_detail(res, StatusCode::METHOD_NOT_ALLOWED).await;
        assert!(detail.contains("Allow header"), "{method} {path}: {detail}");
    }
}

/// The text a person reads on a page: its HTML without scripts, styles and tags, entities decoded.
fn visible_text(html: &str) -> String {
    let hidden = Regex::new(r"(?s)<script\b.*?</script>|<style\b.*?</style>").unwrap();
    let tags = Regex::new(r"(?s)<[^>]*>").unwrap();
    let text = hidden.replace_all(html, " ");
    tags.replace_all(&text, " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The attributes of the `<button>` whose whole text is `label`.
fn button_attributes(html: &str, label: &str) -> String {
    let buttons = Regex::new(r"(?s)<button\b([^>]*)>\s*([^<]*?)\s*</button>").unwrap();
    let found = buttons
        .captures_iter(html)
        .find(|c| &c[2] == label)
        .map(|c| c[1].to_owned());
    found.unwrap_or_else(|| panic!("no <button> \"{label}\" in {html}"))
}

async fn the_activity_page_shows_no_code_and_page_buttons_that_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let activity = app.url("/organization/activity");

    // One page of entries: neither way leads anywhere.
    let (status, html) = load_page(&app.client, &activity).await;
    assert_eq!(status, StatusCode::OK);
    assert!(button_attributes(&html, "Newer").contains("disabled"));
    assert!(button_attributes(&html, "Older").contains("disabled"));

    // More than a page (one entry per invitation): the first page leads to older entries.
    let addresses: Vec<String> = (0..ENTRIES_PER_PAGE)
        .map(|_| format!("{}@example.com", unique("invitee-")))
        .collect();
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    app.invite(&owner, &addresses, Role::Annotator).await;
    let (status, html) = load_page(&app.client, &activity).await;
    assert_eq!(status, StatusCode::OK);
    let text = visible_text(&html);
    assert!(text.contains("Showing 1–50 of"), "{text}");
    for code in ["move |", "set_page", "=>"] {
        assert!(!text.contains(code), "the page shows {code:?}: {text}");
    }
    assert!(button_attributes(&html, "Newer").contains("disabled"));
    let older = button_attributes(&html, "Older");
    assert!(!older.contains("disabled"), "Older is enabled: {older}");
}
