//! Building the app: database, keys, the router with its layers, and the listener. `main` and the
//! integration tests start exactly this.

use std::net::SocketAddr;

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    compression::CompressionLayer,
    trace::{DefaultOnFailure, TraceLayer},
};

use super::{
    db::Db,
    headers,
    limits::{self, RequestLimits, BODY_LIMIT_BYTES},
    rest, security, AppState, Clock, Config, SERVER_FN_PREFIX,
};
use crate::app::{shell, App};

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// The app on the system clock, as production runs it.
    pub async fn build(config: Config) -> Result<Self, String> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// The app with the time read from `clock` (tests move a manual one).
    pub async fn build_with_clock(config: Config, clock: Clock) -> Result<Self, String> {
        let db = Db::connect(&config.database_url).await.map_err(|e| {
            format!(
                "cannot open the database {}: {e}",
                super::config::redact_url(&config.database_url)
            )
        })?;
        let listener = listen(config.site_addr)
            .map_err(|e| format!("cannot listen on {}: {e}", config.site_addr))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let state = AppState::new(db, config, local, clock)?;
        if state.config.public_url.is_none() && state.allowed_hosts.has_wildcard() {
            tracing::warn!("LABEL_STUDIO_ALLOWED_HOSTS lets in hosts by a wildcard and LABEL_STUDIO_HOST is not set: mail with a link (invitations, password resets, address verification) is refused for requests that reached the server under such a host. Set LABEL_STUDIO_HOST to the address people use.");
        }
        super::bundle::compress_in_background(&state.config.site_root);
        Ok(Self {
            router: router(state.clone()),
            listener,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until the future completes (tests), with the background jobs running. Requests in
    /// flight then get the configured grace period to finish, so that a client that never
    /// finishes its request cannot keep the server from stopping.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let janitor = tokio::spawn(tidy_up(self.state.clone()));
        let outbox = tokio::spawn(super::delivery::run_outbox(self.state.clone()));
        let retention = tokio::spawn(prune_audit_log(self.state.clone()));
        let watcher = tokio::spawn(super::db::watch::watch(self.state.db.clone()));
        let config = &self.state.config;
        let limits = super::serve::ServeLimits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
            grace: config.shutdown_grace,
        };
        let served = super::serve::serve(self.listener, self.router, limits, stop).await;
        janitor.abort();
        outbox.abort();
        retention.abort();
        watcher.abort();
        served
    }
}

/// How many connections the kernel may hold, made but not yet accepted (it caps this at
/// `net.core.somaxconn`, 4096 on current kernels). Tokio's default is 1024: a burst of a
/// thousand connections overflowed it, and a connection whose handshake the kernel dropped then
/// waited for its SYN to be sent again (1 s, 3 s, 7 s, …) before it was even accepted.
const LISTEN_BACKLOG: u32 = 4096;

/// The listening socket on `address`.
fn listen(address: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's and tokio's `bind` do on Unix: a restarted server may take its address at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The app's routes, worked out once per process: generating them runs the app in a special
/// mode, which must not overlap with pages being served (several apps in one test process).
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = routes();
    let options = state.leptos_options.clone();
    // Provides `AppState` as context to every page render and server function, and the
    // request's nonce for the Content-Security-Policy.
    let app = Router::new()
        .leptos_routes_with_context(&state, routes, headers::provide_nonce, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(headers::provide_nonce, shell))
        .layer(middleware::from_fn(render_pages_to_the_end))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::form_answers::sign_form_answers,
        ));
    Router::new()
        .merge(rest::router())
        .merge(super::sso::routes())
        .merge(super::scim::routes())
        .merge(app)
        .layer(middleware::from_fn(server_fn_errors_are_client_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::same_origin_only,
        ))
        .layer(middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(state.config.site_root.as_str()),
            super::bundle::serve_compressed,
        ))
        .layer(middleware::from_fn(cache_static_files))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::origin::check_host,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(
            RequestLimits::from_config(&state.config),
            limits::limit_requests,
        ))
        // A failure is logged where it happens (a 500 with its cause and reference); a refusal
        // under load (503) is expected, and a flood of them must not flood the log.
        // Every request runs in a span that names who made it (see `auth::authorize`).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        // Outermost, so that every answer carries the security headers, whichever layer made it.
        .layer(middleware::from_fn_with_state(
            headers::SecurityHeaders::new(&state.config),
            headers::security_headers,
        ))
        .with_state(state)
}

/// A request's span: its method and path (never the query, which may hold a token), and the
/// caller's user and organization ids and credential, recorded once it is authenticated.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        user_id = tracing::field::Empty,
        organization_id = tracing::field::Empty,
        via = tracing::field::Empty,
    )
}

/// Deletes ended sessions, ended personal access tokens, single sign-on requests and assertions
/// past their time, and attempts no abuse limit counts any more, hourly. Every instance
/// may run it; the deletes are idempotent.
async fn tidy_up(state: AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(60 * 60));
    loop {
        every_hour.tick().await;
        let now = state.now();
        let idle_since = now - super::clock::seconds(state.config.session_idle);
        match super::db::sessions::delete_expired(state.db.pool(), now, idle_since).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed ended sessions"),
            Err(e) => tracing::warn!(error = %e, "could not remove ended sessions"),
        }
        match super::db::personal_tokens::delete_ended(state.db.pool(), now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "removed ended personal access tokens"),
            Err(e) => tracing::warn!(error = %e, "could not remove ended personal access tokens"),
        }
        let pool = state.db.pool();
        let requests = super::db::sso::delete_expired_requests(pool, now).await;
        let assertions = super::db::sso::delete_expired_assertions(pool, now).await;
        if let Err(e) = requests.and(assertions) {
            tracing::warn!(error = %e, "could not remove ended single sign-on requests");
        }
        if let Err(e) = super::db::two_factor::prune(pool, now).await {
            tracing::warn!(error = %e, "could not remove ended passkey ceremonies and sign-ins");
        }
        if let Err(e) = super::throttle::prune(state.db.pool(), &state.config, state.now()).await {
            tracing::warn!(error = %e, "could not remove old attempts");
        }
    }
}

