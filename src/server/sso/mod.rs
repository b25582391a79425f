//! Single sign-on's addresses (SPEC section 10): "Continue with SSO" from the login page, and each
//! organization's OpenID Connect sign-in and callback under `/sso/{org_key}/`. A sign-in that
//! fails ends on `/sso/failed` with a readable reason and a reference, and is logged and written
//! in the organization's log (`sso.sign_in_failed`).

pub mod oidc;
pub mod settings;

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    audit::{Actor, Event, Target},
    auth::{secrets, sessions, signin::Next, single_sign_on::Failed},
    change::Change,
    db,
    error::{ApiError, OrInternal},
    origin::RequestOrigin,
    AppState,
};
use crate::domain::{Action, AppError, EmailAddress, Protocol, SsoProblem};

pub use oidc::Providers;

/// How long a sign-in may stay at the identity provider.
const REQUEST_LIFETIME: i64 = 10 * 60;

/// The browser's single sign-on cookie over plain HTTP, and over HTTPS (see the session cookie).
const BROWSER_COOKIE: &str = "gatehouse_sso";
const SECURE_BROWSER_COOKIE: &str = "__Host-gatehouse_sso";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/start", get(start))
        .route("/sso/{key}/oidc/login", get(oidc_login))
        .route("/sso/{key}/oidc/callback", get(oidc_callback))
}

/// The page that tells why a sign-in failed.
pub const FAILED_PATH: &str = "/sso/failed";

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    email: String,
}

/// "Continue with SSO": the address's domain finds the organization, and the browser goes on to
/// its identity provider's sign-in (with the address as a hint).
async fn start(
    State(state): State<AppState>,
    Query(query): Query<StartQuery>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let email = query.email;
    let Ok(address) = EmailAddress::parse(&email) else {
        return failed_page(SsoProblem::UnknownDomain, None);
    };
    let domain = address.as_str().rsplit('@').next().unwrap_or_default();
    let found = match db::sso::by_domain(state.db.pool(), domain).await {
        Ok(found) => found,
        Err(e) => {
            return error_page(
                &state,
                &parts,
                AppError::from(super::error::internal("finding an SSO domain", e)),
            )
        }
    };
    let Some(found) = found else {
        tracing::info!(
            domain,
            "Continue with SSO: no organization signs in this domain"
        );
        return failed_page(SsoProblem::UnknownDomain, None);
    };
    let key = found.sso_key.unwrap_or_default();
    let hint = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("login_hint", address.as_str())
        .finish();
    Redirect::to(&format!("/sso/{key}/{}/login?{hint}", found.protocol)).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    login_hint: Option<String>,
}

/// Sends the browser to the organization's OpenID Connect provider.
async fn oidc_login(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<LoginQuery>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let origin = match RequestOrigin::of(&state, &parts) {
        Ok(origin) => origin,
        Err(e) => return ApiError(e).into_response(),
    };
    let hint = query.login_hint;
    match begin_oidc(&state, &key, &parts.headers, &origin, hint.as_deref()).await {
        Ok(response) => response,
        Err((organization, failed)) => fail(&state, organization, &origin, failed).await,
    }
}

