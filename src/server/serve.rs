//! The accept loop: HTTP/1.1 connections served by hyper, with limits a client cannot get
//! around by holding connections open.
//!
//! - At most `max_connections` connections are open at once; beyond that the loop waits for one
//!   to close before it accepts the next (the kernel's backlog holds the rest meanwhile).
//! - A request's headers must arrive within `header_timeout`, and on a kept-alive connection the
//!   next request must start within it too; otherwise the connection is closed. A client that
//!   sends half a request and stalls holds its connection for that long, not forever.
//! - Every request carries the client's socket address as `ConnectInfo<SocketAddr>`.
//! - Stopping closes the listener, lets the requests in flight finish (connections close once
//!   their answer is sent) and, after `grace`, drops whatever is still open.
//!
//! Limits on a single request (its body, its answer) are the router's: see [`super::limits`].

use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
};
use tower::ServiceExt;

/// The connection-level limits (from [`super::Config`]).
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// After the stop signal, how long requests in flight may take before the server stops.
    pub grace: Duration,
}

/// Where the server is in its life; connections watch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// Stop accepting; finish the requests in flight, then close.
    Finishing,
    /// The grace period is over: close now.
    Stopped,
}

/// Serves `router` on `listener` until `stop` completes, then stops as described above.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let open = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let (phase, watching) = watch::channel(Phase::Serving);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            http.clone(),
            watching.clone(),
            permit,
        ));
    }
    drop(listener);
    drop(watching);
    phase.send_replace(Phase::Finishing);
    if tokio::time::timeout(limits.grace, phase.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = limits.grace.as_secs(),
            "requests still in flight after the grace period; stopping anyway"
        );
        phase.send_replace(Phase::Stopped);
        // Each connection drops at once when told; this only waits for their tasks to see it.
        let _ = tokio::time::timeout(Duration::from_secs(1), phase.closed()).await;
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    mut phase: watch::Receiver<Phase>,
    _open: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let connection = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => return finished(served, peer),
        _ = phase.wait_for(|p| *p >= Phase::Finishing) => {}
    }
    // Answers the request in flight, if any, then closes; an idle connection closes at once.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        served = connection.as_mut() => finished(served, peer),
        _ = phase.wait_for(|p| *p == Phase::Stopped) => {}
    }
}

fn finished(served: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(e) = served {
        // Clients that go away or time out: routine, not worth more than a debug line.
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// A failed `accept` never stops the server. The client's own failures (reset before we got to
/// it) are skipped; running out of resources (`EMFILE`: too many open files) is logged, and the
/// loop waits a moment for connections to close before it tries again, rather than spinning.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying shortly");
    tokio::time::sleep(Duration::from_millis(250)).await;
}
