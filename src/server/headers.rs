//! The security headers of every response, errors included: installed as the outermost layer,
//! so that answers made by other layers (the 413 of the body limit, refusals of the origin
//! check) carry them too.
//!
//! - `Content-Security-Policy`: pages may run only our own scripts, the WebAssembly they
//!   compile, and inline scripts that carry this response's nonce (Leptos' hydration and
//!   resource scripts); every other answer may load nothing. No page may frame us.
//! - `Cache-Control: no-store` on every answer that does not say how it may be cached: pages
//!   show the signed-in user's data, and API answers and server functions carry tokens and
//!   invite links. The browser bundle under `/pkg/` keeps its own header.
//! - `Strict-Transport-Security` when the public origin (`LABEL_STUDIO_HOST`) is https.
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use leptos::prelude::{provide_context, use_context};

use super::{auth::secrets, Config};

/// The policy of everything that is not a page: it may load, run and embed nothing.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// How long browsers remember to use https only (a year).
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The headers that depend on the settings; worked out once, when the router is built.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    /// Whether the public origin is https, so that browsers may be told to use nothing else.
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        Self {
            hsts: config
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        }
    }
}

/// The nonce of one response's Content-Security-Policy. The middleware puts it into the
/// request; the page renderer gives it to Leptos ([`provide_nonce`]), which writes it into the
/// inline scripts it emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CspNonce(Arc<str>);

impl CspNonce {
    /// 128 random bits, base64url (a valid CSP nonce).
    fn new() -> Self {
        Self(URL_SAFE_NO_PAD.encode(secrets::random_bytes::<16>()).into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The policy of an HTML page rendered with this nonce.
    fn page_policy(&self) -> String {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            self.0
        )
    }
}

/// Leptos context for a page render or server function: the nonce the middleware chose for
/// this request, in place of the one Leptos makes up, so that the inline scripts and the
/// header agree. Pass it to `leptos_routes_with_context` and the file-and-error handler.
pub fn provide_nonce() {
    let nonce =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The middleware: chooses the request's nonce, then puts the headers on whatever answers.
pub async fn security_headers(
    State(settings): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = CspNonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if is_page {
        HeaderValue::from_str(&nonce.page_policy()).expect("a nonce is base64url")
    } else {
        HeaderValue::from_static(API_POLICY)
    };
    let not_modified = response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    // A 304 refreshes the headers of a stored copy: it must not forbid storing it.
    if !headers.contains_key(header::CACHE_CONTROL) && !not_modified {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if settings.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_and_valid_in_a_policy() {
        let (a, b) = (CspNonce::new(), CspNonce::new());
        assert_ne!(a, b);
        assert!(a.as_str().len() >= 22, "128 bits");
        assert!(a
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert!(a.page_policy().contains(&format!(
            "script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'",
            a.as_str()
        )));
    }

    #[test]
    fn hsts_only_under_an_https_public_origin() {
        let with = |url: Option<&str>| {
            SecurityHeaders::new(&Config {
                public_url: url.map(str::to_owned),
                ..Config::default()
            })
            .hsts
        };
        assert!(with(Some("https://labels.example.com")));
        assert!(!with(Some("http://labels.example.com")));
        assert!(!with(None));
    }
}
