//! Server functions: thin adapters, each one expression that names the witness it needs and
//! calls `server::*` with it.

pub mod account;
pub mod audit;
pub mod auth;
pub mod invites;
pub mod organization;
pub mod password_reset;
pub mod profile;
pub mod verification;

/// Set on every server function response that failed inside our code (with its status).
pub const ERROR_REFERENCE_HEADER: &str = "x-gatehouse-error";

/// The query parameter a plain form post (without JavaScript) that succeeded comes back to its
/// page with: the path of the server function that ran, so that the page can say it was done.
pub const DONE_PARAM: &str = "done";
/// The query parameter that shows the confirmation step of a `ConfirmButton` without JavaScript.
pub const CONFIRM_PARAM: &str = "confirm";

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::future::Future;

    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{
        domain::AppError,
        server::{
            auth::{self, Scope, Witness},
            AppState,
        },
    };

    /// Runs a server function's body for a caller who meets `W`: the one way in. A refusal, like
    /// any failure of the body, becomes the response's status and error.
    pub async fn authorized<W, T, Fut>(body: impl FnOnce(AppState, W) -> Fut) -> Result<T, AppError>
    where
        W: Witness,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let result = async {
            let state = use_context::<AppState>().ok_or_else(|| {
                crate::server::error::internal("server function", "no AppState in context")
            })?;
            let request = use_context::<http::request::Parts>().ok_or_else(|| {
                crate::server::error::internal("server function", "no request in context")
            })?;
            let me = auth::authorize::<W>(&state, &request, Scope::Own).await?;
            body(state, me).await
        }
        .await;
        if plain_form_post() {
            // The browser follows a 303 back to the form's page (or to where `land_on` said),
            // with the error in the query for the page to show, as the hydrated app shows it.
            answer_form_post(result.as_ref().err());
        } else if let Err(e) = &result {
            if let Some(res) = use_context::<ResponseOptions>() {
                res.set_status(
                    http::StatusCode::from_u16(e.status_code())
                        .unwrap_or(http::StatusCode::BAD_REQUEST),
                );
                res.insert_header(
                    http::HeaderName::from_static(super::ERROR_REFERENCE_HEADER),
                    http::HeaderValue::from_static("1"),
                );
                if let Some(seconds) = e.retry_after() {
                    res.insert_header(http::header::RETRY_AFTER, seconds.into());
                }
            }
        }
        result
    }

    /// Whether the request is a plain HTML form post (no JavaScript yet, or none at all): it
    /// accepts HTML, where the app's own calls ask for JSON.
    pub fn plain_form_post() -> bool {
        use_context::<http::request::Parts>().is_some_and(|request| {
            request.method == http::Method::POST
                && request
                    .headers
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// After a plain form post succeeds, the browser goes to `path`: where the hydrated app
    /// goes after the same action. Calls from the hydrated app are not redirected (it navigates
    /// itself).
    pub fn land_on(path: &str) {
        if plain_form_post() {
            leptos_axum::redirect(path);
        }
    }

    /// The answer to a plain form post: 303 to where `land_on` said, or else back to the page
    /// that sent the form (without its confirmation step), marked done or with the error.
    fn answer_form_post(error: Option<&AppError>) {
        let (Some(res), Some(request)) = (
            use_context::<ResponseOptions>(),
            use_context::<http::request::Parts>(),
        ) else {
            return;
        };
        let landing = res
            .0
            .read()
            .is_ok_and(|parts| parts.headers.contains_key(http::header::LOCATION));
        let back = || back_to_form(&request.headers);
        let location = match error {
            None if landing => None,
            None => Some(with_param(&back(), super::DONE_PARAM, request.uri.path())),
            Some(e) => {
                if let Some(seconds) = e.retry_after() {
                    res.insert_header(http::header::RETRY_AFTER, seconds.into());
                }
                Some(with_error(&back(), request.uri.path(), e))
            }
        };
        if let Some(location) = location.and_then(|l| http::HeaderValue::from_str(&l).ok()) {
            res.insert_header(http::header::LOCATION, location);
        }
        res.set_status(http::StatusCode::SEE_OTHER);
    }

    /// The path and query of the page that sent the form (its `Referer`, which the
    /// `same-origin` referrer policy keeps for our own pages), without what a previous answer
    /// added; `/` without one.
    pub(crate) fn back_to_form(headers: &http::HeaderMap) -> String {
        let Some(referer) = headers
            .get(http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<http::Uri>().ok())
        else {
            return "/".to_owned();
        };
        let path = referer.path();
        // Only a path of this site: never `//host` or `/\host`, which browsers read as another.
        let path = if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') {
            path
        } else {
            "/"
        };
        let kept: Vec<&str> = referer
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !pair.is_empty()
                    && ![
                        super::DONE_PARAM,
                        super::CONFIRM_PARAM,
                        "__path",
                        "__err",
                        "invited",
                    ]
                    .contains(&key)
            })
            .collect();
        if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        }
    }

    /// `url` (a path with an optional query) with one more query parameter.
    pub(crate) fn with_param(url: &str, key: &str, value: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{key}={}", query_escape(value))
    }

    /// `text` percent-encoded for a query value.
    pub fn query_escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    /// `url` with the error of the server function at `path`, as `ServerAction` reads it from the
    /// query (`__path` and `__err`).
    fn with_error(url: &str, path: &str, error: &AppError) -> String {
        use leptos::server_fn::error::ServerFnUrlError;
        match ServerFnUrlError::new(path, error.clone()).to_url(&format!("http://localhost{url}")) {
            Ok(full) => match full.query() {
                Some(query) => format!("{}?{query}", full.path()),
                None => full.path().to_owned(),
            },
            Err(_) => url.to_owned(),
        }
    }

    /// The request's headers.
    pub fn headers() -> http::HeaderMap {
        use_context::<http::request::Parts>()
            .map(|p| p.headers)
            .unwrap_or_default()
    }

    pub fn set_cookie(value: &str) {
        if let (Some(res), Ok(value)) = (
            use_context::<ResponseOptions>(),
            http::HeaderValue::from_str(value),
        ) {
            res.append_header(http::header::SET_COOKIE, value);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn back(referer: &str) -> String {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::REFERER, referer.parse().unwrap());
            back_to_form(&headers)
        }

        #[test]
        fn a_form_goes_back_to_its_page_without_what_an_answer_added() {
            assert_eq!(back("http://h/organization"), "/organization");
            assert_eq!(
                back("http://h/organization?invite=link&confirm=remove-3&done=/_sfn/x&__path=a&__err=b&invited=c&role=ANNOTATOR"),
                "/organization?invite=link&role=ANNOTATOR"
            );
            assert_eq!(back("http://h//evil.example/"), "/");
            assert_eq!(back_to_form(&http::HeaderMap::new()), "/");
        }

        #[test]
        fn answers_are_added_to_the_query() {
            assert_eq!(with_param("/a", "done", "/_sfn/x"), "/a?done=/_sfn/x");
            assert_eq!(with_param("/a?b=1", "k", "x y&z"), "/a?b=1&k=x%20y%26z");
            let url = with_error(
                "/user/login?token=t",
                "/_sfn/auth/log_in",
                &AppError::signed_out(),
            );
            assert!(
                url.starts_with("/user/login?token=t&__path=%2F_sfn%2Fauth%2Flog_in&__err="),
                "{url}"
            );
        }
    }
}