async fn begin_oidc(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    hint: Option<&str>,
) -> Result<Response, (Option<i64>, Failed)> {
    let organization_id = organization(state, key).await.map_err(|f| (None, f))?;
    let at = |f| (Some(organization_id), f);
    let settings = settings::oidc(state.db.pool(), organization_id)
        .await
        .map_err(|e| at(e.into()))?
        .ok_or_else(|| {
            at(Failed::problem(
                SsoProblem::NotConfigured,
                "no OIDC settings",
            ))
        })?;
    let redirect_url = format!("{}/sso/{key}/oidc/callback", origin.public);
    let request_state = secrets::generate("");
    let started = oidc::start(
        &state.sso,
        &settings,
        &redirect_url,
        request_state.clone(),
        hint,
    )
    .await
    .map_err(at)?;
    let (browser, set_cookie) = browser_binding(headers, origin.https);
    let now = state.now();
    db::sso::insert_request(
        state.db.pool(),
        &db::sso::NewRequest {
            id_hash: &secrets::hash(&request_state),
            organization_id,
            protocol: Protocol::Oidc,
            purpose: "sign_in",
            browser_hash: &secrets::hash(&browser),
            nonce: Some(&started.nonce),
            pkce_verifier: Some(&started.pkce_verifier),
            user_id: None,
            now,
            expires_at: now + REQUEST_LIFETIME,
        },
    )
    .await
    .or_internal("storing an SSO request")
    .map_err(|e| at(e.into()))?;
    let mut response = Redirect::to(&started.url).into_response();
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider sends the browser back here with a code (or an error).
async fn oidc_callback(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<CallbackQuery>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let origin = match RequestOrigin::of(&state, &parts) {
        Ok(origin) => origin,
        Err(e) => return ApiError(e).into_response(),
    };
    match finish_oidc(&state, &key, &parts.headers, &origin, query).await {
        Ok(Next::SignedIn(session)) => {
            let mut response = Redirect::to("/").into_response();
            if let Ok(cookie) = HeaderValue::from_str(session.set_cookie()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err((organization, failed)) => fail(&state, organization, &origin, failed).await,
    }
}

async fn finish_oidc(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    query: CallbackQuery,
) -> Result<Next, (Option<i64>, Failed)> {
    let organization_id = organization(state, key).await.map_err(|f| (None, f))?;
    let at = |f| (Some(organization_id), f);
    let Some(request_state) = query.state.filter(|s| !s.is_empty()) else {
        return Err(at(Failed::problem(
            SsoProblem::Expired,
            "a callback without state",
        )));
    };
    let request =
        db::sso::take_request(state.db.pool(), &secrets::hash(&request_state), state.now())
            .await
            .or_internal("reading an SSO request")
            .map_err(|e| at(e.into()))?
            .filter(|r| {
                r.organization_id == organization_id && r.protocol == Protocol::Oidc.as_str()
            })
            .ok_or_else(|| {
                at(Failed::problem(
                    SsoProblem::Expired,
                    "an unknown, expired or used state",
                ))
            })?;
    let browser = browser_cookie(headers, origin.https).map(secrets::hash);
    if browser.as_ref().map(|h| h.as_slice()) != Some(request.browser_hash.as_slice()) {
        return Err(at(Failed::problem(
            SsoProblem::OtherBrowser,
            "the callback came without the cookie of the browser that started the sign-in",
        )));
    }
    if let Some(error) = query.error {
        return Err(at(Failed::problem(
            SsoProblem::ProviderRefused,
            format!(
                "the provider answered {error}{}",
                query
                    .error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        )));
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return Err(at(Failed::problem(
            SsoProblem::ProviderRefused,
            "a callback without a code",
        )));
    };
    let settings = settings::oidc(state.db.pool(), organization_id)
        .await
        .map_err(|e| at(e.into()))?
        .ok_or_else(|| {
            at(Failed::problem(
                SsoProblem::NotConfigured,
                "the OIDC settings were removed",
            ))
        })?;
    let redirect_url = format!("{}/sso/{key}/oidc/callback", origin.public);
    let answer = oidc::finish(
        &state.sso,
        &settings,
        &redirect_url,
        &code,
        request.nonce.as_deref().unwrap_or_default(),
        request.pkce_verifier.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(at)?;
    let old_session = sessions::cookie(headers, origin.https);
    super::auth::single_sign_on::sign_in(
        state,
        organization_id,
        &settings.common,
        &answer,
        origin,
        old_session,
    )
    .await
    .map_err(at)
}

/// The organization whose SSO key is `key`.
async fn organization(state: &AppState, key: &str) -> Result<i64, Failed> {
    db::sso::organization_by_key(state.db.pool(), key)
        .await
        .or_internal("finding an organization by its SSO key")?
        .ok_or_else(|| {
            Failed::problem(
                SsoProblem::NotConfigured,
                format!("no organization has the SSO key {key:?}"),
            )
        })
}

/// The browser's single sign-on cookie, and the `Set-Cookie` that gives it one when it has none.
fn browser_binding(headers: &HeaderMap, https: bool) -> (String, Option<String>) {
    if let Some(existing) = browser_cookie(headers, https) {
        return (existing.to_owned(), None);
    }
    let value = secrets::generate("");
    let cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        if https {
            SECURE_BROWSER_COOKIE
        } else {
            BROWSER_COOKIE
        },
        REQUEST_LIFETIME,
        if https { "; Secure" } else { "" }
    );
    (value, Some(cookie))
}

fn browser_cookie(headers: &HeaderMap, https: bool) -> Option<&str> {
    let wanted = if https {
        SECURE_BROWSER_COOKIE
    } else {
        BROWSER_COOKIE
    };
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// A failed sign-in: logged with its cause and a reference, written in the organization's log,
/// and the browser sent to the page that says why.
async fn fail(
    state: &AppState,
    organization_id: Option<i64>,
    origin: &RequestOrigin,
    failed: Failed,
) -> Response {
    let (problem, cause, user) = match failed {
        Failed::Problem {
            problem,
            cause,
            user,
        } => (problem, cause, user),
        Failed::Error(e) => return ApiError(e).into_response(),
    };
    let reference = hex::encode(secrets::random_bytes::<6>());
    tracing::warn!(
        organization_id,
        reference,
        reason = problem.code(),
        cause,
        client = %origin.client,
        "an SSO sign-in failed"
    );
    if let Some(organization_id) = organization_id {
        if let Err(e) =
            record_failure(state, organization_id, origin, problem, &reference, user).await
        {
            tracing::warn!(error = %e, reference, "could not write a failed SSO sign-in in the log");
        }
    }
    failed_page(problem, Some(&reference))
}

async fn record_failure(
    state: &AppState,
    organization_id: i64,
    origin: &RequestOrigin,
    problem: SsoProblem,
    reference: &str,
    user: Option<(i64, String)>,
) -> Result<(), AppError> {
    let mut change = Change::to_organization(state, organization_id).await?;
    let target = match user {
        Some((id, email)) => Target::User { id, email },
        None => Target::Organization {
            id: organization_id,
            title: change
                .organization()
                .map(|o| o.title.clone())
                .unwrap_or_default(),
        },
    };
    change.record(
        Event::new(Actor::System, Action::SsoSignInFailed, target)
            .details(json!({
                "reason": problem.code(),
                "reference": reference,
            }))
            .from(origin),
    );
    change.commit().await
}

fn failed_page(problem: SsoProblem, reference: Option<&str>) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("reason", problem.code());
    if let Some(reference) = reference {
        query.append_pair("reference", reference);
    }
    Redirect::to(&format!("{FAILED_PATH}?{}", query.finish())).into_response()
}

fn error_page(_state: &AppState, _parts: &Parts, e: AppError) -> Response {
    ApiError(e).into_response()
}
