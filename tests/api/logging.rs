//! The server's log: every request runs in a span that names the caller's user and organization
//! and how they authenticated, and every command-line command in one that names the command, its
//! organization and account; no secret is ever written.

use std::{
    future::Future,
    io::Write,
    sync::{Arc, Mutex},
};

use gatehouse::domain::InviteLink;
use reqwest::{Method, StatusCode};
use tracing_subscriber::{filter::Targets, fmt, layer::SubscriberExt, Layer};

use crate::helpers::*;

/// What the app logged at `info` and above, as its log shows it, spans included (and each
/// request's start and end, which are `debug`).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    /// The lines logged so far that contain every one of `needles`.
    fn lines(&self, needles: &[&str]) -> Vec<String> {
        let bytes = self.0.lock().unwrap();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| needles.iter().all(|n| line.contains(n)))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs a test on a runtime of its own whose every thread logs into a [`Log`] of its own (the
/// other tests of the process log elsewhere); its app runs there too ([`TestApp::spawn_here`]).
fn with_log<F: Future<Output = ()>>(test: impl FnOnce(Log) -> F) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::registry().with(
        fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(
                Targets::new()
                    .with_target("gatehouse", tracing::Level::INFO)
                    .with_target("tower_http", tracing::Level::DEBUG),
            ),
    );
    let dispatch = tracing::Dispatch::new(subscriber);
    let on_each_thread = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // Kept for the thread's life.
            std::mem::forget(tracing::dispatcher::set_default(&on_each_thread));
        })
        .build()
        .unwrap();
    let _here = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(test(log));
}

#[test]
fn requests_are_logged_in_a_span_naming_the_caller_sqlite() {
    with_log(|log| requests_are_logged_in_a_span_naming_the_caller(Backend::Sqlite, log));
}

#[test]
fn requests_are_logged_in_a_span_naming_the_caller_postgres() {
    with_log(|log| requests_are_logged_in_a_span_naming_the_caller(Backend::Postgres, log));
}

async fn requests_are_logged_in_a_span_naming_the_caller(backend: Backend, log: Log) {
    let app = TestApp::spawn_here(backend).await;
    let email = app.sign_up().await;
    let org = app.org_id().await;
    let token = app.token(&app.client).await;
    let me = app.whoami(&app.client).await.id;
    let organization = format!("organization_id={org}");
    let user = format!("user_id={me}");

    // A REST call with the API token.
    let res = app
        .api(Method::DELETE, "/api/current-user/sessions", &token)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let lines = log.lines(&["ended the other sessions"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    for said in [
        "request{",
        "method=DELETE",
        "path=/api/current-user/sessions",
        &organization,
        &user,
        "via=\"api_token\"",
    ] {
        assert!(lines[0].contains(said), "{said} in {}", lines[0]);
    }

    // A server function with the session cookie.
    let browser = new_client();
    assert_eq!(
        app.log_in_with(&browser, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = app
        .server_fn(&browser, "account/end_other_sessions", &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let lines = log.lines(&["ended the other sessions", "via=\"session\""]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    for said in [
        "path=/_sfn/account/end_other_sessions",
        &organization,
        &user,
    ] {
        assert!(lines[0].contains(said), "{said} in {}", lines[0]);
    }
    // Signing in is logged in the request's span, before anyone is known to it.
    let lines = log.lines(&["logged in"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("path=/_sfn/auth/log_in"), "{}", lines[0]);

    // A link with a token in its query: the path is logged, never the query.
    let link: InviteLink = app.api(Method::GET, "/api/invite", &token).json_ok().await;
    let signup = app.url(&format!("/user/signup?token={}", link.token));
    assert_eq!(load_page(&new_client(), &signup).await.0, StatusCode::OK);
    let everything = log.lines(&[]).join("\n");
    assert!(everything.contains("path=/user/signup"), "{everything}");
    for secret in [token.as_str(), link.token.as_str(), PASSWORD] {
        assert!(!everything.contains(secret), "a secret is in the log");
    }
}

crate::on_both_databases!(commands_are_logged_in_a_span_naming_what_they_change);

async fn commands_are_logged_in_a_span_naming_what_they_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let org = app.org_id().await;
    let me = app.whoami(&app.client).await.id;
    let (ok, out) = app.cli_logging(
        &["set-seats", "--org", &org.to_string(), "--seats", "7"],
        "",
        "info",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "cli{{command=\"set-seats\" organization_id={org}}}"
        )),
        "{out}"
    );
    let new_password = "a password set by the administrator";
    let (ok, out) = app.cli_logging(
        &["reset-password", "--email", &email, "--password-stdin"],
        new_password,
        "info",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("cli{{command=\"reset-password\" user_id={me}}}")),
        "{out}"
    );
    assert!(!out.contains(new_password), "the password is not logged");
}
