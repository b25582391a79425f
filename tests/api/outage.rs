//! A database outage: the app reaches PostgreSQL through a proxy this test owns, cuts it (every
//! connection dropped, new ones refused, as when the server stops) and restores it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

use crate::helpers::*;

const UNREACHABLE: &str = "The database is unreachable; try again in a moment.";

/// A TCP proxy in front of PostgreSQL that can be cut and restored.
struct Proxy {
    address: SocketAddr,
    /// Where PostgreSQL listens (`host:port`).
    upstream: Arc<Mutex<String>>,
    open: watch::Sender<bool>,
}

impl Proxy {
    async fn start() -> Self {
        let upstream = Arc::new(Mutex::new(String::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (open, mut is_open) = watch::channel(true);
        let forward_to = upstream.clone();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(current) = listener.take() else {
                    // Cut: nobody listens (connections are refused) until restored.
                    if is_open.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    listener = Some(TcpListener::bind(address).await.unwrap());
                    continue;
                };
                let mut forwarding = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = current.accept() => {
                            let Ok((mut inbound, _)) = accepted else { continue };
                            let upstream = forward_to.lock().unwrap().clone();
                            forwarding.spawn(async move {
                                if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                                }
                            });
                        }
                        Some(_) = forwarding.join_next(), if !forwarding.is_empty() => {}
                        changed = is_open.wait_for(|open| !*open) => {
                            if changed.is_err() {
                                return;
                            }
                            break;
                        }
                    }
                }
                // Every connection through the proxy ends with the listener.
                forwarding.abort_all();
                drop(current);
            }
        });
        Self {
            address,
            upstream,
            open,
        }
    }

    /// `url` with its `host:port` replaced by the proxy's, which forwards to them.
    fn in_front_of(&self, url: &str) -> String {
        let start = url
            .find('@')
            .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
        let end = start + url[start..].find('/').unwrap();
        *self.upstream.lock().unwrap() = url[start..end].to_owned();
        format!("{}{}{}", &url[..start], self.address, &url[end..])
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn restore(&self) {
        self.open.send_replace(true);
    }
}

/// Asserts that `res` is the outage's answer, within 1.2 s of `sent`: the probe finds the
/// database gone within its interval, and from then on no request waits for a connection (a pool
/// that is merely busy still queues for up to 3 s).
fn assert_unavailable(what: &str, res: &reqwest::Response, sent: Instant) {
    let took = sent.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(
        res.headers().contains_key(header::RETRY_AFTER),
        "{what}: no Retry-After"
    );
    assert!(took < Duration::from_millis(1200), "{what} took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_answered_503_at_once_and_recovery_needs_no_restart() {
    let proxy = Proxy::start().await;
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database_url = proxy.in_front_of(&c.database_url)
    })
    .await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;

    proxy.cut();

    let sent = Instant::now();
    let res = app
        .api(Method::GET, "/api/organization/", &token)
        .send()
        .await;
    assert_unavailable("the REST API", &res, sent);
    assert_eq!(
        error_detail(res, StatusCode::SERVICE_UNAVAILABLE).await,
        UNREACHABLE
    );

    let sent = Instant::now();
    let res = app
        .api(Method::PATCH, "/api/organization/", &token)
        .json(&json!({"title": "renamed during the outage"}))
        .send()
        .await;
    assert_unavailable("a change through the REST API", &res, sent);

    let sent = Instant::now();
    let res = app
        .client
        .get(app.url("/organization"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_unavailable("a page", &res, sent);
    let page = res.text().await.unwrap();
    assert!(page.contains(UNREACHABLE), "{page}");

    let sent = Instant::now();
    let res = app
        .server_fn(&app.client, "organization/rename", &[("title", "renamed")])
        .await;
    assert_unavailable("a server function", &res, sent);
    assert_eq!(
        server_fn_error(res, StatusCode::SERVICE_UNAVAILABLE).await,
        UNREACHABLE
    );

    let sent = Instant::now();
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_unavailable("the health check", &res, sent);

    // Every answer during the outage comes at once, whatever asks.
    for round in 0..10 {
        let sent = Instant::now();
        let res = app
            .api(Method::GET, "/api/organization/", &token)
            .send()
            .await;
        assert_unavailable(&format!("request {round} during the outage"), &res, sent);
    }

    // Back: once the probe sees it (within its interval), the first request is answered, without
    // a restart, and nothing was half-done meanwhile.
    proxy.restore();
    let restored = Instant::now();
    loop {
        let res = app.client.get(app.url("/health")).send().await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(3),
            "the health check still answers {} {:?} after the database came back",
            res.status(),
            restored.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let res = app
        .api(Method::GET, "/api/organization/", &token)
        .send()
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the first request after recovery"
    );
    let org: Value = res.json().await.unwrap();
    assert_eq!(
        org["title"],
        email.as_str(),
        "no change was made during the outage"
    );
    let res = app
        .client
        .get(app.url("/organization"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .server_fn(&app.client, "organization/rename", &[("title", "renamed")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
