//! Page loads that the client gives up on mid-render (a closed tab, a load tester stopping, a
//! client-side timeout) must leave the server as they found it: no panic, and the next load
//! renders in full.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use gatehouse::{domain::Role, server::auth::secrets};
use reqwest::{header, StatusCode};

use crate::helpers::*;

crate::on_both_databases!(abandoned_organization_page_loads_cause_no_panic);

/// Members of the organization the page is loaded for: enough that listing them takes a while.
const MEMBERS: i64 = 10_000;
/// Page loads given up on, in all.
const LOADS: usize = 400;
/// Page loads under way at once.
const CONCURRENT: usize = 8;

/// Panics on the threads of the apps under test (`gatehouse-app`), counted by a hook installed
/// once per process in front of the one that was there.
fn app_panics() -> &'static (AtomicUsize, Mutex<Vec<String>>) {
    static PANICS: OnceLock<(AtomicUsize, Mutex<Vec<String>>)> = OnceLock::new();
    PANICS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_app = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("gatehouse-app"));
            if on_app {
                let (count, messages) = app_panics();
                count.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut messages) = messages.lock() {
                    messages.push(info.to_string());
                }
            }
            previous(info);
        }));
        (AtomicUsize::new(0), Mutex::new(Vec::new()))
    })
}

/// Adds `n` Annotators in two statements (one per table), both databases understanding the
/// recursive `WITH`.
async fn insert_many_members(app: &TestApp, organization_id: i64, n: i64) {
    let batch = unique("bulk-");
    sqlx::query(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1) \
         INSERT INTO users (email, password_hash, created_at) \
         SELECT $2 || '-' || i || '@example.com', 'x', 0 FROM seq",
    )
    .bind(n)
    .bind(&batch)
    .execute(app.db().pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) \
         SELECT $1, id, $2, 0, 0 FROM users WHERE email LIKE $3",
    )
    .bind(organization_id)
    .bind(Role::Annotator.as_str())
    .bind(format!("{batch}-%"))
    .execute(app.db().pool())
    .await
    .unwrap();
}

/// A random duration in `0..=max`.
fn random_up_to(max: Duration) -> Duration {
    let [a, b, c, d] = secrets::random_bytes::<4>();
    let fraction = u32::from_le_bytes([a, b, c, d]) as f64 / u32::MAX as f64;
    max.mul_f64(fraction)
}

/// Many loads of the Organization page of a large organization, each given up on at a random
/// point of its render (a client-side timeout closes the connection): the reactive owner of a
/// render that is dropped must not be torn down under the parts of the page still being built.
async fn abandoned_organization_page_loads_cause_no_panic(backend: Backend) {
    let panics = app_panics();
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let org = app.org_id().await;
    insert_many_members(&app, org, MEMBERS).await;
    let url = app.url("/organization");

    // How long a whole load takes: the loads given up on stop anywhere within it.
    let started = Instant::now();
    let (status, page) = load_page(&app.client, &url).await;
    let full = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"members-table\""));
    assert!(
        page.contains(&format!("of {}", MEMBERS + 1)),
        "all members are counted"
    );
    let before = panics.0.load(Ordering::SeqCst);

    let stop_within = full.mul_f64(1.5).max(Duration::from_millis(20));
    let workers = (0..CONCURRENT).map(|_| {
        let client = app.client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            for _ in 0..LOADS / CONCURRENT {
                let load = client
                    .get(&url)
                    .header(header::ACCEPT, "text/html")
                    .timeout(random_up_to(stop_within))
                    .send();
                // A load that makes it in time is read in full; the others are dropped.
                if let Ok(res) = load.await {
                    let _ = res.bytes().await;
                }
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        worker.await.unwrap();
    }
    // And it still serves the page in full. The renders given up on may still be finishing on
    // the server, but they load no data (the database's time goes to pages someone waits for):
    // on a loaded machine the page may be answered 503 for a moment meanwhile.
    let page = eventually("the page served in full again", || async {
        let (status, page) = load_page(&app.client, &url).await;
        (status == StatusCode::OK).then_some(page)
    })
    .await;
    assert!(page.contains("data-testid=\"members-table\""));
    assert!(page.contains("Remove"));

    let after = panics.0.load(Ordering::SeqCst);
    let messages = panics.1.lock().unwrap().clone();
    assert_eq!(
        after - before,
        0,
        "the app panicked on loads given up on:\n{}",
        messages.join("\n")
    );
}
