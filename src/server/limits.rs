//! Limits on each request, as the router's outermost layer: the body must arrive within
//! `body_timeout` (else 408) and stay within [`BODY_LIMIT_BYTES`] (else 413), and the answer must
//! be ready within `request_timeout` (else 503). Every refusal is the app's JSON error (the
//! REST `Error`, or a server function's `AppError`), and every 503 carries `Retry-After`.
//!
//! A 413 the client can read: a client still uploading when the server answers sees the answer
//! only if the server reads what it sends. Were the body left unread, hyper would close the
//! connection with the rest of the upload still arriving; the kernel then resets it, and the
//! client's next write fails (`EPIPE`) or the reset discards the answer before it is read. So
//! the rest of a refused body is read and discarded, up to [`DRAIN_LIMIT_BYTES`] in all and
//! within the body's time, before the answer is sent (and the connection is then kept).
//!

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::{
    error::{ApiError, ErrorBody},
    Config, SERVER_FN_PREFIX,
};
use crate::domain::AppError;

/// Largest accepted request body.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// The most of a refused body that is read (and discarded) so that the client sees the answer.
pub const DRAIN_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// `Retry-After` of a 503 that does not say otherwise.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// The request-level limits (from [`Config`]).
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub body_limit: usize,
}

impl RequestLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            body_timeout: config.body_timeout,
            request_timeout: config.request_timeout,
            body_limit: BODY_LIMIT_BYTES,
        }
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit_requests(
    State(limits): State<RequestLimits>,
    request: Request,
    next: Next,
) -> Response {
    let server_fn = request.uri().path().starts_with(SERVER_FN_PREFIX);
    let announced = content_length(request.headers());
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let body_deadline = Instant::now() + limits.body_timeout;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let tracked = Tracked::new(body, limits.body_limit);

    let mut response = if announced.is_some_and(|n| n > limits.body_limit as u64) {
        tracked.lock().outcome = Outcome::TooLarge;
        refusal(AppError::PayloadTooLarge, server_fn)
    } else {
        let body = Body::new(LimitedBody {
            tracked: tracked.clone(),
            deadline: Box::pin(tokio::time::sleep_until(body_deadline)),
        });
        let request = Request::from_parts(parts, body);
        match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) if tracked.time_ran_out(body_deadline) => {
                body_timed_out(limits.body_timeout, server_fn)
            }
            Err(_) => {
                tracing::warn!(
                    path = %path,
                    timeout_seconds = limits.request_timeout.as_secs(),
                    "a request took too long; answered 503"
                );
                refusal(
                    AppError::Unavailable {
                        message: "The server took too long to answer; try again in a moment."
                            .into(),
                        retry_after: RETRY_AFTER_SECONDS,
                    },
                    server_fn,
                )
            }
        }
    };

    let outcome = tracked.lock().outcome;
    match outcome {
        // The handler saw a failed body and answered as it could; the answer is ours to give.
        Outcome::TooLarge if response.status() != StatusCode::PAYLOAD_TOO_LARGE => {
            response = refusal(AppError::PayloadTooLarge, server_fn);
        }
        Outcome::TimedOut if response.status() != StatusCode::REQUEST_TIMEOUT => {
            response = body_timed_out(limits.body_timeout, server_fn);
        }
        _ => {}
    }
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let nothing_sent_yet = expects_continue && tracked.lock().received == 0;
        let drainable = announced.is_none_or(|n| n <= DRAIN_LIMIT_BYTES as u64);
        // A client that waits for "100 Continue" has sent nothing and will send nothing.
        let drained = !nothing_sent_yet && drainable && drain(&tracked, body_deadline).await;
        if !drained {
            close(&mut response);
        }
    }
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        close(&mut response);
    }
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    }
    response
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The app's error as the caller reads errors: a server function's encoded `AppError` (which
/// its client in the browser decodes), else the REST API's JSON `Error`.
fn refusal(error: AppError, server_fn: bool) -> Response {
    if server_fn {
        let status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        with_status(status, error, true)
    } else {
        ApiError(error).into_response()
    }
}

fn body_timed_out(timeout: Duration, server_fn: bool) -> Response {
    let error = AppError::BadRequest(format!(
        "The request's body did not arrive within {} seconds. Check the connection and send it again.",
        timeout.as_secs()
    ));
    with_status(StatusCode::REQUEST_TIMEOUT, error, server_fn)
}

/// `error` answered with `status`, which `AppError` has no variant for.
fn with_status(status: StatusCode, error: AppError, server_fn: bool) -> Response {
    let body = if server_fn {
        serde_json::to_string(&error)
    } else {
        let mut body = ErrorBody::new(&error);
        body.status_code = status.as_u16();
        serde_json::to_string(&body)
    }
    .unwrap_or_default();
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if server_fn {
        response.headers_mut().insert(
            crate::api::ERROR_REFERENCE_HEADER,
            HeaderValue::from_static("1"),
        );
    }
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// The connection ends after this answer (its request was not read to the end).
fn close(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// Reads and discards the rest of the body, within the body's time and [`DRAIN_LIMIT_BYTES`];
/// whether it reached the end.
async fn drain(tracked: &Tracked, deadline: Instant) -> bool {
    let rest = std::future::poll_fn(|cx| {
        let mut state = tracked.lock();
        loop {
            let state = &mut *state;
            let Some(body) = state.body.as_mut() else {
                return Poll::Ready(true);
            };
            match Pin::new(body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    state.received += frame.data_ref().map_or(0, Bytes::len);
                    if state.received > DRAIN_LIMIT_BYTES {
                        return Poll::Ready(false);
                    }
                }
                Poll::Ready(Some(Err(_))) => return Poll::Ready(false),
                Poll::Ready(None) => {
                    state.body = None;
                    return Poll::Ready(true);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    });
    tokio::time::timeout_at(deadline, rest)
        .await
        .unwrap_or(false)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Not read to the end (yet).
    Reading,
    Complete,
    TooLarge,
    TimedOut,
}

/// The request's body, shared between the handler (through [`LimitedBody`]) and this layer, so
/// that what the handler leaves unread can still be drained.
#[derive(Clone)]
struct Tracked(Arc<Mutex<Shared>>);

struct Shared {
    /// `None` once read to the end.
    body: Option<Body>,
    received: usize,
    limit: usize,
    outcome: Outcome,
}

impl Shared {
    fn is_complete(&self) -> bool {
        self.outcome == Outcome::Complete || self.body.as_ref().is_none_or(|b| b.is_end_stream())
    }
}

impl Tracked {
    fn new(body: Body, limit: usize) -> Self {
        Self(Arc::new(Mutex::new(Shared {
            body: Some(body),
            received: 0,
            limit,
            outcome: Outcome::Reading,
        })))
    }

    /// Whether the body is unfinished at its deadline (and if so, marks it timed out).
    fn time_ran_out(&self, deadline: Instant) -> bool {
        let mut shared = self.lock();
        let late = !shared.is_complete() && Instant::now() >= deadline;
        if late {
            shared.outcome = Outcome::TimedOut;
        }
        late
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent counts.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The body the handler reads: the request's own, failing once it goes over the limit or its
/// time runs out.
struct LimitedBody {
    tracked: Tracked,
    deadline: Pin<Box<Sleep>>,
}

/// Why a body could not be read to the end.
#[derive(Debug, thiserror::Error)]
enum BodyRefused {
    #[error("the request body is over the size limit")]
    TooLarge,
    #[error("the request body did not arrive in time")]
    TimedOut,
}

impl HttpBody for LimitedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let tracked = self.tracked.clone();
        let mut state = tracked.lock();
        match state.outcome {
            Outcome::TooLarge => return Poll::Ready(Some(Err(BodyRefused::TooLarge.into()))),
            Outcome::TimedOut => return Poll::Ready(Some(Err(BodyRefused::TimedOut.into()))),
            Outcome::Complete => return Poll::Ready(None),
            Outcome::Reading => {}
        }
        let state = &mut *state;
        let Some(body) = state.body.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                state.received += frame.data_ref().map_or(0, Bytes::len);
                if state.received > state.limit {
                    state.outcome = Outcome::TooLarge;
                    return Poll::Ready(Some(Err(BodyRefused::TooLarge.into())));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                state.outcome = Outcome::Complete;
                state.body = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready() {
                    state.outcome = Outcome::TimedOut;
                    return Poll::Ready(Some(Err(BodyRefused::TimedOut.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.tracked.lock().is_complete()
    }

    fn size_hint(&self) -> SizeHint {
        self.tracked
            .lock()
            .body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}
