//! Messages in a page's address. A plain form post (without JavaScript) comes back to its page
//! with its error (`__path` and `__err`) or, for invitations, their results (`invited`) in the
//! query, which the page shows as the hydrated app would. Anybody can write such an address, so
//! the server signs the ones it makes (`__sig`, bound to the browser's session) and a page is
//! rendered with them only when the signature matches: otherwise the browser is sent to the same
//! page without them, so that the server's render and the hydrated app (which reads the same
//! address) show nothing of them.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

use super::{auth::sessions, origin::RequestOrigin, AppState, SERVER_FN_PREFIX};
use crate::{
    api::{
        ssr::{back_to_form, is_local, with_error},
        FORM_ANSWER_HEADER, SIGNATURE_PARAM,
    },
    domain::AppError,
};

/// The query parameters a page shows as messages, in the order they are signed.
const SIGNED: [&str; 3] = ["__path", "__err", crate::api::invites::INVITED_PARAM];

/// Signs the answers to plain form posts, and sends a page whose address carries messages the
/// server did not sign to the same page without them.
pub async fn sign_form_answers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let binding = binding(&request);
    if request.uri().path().starts_with(SERVER_FN_PREFIX) {
        let plain_form_post = request.method() == Method::POST
            && request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
        let headers = request.headers().clone();
        let path = request.uri().path().to_owned();
        let mut response = next.run(request).await;
        let ours = response.headers_mut().remove(FORM_ANSWER_HEADER).is_some();
        if plain_form_post {
            answer(&state, &binding, &headers, &path, ours, &mut response);
        }
        return response;
    }
    let query = request.uri().query().unwrap_or_default();
    let carries_messages = pairs(query).any(|(key, _)| is_message_key(&key));
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && carries_messages
        && !verified(&state, &binding, query)
    {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = decode(pair.split('=').next().unwrap_or_default());
                !pair.is_empty() && !is_message_key(&key)
            })
            .collect();
        let path = request.uri().path();
        let to = if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        if is_local(&to) {
            return Redirect::to(&to).into_response();
        }
        return Redirect::to("/").into_response();
    }
    next.run(request).await
}

/// Makes the `Location` of the answer to a plain form post a signed path of this site. An answer
/// the server function made is signed as it is; one the framework made (arguments it could not
/// read, before the function ran) goes back to the form's page with a message of our own.
fn answer(
    state: &AppState,
    binding: &[u8],
    headers: &HeaderMap,
    path: &str,
    ours: bool,
    response: &mut Response,
) {
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
    else {
        return;
    };
    let location = if ours && is_local(&location) {
        location
    } else {
        let back = back_to_form(headers);
        if !response.headers().contains_key(SERVER_FN_ERROR_HEADER) {
            back
        } else {
            let error = AppError::BadRequest(
                "The form could not be read. Reload the page and send it again.".into(),
            );
            with_error(&back, path, &error)
        }
    };
    let location = sign(state, binding, &location);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
}

/// `location` with the signature of its messages, when it has any, for the browser whose session
/// cookie holds `binding` (empty for a visitor without one).
pub fn sign(state: &AppState, binding: &[u8], location: &str) -> String {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    if !pairs(query).any(|(key, _)| SIGNED.contains(&key.as_str())) {
        return location.to_owned();
    }
    match signature(state, binding, query) {
        Some(signature) => format!("{location}&{SIGNATURE_PARAM}={signature}"),
        None => location.to_owned(),
    }
}

/// Whether the messages in `query` are the server's, for this browser.
fn verified(state: &AppState, binding: &[u8], query: &str) -> bool {
    let mut given = pairs(query).filter(|(key, _)| *key == SIGNATURE_PARAM);
    let (Some((_, given)), None) = (given.next(), given.next()) else {
        return false;
    };
    signature(state, binding, query).is_some_and(|expected| {
        expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0, |differ, (a, b)| differ | (a ^ b))
                == 0
    })
}

/// The signature of the messages in `query`, as they are written there (which is what the page
/// reads); `None` when one of them is given twice.
fn signature(state: &AppState, binding: &[u8], query: &str) -> Option<String> {
    let mut parts: Vec<&[u8]> = vec![binding];
    for key in SIGNED {
        let mut values = pairs(query).filter(|(k, _)| k == key).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (None, _) => parts.extend([&b"0"[..], &b""[..]]),
            (Some(value), None) => parts.extend([&b"1"[..], value.as_bytes()]),
            (Some(_), Some(_)) => return None,
        }
    }
    Some(state.keys.form_answer(&parts))
}

/// What a signature is bound to: the browser's session (nothing for a visitor without one), so
/// that an address made in one browser shows nothing in another's signed-in pages.
fn binding(request: &Request) -> Vec<u8> {
    let https = request
        .extensions()
        .get::<RequestOrigin>()
        .is_some_and(|o| o.https);
    sessions::cookie(request.headers(), https)
        .unwrap_or_default()
        .as_bytes()
        .to_vec()
}

fn is_message_key(key: &str) -> bool {
    SIGNED.contains(&key) || key == SIGNATURE_PARAM
}

/// The `key=value` pairs of a query (a key without `=` has an empty value): each key decoded
/// as the page decodes it, each value as it is written.
fn pairs(query: &str) -> impl Iterator<Item = (String, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(key, value)| (decode(key), value))
}

/// `text` percent-decoded, with `+` for a space (as in a form's query); what cannot be decoded is
/// kept as it is written.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at..at + 2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        match bytes[i] {
            b'%' if hex(i + 1).is_some() => {
                out.extend(hex(i + 1));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
