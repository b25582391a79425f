//! Cross-site request forgery protection and hostile input.

use gatehouse::domain::OrganizationView;
use reqwest::{header, Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

crate::on_both_databases!(
    cookie_authenticated_changes_must_come_from_our_origin,
    the_origin_check_refuses_two_origins_and_an_upper_case_scheme,
    token_authenticated_calls_are_exempt_from_the_origin_check,
    malformed_server_function_calls_are_client_errors,
    the_session_cookie_is_secure_behind_https,
    a_request_that_never_finishes_delays_stopping_only_for_the_grace_period,
);

async fn cookie_authenticated_changes_must_come_from_our_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let evil = [
        (header::ORIGIN.as_str(), "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    for (name, value) in evil {
        let res = app
            .client
            .post(app.url("/_sfn/organization/rename"))
            .header(name, value)
            .form(&[("title", "pwned")])
            .send()
            .await
            .unwrap();
        assert!(error_detail(res, StatusCode::FORBIDDEN)
            .await
            .contains("Cross-site request refused"));
        let res = app
            .client
            .patch(app.url("/api/organization/"))
            .header(name, value)
            .json(&json!({"title": "pwned"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = app
            .client
            .post(app.url("/api/current-user/reset-token"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let org: OrganizationView = app
        .client
        .get(app.url("/api/organization/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(org.title, email, "nothing changed");

    // The same requests from our own origin go through.
    let res = app
        .server_fn(&app.client, "organization/rename", &[("title", "ours")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .patch(app.url("/api/organization/"))
        .header(header::ORIGIN, &app.address)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"title": "still ours"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<OrganizationView>().await.unwrap().title,
        "still ours"
    );
}

async fn the_origin_check_refuses_two_origins_and_an_upper_case_scheme(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let rename = |origins: &[String]| {
        let mut req = app
            .client
            .post(app.url("/_sfn/organization/rename"))
            .form(&[("title", "pwned")]);
        for origin in origins {
            req = req.header(header::ORIGIN, origin);
        }
        req.send()
    };
    // Two headers, ours first: refused, whichever of them a check would read.
    let res = rename(&[app.address.clone(), "http://evil.example".into()])
        .await
        .unwrap();
    let detail = error_detail(res, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("more than one Origin header"), "{detail}");
    let res = rename(&[app.address.clone(), app.address.clone()])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A scheme in upper case is not what a browser sends.
    let res = rename(&[app.address.replace("http://", "HTTP://")])
        .await
        .unwrap();
    assert!(error_detail(res, StatusCode::FORBIDDEN)
        .await
        .contains("Cross-site request refused"));
    let org: OrganizationView = app
        .client
        .get(app.url("/api/organization/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(org.title, email, "nothing changed");

    // One Origin, ours, as a browser sends it, goes through.
    let res = app
        .client
        .post(app.url("/_sfn/organization/rename"))
        .header(header::ORIGIN, &app.address)
        .form(&[("title", "ours")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn token_authenticated_calls_are_exempt_from_the_origin_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org: OrganizationView = app
        .api(Method::PATCH, "/api/organization/", &token)
        .header(header::ORIGIN, "http://script.example")
        .json(&json!({"title": "from a script"}))
        .json_ok()
        .await;
    assert_eq!(org.title, "from a script");
}

async fn malformed_server_function_calls_are_client_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let bodies: [(&str, &str); 4] = [
        ("application/x-www-form-urlencoded", "title"),
        ("application/x-www-form-urlencoded", "%%%"),
        ("application/json", "{\"title\": 1}"),
        ("application/octet-stream", "\u{0}\u{1}"),
    ];
    for (content_type, body) in bodies {
        for endpoint in ["organization/rename", "auth/log_in", "auth/sign_up"] {
            let res = app
                .client
                .post(app.url(&format!("/_sfn/{endpoint}")))
                .header(header::CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_client_error(),
                "{endpoint} {body:?}: {}",
                res.status()
            );
        }
    }
    let res = app
        .client
        .post(app.url("/_sfn/no/such/function"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
}

async fn the_session_cookie_is_secure_behind_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await;
    let res = app
        .client
        .post(app.url("/_sfn/auth/sign_up"))
        .header("x-forwarded-proto", "https")
        .header(header::ORIGIN, app.address.replace("http://", "https://"))
        .form(&[("email", "tls@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cookie.starts_with("__Host-") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    // The same header from a client that is not a trusted proxy proves nothing.
    let direct = TestApp::spawn(backend).await;
    let res = direct
        .client
        .post(direct.url("/_sfn/auth/sign_up"))
        .header("x-forwarded-proto", "https")
        .header(header::ORIGIN, &direct.address)
        .form(&[("email", "tls@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("gatehouse_session=") && !cookie.contains("Secure"),
        "{cookie}"
    );

    let behind_proxy = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("https://labels.example.com".into())
    })
    .await;
    let res = behind_proxy
        .client
        .post(behind_proxy.url("/_sfn/auth/sign_up"))
        .header(header::ORIGIN, "https://labels.example.com")
        .form(&[("email", "proxy@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the public origin is accepted"
    );
    assert!(res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .contains("; Secure"));
}

/// Stopping lets requests in flight finish, but a client that never sends the rest of its
/// request holds the server only for the grace period.
async fn a_request_that_never_finishes_delays_stopping_only_for_the_grace_period(backend: Backend) {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let grace = Duration::from_secs(1);
    let app = TestApp::spawn_with(backend, |c| c.shutdown_grace = grace).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&host).await.unwrap();
    // The body is announced as 100 bytes; only 11 come, so the server waits for the rest. The
    // server's "100 Continue" says the request is being read (it is in flight) before the body is sent.
    let head = format!(
        "POST /_sfn/auth/log_in HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(MAIL_DEADLINE, stalled.read(&mut byte))
            .await
            .expect("the server reads the request");
        assert_eq!(read.unwrap(), 1, "the connection stays open");
        answer.push(byte[0]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    stalled.write_all(b"email=a%40b").await.unwrap();

    let started = Instant::now();
    let stopped = tokio::time::timeout(grace * 10, app.shut_down()).await;
    assert!(
        stopped.is_ok(),
        "the server was still running {:?} after it was told to stop",
        grace * 10
    );
    let waited = started.elapsed();
    assert!(
        waited >= grace,
        "the server stopped after {waited:?}, without waiting for the request in flight"
    );
    drop(stalled);
}
