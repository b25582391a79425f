//! Server functions: thin adapters, each one expression that names the witness it needs and
//! calls `server::*` with it.

pub mod account;
pub mod audit;
pub mod auth;
pub mod invites;
pub mod members;
pub mod organization;
pub mod password_reset;
pub mod profile;
pub mod scim;
pub mod sso;
pub mod tokens;
pub mod two_factor;
pub mod verification;

/// Set on every server function response that failed inside our code (with its status).
pub const ERROR_REFERENCE_HEADER: &str = "x-gatehouse-error";

/// The query parameter a plain form post (without JavaScript) that succeeded comes back to its
/// page with: the path of the server function that ran, so that the page can say it was done.
pub const DONE_PARAM: &str = "done";
/// The query parameter that shows the confirmation step of a `ConfirmButton` without JavaScript.
pub const CONFIRM_PARAM: &str = "confirm";
/// The query parameter that carries the server's signature of the messages in a page's address
/// (`__path` and `__err`, the error of a plain form post, and the results of invitations): a
/// page shows them only when it matches.
pub const SIGNATURE_PARAM: &str = "__sig";
/// Marks a plain form post's answer as made by the server function itself (removed before it is
/// sent), whose `Location` can be signed.
#[cfg(feature = "ssr")]
pub const FORM_ANSWER_HEADER: &str = "x-gatehouse-form-answer";

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::future::Future;

    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{
        domain::AppError,
        server::{
            auth::{self, Scope, Witness},
            startup::Reader,
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
        let request = use_context::<http::request::Parts>();
        let reader = request
            .as_ref()
            .and_then(|r| r.extensions.get::<Reader>().cloned());
        let work = async move {
            let state = use_context::<AppState>().ok_or_else(|| {
                crate::server::error::internal("server function", "no AppState in context")
            })?;
            let request = request.ok_or_else(|| {
                crate::server::error::internal("server function", "no request in context")
            })?;
            let me = auth::authorize::<W>(&state, &request, Scope::Own).await?;
            body(state, me).await
        };
        // The data of a page nobody waits for any more is not worth the database's time.
        let result = match reader {
            Some(reader) => tokio::select! {
                biased;
                () = reader.gone() => Err(AppError::Unavailable {
                    message: "The page was closed before it was ready.".into(),
                    retry_after: 1,
                }),
                result = work => result,
            },
            None => work.await,
        };
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
        // Whatever went into it, the answer never leaves this site.
        let location = location.map(|l| {
            if is_local(&l) {
                l
            } else if let Some(e) = error {
                with_error("/", request.uri.path(), e)
            } else {
                with_param("/", super::DONE_PARAM, request.uri.path())
            }
        });
        if let Some(location) = location.and_then(|l| http::HeaderValue::from_str(&l).ok()) {
            res.insert_header(http::header::LOCATION, location);
        }
        res.set_status(http::StatusCode::SEE_OTHER);
        res.insert_header(
            http::HeaderName::from_static(super::FORM_ANSWER_HEADER),
            http::HeaderValue::from_static("1"),
        );
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
        // Only a path of this site, checked as a browser will read it once dot segments are
        // resolved: never `//host` or `/\host`, which browsers read as another site.
        let path = normalize_path(referer.path()).filter(|p| is_local(p));
        let path = path.as_deref().unwrap_or("/");
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
                        super::SIGNATURE_PARAM,
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

    /// `path` with its dot segments resolved as a browser resolves them (`%2e` is a dot, `\` a
    /// slash, and `%2f` and `%5c` are read as the characters they encode); `None` when it does not
    /// start with `/`.
    pub(crate) fn normalize_path(path: &str) -> Option<String> {
        let mut decoded = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(at) = rest.find('%') {
            decoded.push_str(&rest[..at]);
            let code = rest.get(at + 1..at + 3).unwrap_or_default();
            match code.to_ascii_lowercase().as_str() {
                "2e" => decoded.push('.'),
                "2f" | "5c" => decoded.push('/'),
                _ => {
                    decoded.push('%');
                    rest = &rest[at + 1..];
                    continue;
                }
            }
            rest = &rest[at + 3..];
        }
        decoded.push_str(rest);
        let decoded = decoded.replace('\\', "/");
        let segments: Vec<&str> = decoded.strip_prefix('/')?.split('/').collect();
        let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match *segment {
                "." | ".." => {
                    if *segment == ".." {
                        kept.pop();
                    }
                    // `/a/..` is `/`, and `/a/b/.` is `/a/b/`.
                    if last {
                        kept.push("");
                    }
                }
                other => kept.push(other),
            }
        }
        Some(format!("/{}", kept.join("/")))
    }

    /// Whether a browser reads `location` as a path of this site: one `/`, then neither `/` nor
    /// `\` (which make it another host), and no white space or control character (which
    /// browsers drop or refuse).
    pub(crate) fn is_local(location: &str) -> bool {
        location.starts_with('/')
            && !location[1..].starts_with(['/', '\\'])
            && !location
                .bytes()
                .any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii())
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
    pub(crate) fn with_error(url: &str, path: &str, error: &AppError) -> String {
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
        fn a_referer_never_sends_the_browser_to_another_site() {
            for referer in [
                "http://h/..//evil.example",
                "http://h/..//evil.example?a=b",
                "http://h/./..//evil.example/x",
                "http://h/a/../..//evil.example",
                "http://h/%2e%2e//evil.example",
                "http://h/%2E%2E//evil.example",
                "http://h/.%2e//evil.example",
                "http://h/%2e//evil.example",
                "http://h/%2f/evil.example",
                "http://h/%2F%2Fevil.example",
                "http://h/%5cevil.example",
                "http://h/%5C%5Cevil.example",
                "http://h/..%2f/evil.example",
                "http://h/..%5c/evil.example",
                "http://h//evil.example/",
                "//evil.example",
                "//evil.example/organization",
                "/\\evil.example",
                "/./\\evil.example",
                "/..\\\\evil.example",
                "\\\\evil.example",
                "https://evil/",
                "https://evil//x",
                "http://h/\t/evil.example",
                "/\t/evil.example",
                "javascript:alert(1)",
                "evil.example",
                "",
            ] {
                let Ok(value) = http::HeaderValue::from_str(referer) else {
                    continue;
                };
                let mut headers = http::HeaderMap::new();
                headers.insert(http::header::REFERER, value);
                let back = back_to_form(&headers);
                assert!(is_local(&back), "{referer:?} went back to {back:?}");
                let location = with_error(&back, "/_sfn/x", &AppError::signed_out());
                assert!(is_local(&location), "{referer:?} led to {location:?}");
                let location = with_param(&back, crate::api::DONE_PARAM, "/_sfn/x");
                assert!(is_local(&location), "{referer:?} led to {location:?}");
            }
            // What is left is the page's own path, dots resolved.
            assert_eq!(back("http://h/..//evil.example"), "/");
            assert_eq!(
                back("http://h/user/../organization?a=b"),
                "/organization?a=b"
            );
            assert_eq!(back("http://h/user/%2e%2e/organization"), "/organization");
            assert_eq!(back("http://h/user/./login"), "/user/login");
        }

        #[test]
        fn only_a_single_slash_then_a_path_is_local() {
            for location in ["/", "/organization", "/user/login?a=b", "/%2e%2e//x"] {
                assert!(is_local(location), "{location}");
            }
            for location in [
                "//evil.example",
                "/\\evil.example",
                "\\\\evil.example",
                "https://evil/",
                "evil",
                "",
                "/\t/evil.example",
                "/\n/evil.example",
                "/\r/evil.example",
                "/ /evil.example",
                "/\u{0}/x",
                "/é",
            ] {
                assert!(!is_local(location), "{location:?}");
            }
            assert_eq!(normalize_path("/a/b/../c/./d"), Some("/a/c/d".into()));
            assert_eq!(normalize_path("/a/.."), Some("/".into()));
            assert_eq!(normalize_path("/a/b/."), Some("/a/b/".into()));
            assert_eq!(normalize_path("/../../.."), Some("/".into()));
            assert_eq!(normalize_path("/..//evil"), Some("//evil".into()));
            assert_eq!(normalize_path("/%2e%2e/%2E/x"), Some("/x".into()));
            assert_eq!(normalize_path("/%25%2"), Some("/%25%2".into()));
            assert_eq!(normalize_path("/%e9%"), Some("/%e9%".into()));
            assert_eq!(normalize_path("x/y"), None);
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
