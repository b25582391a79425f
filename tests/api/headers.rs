//! The security headers on every answer: pages, API answers, and errors made by any layer.

use reqwest::{header, Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::*;

crate::on_both_databases!(
    pages_allow_only_the_inline_scripts_that_carry_their_fresh_nonce,
    api_answers_and_errors_carry_the_strict_policy,
    answers_with_tokens_or_links_are_never_stored,
    https_is_required_only_under_an_https_public_origin,
);

/// The policy of every answer that is not a page.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

fn header_of(res: &Response, name: header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("{} {}: no {name}", res.status(), res.url()))
        .to_str()
        .unwrap()
}

/// The headers every answer carries, whoever made it.
fn assert_common_headers(res: &Response) {
    let what = format!("{} {}", res.status(), res.url());
    assert_eq!(
        header_of(res, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{what}"
    );
    assert_eq!(header_of(res, header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(
        header_of(res, header::REFERRER_POLICY),
        "same-origin",
        "{what}"
    );
    assert_eq!(header_of(res, header::CACHE_CONTROL), "no-store", "{what}");
    let policy = header_of(res, header::CONTENT_SECURITY_POLICY);
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    assert!(
        res.headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none(),
        "{what}: HSTS without https"
    );
}

/// A page load as a browser makes it; asserts the page's policy and returns its nonce and HTML.
async fn load_page(client: &reqwest::Client, url: String) -> (String, String) {
    let res = client
        .get(&url)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_common_headers(&res);
    let policy = header_of(&res, header::CONTENT_SECURITY_POLICY).to_owned();
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{url}: {directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{url}: {policy}");
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("{url}: no script-src in {policy}"));
    let nonce = script_src
        .split_once("'nonce-")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(nonce, _)| nonce.to_owned())
        .unwrap_or_else(|| panic!("{url}: no nonce in {script_src}"));
    assert!(nonce.len() >= 22, "{url}: a nonce of 128 bits: {nonce}");
    let status = res.status();
    let html = res.text().await.unwrap();
    assert!(
        status == StatusCode::OK || status == StatusCode::NOT_FOUND,
        "{url}: {status}"
    );
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap()])
        .collect();
    assert!(
        !scripts.is_empty(),
        "{url}: the page hydrates with a script"
    );
    for tag in scripts {
        assert!(
            tag.contains(&format!(" nonce=\"{nonce}\"")),
            "{url}: a script without this response's nonce: {tag}"
        );
    }
    (nonce, html)
}

async fn pages_allow_only_the_inline_scripts_that_carry_their_fresh_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let visitor = new_client();
    let (first, _) = load_page(&visitor, app.url("/user/login")).await;
    let (second, _) = load_page(&visitor, app.url("/user/login")).await;
    assert_ne!(first, second, "every response has a nonce of its own");
    load_page(&visitor, app.url("/user/signup")).await;
    let (_, not_found) = load_page(&visitor, app.url("/no/such/page")).await;
    assert!(not_found.contains("Page not found"));
    // A signed-out visitor is sent to the login page.
    let res = visitor
        .get(app.url("/user/account"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_common_headers(&res);

    // The pages of a signed-in user (the account page shows the API token).
    app.sign_up().await;
    for path in ["/", "/organization", "/user/account"] {
        load_page(&app.client, app.url(path)).await;
    }
}

async fn api_answers_and_errors_carry_the_strict_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let anonymous = new_client();
    let answers: Vec<(Response, StatusCode)> = vec![
        (
            app.client
                .get(app.url("/api/organization/"))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        ),
        (
            anonymous
                .get(app.url("/api/organization/"))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            app.api(Method::GET, "/api/no/such/endpoint", &token)
                .send()
                .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.api(Method::DELETE, "/api/organization/", &token)
                .send()
                .await,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        // Refused by the body limit, before any handler runs.
        (
            app.api(Method::PATCH, "/api/organization/", &token)
                .json(&json!({"title": "x".repeat(300 * 1024)}))
                .send()
                .await,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // Refused by the origin check.
        (
            app.client
                .post(app.url("/_sfn/organization/rename"))
                .header(header::ORIGIN, "http://evil.example")
                .form(&[("title", "pwned")])
                .send()
                .await
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        // Refused by the Host check.
        (
            app.client
                .get(app.url("/api/organization/"))
                .header(header::HOST, "evil.example")
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        // A server function's own error.
        (
            app.log_in_with(&anonymous, &email, "not the password")
                .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            app.client.get(app.url("/health")).send().await.unwrap(),
            StatusCode::OK,
        ),
    ];
    for (res, status) in answers {
        assert_eq!(res.status(), status, "{}", res.url());
        assert_common_headers(&res);
        assert_eq!(
            header_of(&res, header::CONTENT_SECURITY_POLICY),
            API_POLICY,
            "{}",
            res.url()
        );
    }
}

async fn answers_with_tokens_or_links_are_never_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let mut answers = vec![
        app.api(Method::GET, "/api/current-user/token", &token)
            .send()
            .await,
        app.api(Method::GET, "/api/invite", &token).send().await,
        app.api(Method::POST, "/api/invite/reset-token", &token)
            .send()
            .await,
    ];
    for endpoint in [
        "account/api_token",
        "invites/link",
        "invites/reset_link",
        "account/reset_api_token",
    ] {
        answers.push(app.server_fn(&app.client, endpoint, &[]).await);
    }
    let token = app.token(&app.client).await;
    answers.push(
        app.api(Method::POST, "/api/current-user/reset-token", &token)
            .send()
            .await,
    );
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK, "{}", res.url());
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "no-store",
            "{}",
            res.url()
        );
        let body = res.text().await.unwrap();
        assert!(
            body.contains("ght_") || body.contains("token"),
            "the answer carries a token: {body}"
        );
    }
}

async fn https_is_required_only_under_an_https_public_origin(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("https://labels.example.com".into())
    })
    .await;
    for path in ["/user/login", "/api/organization/", "/api/no/such/endpoint"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header_of(&res, header::STRICT_TRANSPORT_SECURITY),
            "max-age=31536000; includeSubDomains",
            "{path}: {}",
            res.status()
        );
    }
    let plain = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("http://labels.example.com".into())
    })
    .await;
    let res = plain
        .client
        .get(plain.url("/user/login"))
        .send()
        .await
        .unwrap();
    assert!(res
        .headers()
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_none());
}