/// Prunes audit entries older than `LABEL_STUDIO_AUDIT_RETENTION_DAYS` at start and then daily
/// (nothing without the setting). Every instance may run it: each organization is pruned under
/// its lock, and pruning twice deletes nothing more.
async fn prune_audit_log(state: AppState) {
    let Some(days) = state.config.audit_retention_days else {
        return;
    };
    let mut every_day = tokio::time::interval(std::time::Duration::from_secs(24 * 60 * 60));
    loop {
        every_day.tick().await;
        match super::audit::prune(&state.db, days, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, days, "pruned the audit log"),
            Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
        }
    }
}

/// Renders a page to its end in a task of its own, whether or not anybody still waits for it.
///
/// A page's render hangs every signal, action, callback and context it makes on one reactive
/// owner tree, rooted in the request. What a `<Suspense>` or `<Transition>` shows once its data
/// have arrived is built by an effect, a task of its own that may run on another worker thread
/// than the request. When the request is dropped half-way (the client went away, or
/// `request_timeout` ran out), the root owner is dropped with it and cleans the whole tree up
/// there and then, while that effect may still be building components under it: their arena
/// values vanish between creation and use ("Tried to access a reactive value that has already
/// been disposed") and `use_context` no longer finds what the root provided (the router, the
/// signed-in user). In a task of its own the render always ends as it would have for a client
/// that waits; only then is its owner dropped, and an answer nobody reads is discarded. Server
/// functions build no views and are cancelled with their request as before.
///
/// A render nobody waits for any more loads no data, though: the data it asks for through
/// `authorized` is refused at once ([`Reader`]), so that pages given up on do not queue
/// database work ahead of the pages people still wait for.
async fn render_pages_to_the_end(mut request: Request, next: Next) -> Response {
    if request.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(request).await;
    }
    // Dropped with this future when nobody waits for the answer any more, else with the
    // answer's body, once it is sent (what the page streams after its head, such as the data of
    // resources it did not wait for, is still loaded), or once the client goes away.
    let (waiting, reader) = Reader::new();
    request.extensions_mut().insert(reader);
    // In the request's span, as its logs were before.
    let render = tracing::Instrument::in_current_span(next.run(request));
    let response = match tokio::spawn(Isolated::new(render)).await {
        Ok(response) => response,
        // As if the render had run on the request's task.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if !page {
        // A file: nothing is loaded while it is sent.
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = futures_util::StreamExt::map(body.into_data_stream(), move |chunk| {
        let _ = &waiting;
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// Whether anybody still waits for a page being rendered: gone once the request's own future is
/// dropped (the client closed the connection, or `request_timeout` answered for it) while the
/// render goes on in its own task, or once the answer's body is done with. In the request's
/// extensions, so server functions find it.
#[derive(Clone)]
pub struct Reader(tokio::sync::watch::Receiver<()>);

impl Reader {
    /// A reader, and what keeps it waiting until dropped.
    fn new() -> (tokio::sync::watch::Sender<()>, Self) {
        let (waiting, reader) = tokio::sync::watch::channel(());
        (waiting, Self(reader))
    }

    /// Resolves once nobody waits for the page any more.
    pub async fn gone(&self) {
        let mut reader = self.0.clone();
        while reader.changed().await.is_ok() {}
    }
}

/// A render polled with a reactive owner of its own, with no parent, as the thread's current
/// owner. Leptos sets a request's owner as the thread's current one and leaves it there
/// (`Owner::set`), and the integration reads contexts from whatever is current when it adds the
/// lazy routes' preload links after rendering: under concurrent requests it found another
/// request's owner on the worker thread, and wrote that request's preload links, with its CSP
/// nonce, into the other's page (or warned that there was no meta context). Under this owner
/// those lookups find nothing, so nothing of one request reaches another; the links it would
/// have added are left out, as they were for a request rendered alone.
struct Isolated<F> {
    render: std::pin::Pin<Box<F>>,
    owner: leptos::prelude::Owner,
}

impl<F> Isolated<F> {
    fn new(render: F) -> Self {
        Self {
            render: Box::pin(render),
            owner: leptos::prelude::Owner::new_root(None),
        }
    }
}

impl<F: std::future::Future> std::future::Future for Isolated<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.get_mut();
        this.owner.with(|| this.render.as_mut().poll(cx))
    }
}

/// Server functions report their own failures with the right status; a 500 without our error
/// reference comes from the framework failing to read the arguments, which is the client's fault.
async fn server_fn_errors_are_client_errors(request: Request, next: Next) -> Response {
    let is_server_fn = request.uri().path().starts_with(SERVER_FN_PREFIX);
    let mut response = next.run(request).await;
    if is_server_fn
        && response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response
            .headers()
            .contains_key(crate::api::ERROR_REFERENCE_HEADER)
    {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

async fn cache_static_files(request: Request, next: Next) -> Response {
    let is_bundle = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if is_bundle
        && (response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED)
    {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300, must-revalidate"),
        );
    }
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
