//! Single sign-on's addresses (SPEC section 10): "Continue with SSO" from the login page, and each
//! organization's OpenID Connect sign-in and callback under `/sso/{org_key}/`. A sign-in that
//! fails ends on `/sso/failed` with a readable reason and a reference, and is logged and written
//! in the organization's log (`sso.sign_in_failed`).

pub mod identities;
pub mod oidc;
pub mod saml;
pub mod settings;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    audit::{Actor, Event, Target},
    auth::{
        self, secrets, sessions,
        signin::Next,
        single_sign_on::{Answer, Failed},
        Admin, SignedIn,
    },
    change::Change,
    db,
    error::{ApiError, OrInternal},
    origin::RequestOrigin,
    AppState,
};
use crate::domain::{Action, AppError, EmailAddress, Mapped, Protocol, Role, SsoProblem};

pub use oidc::Providers;

/// How long a sign-in may stay at the identity provider.
const REQUEST_LIFETIME: i64 = 10 * 60;

/// The browser's single sign-on cookie over plain HTTP, and over HTTPS (see the session cookie).
const BROWSER_COOKIE: &str = "gatehouse_sso";
const SECURE_BROWSER_COOKIE: &str = "__Host-gatehouse_sso";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/start", get(start))
        .route("/sso/{key}/saml/metadata", get(saml_metadata))
        .route("/sso/{key}/saml/login", get(saml_login))
        .route("/sso/{key}/saml/acs", axum::routing::post(saml_acs))
        .route("/sso/{key}/oidc/login", get(oidc_login))
        .route("/sso/{key}/oidc/callback", get(oidc_callback))
}

/// The browser a request came from: the request's head, and where it came from.
struct Browser {
    parts: axum::http::request::Parts,
    origin: RequestOrigin,
}

impl axum::extract::FromRequestParts<AppState> for Browser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let origin = RequestOrigin::of(state, parts).map_err(ApiError)?;
        Ok(Self {
            parts: parts.clone(),
            origin,
        })
    }
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
async fn start(State(state): State<AppState>, Query(query): Query<StartQuery>) -> Response {
    let email = query.email;
    let Ok(address) = EmailAddress::parse(&email) else {
        return failed_page(SsoProblem::UnknownDomain, None);
    };
    let domain = address.as_str().rsplit('@').next().unwrap_or_default();
    let found = match db::sso::by_domain(state.db.pool(), domain).await {
        Ok(found) => found,
        Err(e) => {
            return ApiError(super::error::internal("finding an SSO domain", e)).into_response()
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
    // A page that moves on by itself, not a redirect: a form's answer that redirects to another
    // site breaks the pages' `form-action 'self'` policy in browsers that apply it to redirects.
    let next = format!("/sso/{key}/{}/login?{hint}", found.protocol);
    page(
        "Continuing to single sign-on",
        &format!(
            r#"<meta http-equiv="refresh" content="0;url={url}">"#,
            url = escape(&next)
        ),
        &format!(
            r#"<section class="card notice"><h1>Continuing to your identity provider…</h1><p><a id="continue" href="{url}">Continue</a></p></section>"#,
            url = escape(&next)
        ),
    )
}

/// A small page of the server's own (outside the app): `head` and `body` are HTML.
fn page(title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">{head}<title>{title} · Gatehouse</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/pkg/gatehouse.css"></head><body><main class="page">{body}</main></body></html>"#,
        title = escape(title)
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(html),
    )
        .into_response()
}

/// Text made safe to put in HTML, attributes included.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    login_hint: Option<String>,
    /// "Test sign-in" from the SSO page: the answer is shown, nobody is signed in.
    test: Option<String>,
    /// "Link" from the Account page: the identity is linked to the signed-in account.
    link: Option<String>,
}

/// Sends the browser to the organization's OpenID Connect provider.
async fn oidc_login(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<LoginQuery>,
    Browser { parts, origin }: Browser,
) -> Response {
    let hint = query.login_hint.clone();
    let purpose = match purpose_of(&state, &parts, &query).await {
        Ok(purpose) => purpose,
        Err(e) => return ApiError(e).into_response(),
    };
    match begin_oidc(
        &state,
        &key,
        &parts.headers,
        &origin,
        hint.as_deref(),
        purpose,
    )
    .await
    {
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
    purpose: Purpose,
) -> Result<Response, (Option<i64>, Failed)> {
    let organization_id = organization(state, key).await.map_err(|f| (None, f))?;
    let at = |f| (Some(organization_id), f);
    let (purpose_name, user_id) = purpose.check(organization_id).map_err(at)?;
    let settings = settings::oidc(state.db.pool(), organization_id)
        .await
        .map_err(|e| at(e.into()))?
        .ok_or_else(|| {
            at(Failed::problem(
                SsoProblem::NotConfigured,
                "no OIDC settings",
            ))
        })?;
    let redirect_url = settings::Addresses::at(origin, key).oidc_callback();
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
    send_to_provider(
        state,
        headers,
        origin,
        &db::sso::NewRequest {
            id_hash: &secrets::hash(&request_state),
            organization_id,
            protocol: Protocol::Oidc,
            purpose: purpose_name,
            nonce: Some(&started.nonce),
            pkce_verifier: Some(&started.pkce_verifier),
            user_id,
        },
        &started.url,
    )
    .await
    .map_err(|e| at(e.into()))
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
    Browser { parts, origin }: Browser,
) -> Response {
    match finish_oidc(&state, &key, &parts.headers, &origin, query).await {
        Ok(done) => finished(done),
        Err((organization, failed)) => fail(&state, organization, &origin, failed).await,
    }
}

async fn finish_oidc(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    query: CallbackQuery,
) -> Result<Finished, (Option<i64>, Failed)> {
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
    let redirect_url = settings::Addresses::at(origin, key).oidc_callback();
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
    conclude(
        state,
        organization_id,
        (&request.purpose, request.user_id),
        &settings.common,
        &answer,
        headers,
        origin,
    )
    .await
    .map_err(at)
}

/// What a verified answer leads to, by what the sign-in was for: an identity linked, a test's
/// page, or a session.
async fn conclude(
    state: &AppState,
    organization_id: i64,
    (purpose, started_by): (&str, Option<i64>),
    common: &settings::Common,
    answer: &Answer,
    headers: &HeaderMap,
    origin: &RequestOrigin,
) -> Result<Finished, Failed> {
    match purpose {
        "link" => {
            let user_id = started_by.unwrap_or_default();
            identities::link(state, organization_id, user_id, answer, origin).await?;
            Ok(Finished::Linked)
        }
        "test" => Ok(Finished::Tested(
            preview(state, organization_id, common, answer).await?,
        )),
        _ => {
            let old_session = sessions::cookie(headers, origin.https);
            super::auth::single_sign_on::sign_in(
                state,
                organization_id,
                common,
                answer,
                origin,
                old_session,
            )
            .await
            .map(Finished::SignedIn)
        }
    }
}

/// The answer to a browser whose sign-in ended well.
fn finished(done: Finished) -> Response {
    match done {
        Finished::Tested(preview) => preview,
        Finished::Linked => Redirect::to("/user/account?linked=1").into_response(),
        Finished::SignedIn(next) => {
            let mut response = Redirect::to(next.landing()).into_response();
            if let Ok(cookie) = HeaderValue::from_str(next.set_cookie()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
    }
}

/// How a callback ended well.
enum Finished {
    SignedIn(Next),
    /// A test sign-in: the page that shows the answer.
    Tested(Response),
    /// An identity linked from the Account page.
    Linked,
}

/// What a sign-in at the provider is for.
enum Purpose {
    SignIn,
    /// "Test sign-in" by an Owner or Administrator (organization, user).
    Test(i64, i64),
    /// Linking from the Account page (the account's organization, the account).
    Link(Option<i64>, i64),
}

/// The page a test sign-in ends on: what the provider said, and what it would do here.
async fn preview(
    state: &AppState,
    organization_id: i64,
    settings: &settings::Common,
    answer: &Answer,
) -> Result<Response, AppError> {
    let pool = state.db.pool();
    let identity = db::sso::find_identity(pool, organization_id, &answer.issuer, &answer.subject)
        .await
        .or_internal("finding an SSO identity")?;
    let user_id = match &identity {
        Some(identity) => Some(identity.user_id),
        None => db::users::find_by_email(pool, &answer.email)
            .await
            .or_internal("finding a user")?
            .map(|u| u.id),
    };
    let principal = match user_id {
        Some(id) => db::principals::by_user_id(pool, id)
            .await
            .or_internal("reading a membership")?,
        None => None,
    };
    let here = principal
        .as_ref()
        .filter(|p| p.organization_id == Some(organization_id));
    let current = here.and_then(|p| p.role);
    let outcome = match (&principal, here, &identity) {
        (Some(_), None, _)
            if principal
                .as_ref()
                .is_some_and(|p| p.organization_id.is_some()) =>
        {
            SsoProblem::OtherOrganization.message().to_owned()
        }
        (Some(_), None, None) => SsoProblem::AccountExists.message().to_owned(),
        (Some(_), Some(_), None) if !settings.link_existing_by_email => {
            SsoProblem::AccountExists.message().to_owned()
        }
        _ => {
            let decided = settings.decide(&answer.groups, current);
            match (decided, current) {
                (Mapped::Keep, Some(role)) => format!(
                    "Would sign in {} and keep the role {}.",
                    answer.email,
                    role.label()
                ),
                (Mapped::Keep, None) => format!(
                    "Would make the account {} as {}.",
                    answer.email,
                    settings.default_role.label()
                ),
                (Mapped::Role(Role::Deactivated), _) => format!(
                    "Would deactivate {}: none of their groups is mapped.",
                    answer.email
                ),
                (Mapped::Role(role), Some(from)) if role == from => {
                    format!("Would sign in {} as {}.", answer.email, role.label())
                }
                (Mapped::Role(role), Some(from)) => format!(
                    "Would change {} from {} to {} and sign them in.",
                    answer.email,
                    from.label(),
                    role.label()
                ),
                (Mapped::Role(role), None) => format!(
                    "Would make the account {} as {} (Pending when no seat is free).",
                    answer.email,
                    role.label()
                ),
            }
        }
    };
    let groups = if answer.groups.is_empty() {
        "<em>none</em>".to_owned()
    } else {
        answer
            .groups
            .iter()
            .map(|g| format!("<code>{}</code>", escape(g)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = format!(
        r#"<section class="card" data-testid="sso-test-result"><h1>Test sign-in</h1><p class="hint">Nobody was signed in.</p><dl class="facts"><dt>Issuer</dt><dd><code>{issuer}</code></dd><dt>Subject</dt><dd><code>{subject}</code></dd><dt>Email</dt><dd>{email}</dd><dt>Name</dt><dd>{first} {last}</dd><dt>Groups</dt><dd>{groups}</dd></dl><p data-testid="sso-test-outcome"><strong>{outcome}</strong></p><p><a href="/organization/sso">Back to the single sign-on settings</a></p></section>"#,
        issuer = escape(&answer.issuer),
        subject = escape(&answer.subject),
        email = escape(answer.email.as_str()),
        first = escape(&answer.first_name),
        last = escape(&answer.last_name),
        outcome = escape(&outcome),
    );
    Ok(page("Test sign-in", "", &body))
}

/// Our SAML metadata, for the organization's identity provider.
async fn saml_metadata(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Browser { origin, .. }: Browser,
) -> Response {
    if let Err(failed) = organization(&state, &key).await {
        return match failed {
            Failed::Error(e) => ApiError(e).into_response(),
            Failed::Problem { .. } => ApiError(AppError::NotFound(
                "There is no organization with this single sign-on address.".into(),
            ))
            .into_response(),
        };
    }
    let at = settings::Addresses::at(&origin, &key);
    let (entity_id, acs_url) = (at.saml_metadata(), at.saml_acs());
    let sp = samael::service_provider::ServiceProviderBuilder::default()
        .entity_id(entity_id.clone())
        .metadata_url(entity_id)
        .acs_url(acs_url.clone())
        .slo_url(acs_url.replace("/acs", "/slo"))
        .build();
    match sp
        .map_err(|e| e.to_string())
        .and_then(|sp| saml::metadata(&sp))
    {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => ApiError(super::error::internal("writing SAML metadata", e)).into_response(),
    }
}

/// Sends the browser to the organization's SAML identity provider with an AuthnRequest.
async fn saml_login(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<LoginQuery>,
    Browser { parts, origin }: Browser,
) -> Response {
    let purpose = match purpose_of(&state, &parts, &query).await {
        Ok(purpose) => purpose,
        Err(e) => return ApiError(e).into_response(),
    };
    match begin_saml(&state, &key, &parts.headers, &origin, purpose).await {
        Ok(response) => response,
        Err((organization, failed)) => fail(&state, organization, &origin, failed).await,
    }
}

async fn begin_saml(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    purpose: Purpose,
) -> Result<Response, (Option<i64>, Failed)> {
    let organization_id = organization(state, key).await.map_err(|f| (None, f))?;
    let at = |f| (Some(organization_id), f);
    let (purpose_name, user_id) = purpose.check(organization_id).map_err(at)?;
    let settings = settings::saml(state.db.pool(), organization_id)
        .await
        .map_err(|e| at(e.into()))?
        .ok_or_else(|| {
            at(Failed::problem(
                SsoProblem::NotConfigured,
                "no SAML settings",
            ))
        })?;
    let addresses = settings::Addresses::at(origin, key);
    let (entity_id, acs_url) = (addresses.saml_metadata(), addresses.saml_acs());
    let bad_settings = |why: String| at(Failed::problem(SsoProblem::NotConfigured, why));
    let idp = saml::idp(&settings.metadata_xml).map_err(bad_settings)?;
    let sp = saml::service_provider(&idp, &entity_id, &acs_url, false).map_err(bad_settings)?;
    let (url, request_id) = saml::login_redirect(&sp, &idp).map_err(bad_settings)?;
    send_to_provider(
        state,
        headers,
        origin,
        &db::sso::NewRequest {
            id_hash: &secrets::hash(&request_id),
            organization_id,
            protocol: Protocol::Saml,
            purpose: purpose_name,
            nonce: None,
            pkce_verifier: None,
            user_id,
        },
        &url,
    )
    .await
    .map_err(|e| at(e.into()))
}

/// The identity provider's browser post: a SAML response to verify. (Posted from the provider's
/// page, so cross-site by design: the signed response is its proof, not its origin.)
async fn saml_acs(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Browser { parts, origin }: Browser,
    body: axum::body::Bytes,
) -> Response {
    let saml_response = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "SAMLResponse")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    match finish_saml(&state, &key, &parts.headers, &origin, &saml_response).await {
        Ok(done) => finished(done),
        Err((organization, failed)) => fail(&state, organization, &origin, failed).await,
    }
}

async fn finish_saml(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    encoded: &str,
) -> Result<Finished, (Option<i64>, Failed)> {
    let organization_id = organization(state, key).await.map_err(|f| (None, f))?;
    let at = |f| (Some(organization_id), f);
    let invalid = |why: String| at(Failed::problem(SsoProblem::InvalidAnswer, why));
    let settings = settings::saml(state.db.pool(), organization_id)
        .await
        .map_err(|e| at(e.into()))?
        .ok_or_else(|| {
            at(Failed::problem(
                SsoProblem::NotConfigured,
                "no SAML settings",
            ))
        })?;
    let encoded: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let xml = saml::decode(&encoded)
        .ok_or_else(|| invalid("the SAMLResponse is missing or not base64 XML".into()))?;
    // The request it claims to answer (taken, so that it is answered once); the signature check
    // follows.
    let claimed = saml::claimed_requests(&xml);
    let mut request = None;
    for id in &claimed {
        let taken = db::sso::take_request(state.db.pool(), &secrets::hash(id), state.now())
            .await
            .or_internal("reading an SSO request")
            .map_err(|e| at(e.into()))?;
        if let Some(taken) = taken.filter(|r| {
            r.organization_id == organization_id && r.protocol == Protocol::Saml.as_str()
        }) {
            request = Some((id.clone(), taken));
            break;
        }
    }
    let unsolicited = request.is_none();
    if unsolicited && !claimed.is_empty() {
        return Err(at(Failed::problem(
            SsoProblem::Expired,
            "the response answers a request that is unknown, expired or answered already",
        )));
    }
    if unsolicited && !settings.allow_idp_initiated {
        return Err(at(Failed::problem(
            SsoProblem::Expired,
            "an unsolicited (IdP-initiated) response, and IdP-initiated sign-in is off",
        )));
    }
    let addresses = settings::Addresses::at(origin, key);
    let (entity_id, acs_url) = (addresses.saml_metadata(), addresses.saml_acs());
    let idp = saml::idp(&settings.metadata_xml)
        .map_err(|why| at(Failed::problem(SsoProblem::NotConfigured, why)))?;
    let sp = saml::service_provider(&idp, &entity_id, &acs_url, unsolicited)
        .map_err(|why| at(Failed::problem(SsoProblem::NotConfigured, why)))?;
    let request_id = request.as_ref().map(|(id, _)| id.clone());
    let verified = tokio::task::spawn_blocking(move || {
        let ids: Vec<&str> = request_id.iter().map(String::as_str).collect();
        saml::verify(&sp, &encoded, &ids)
    })
    .await
    .map_err(|e| invalid(format!("the verification stopped: {e}")))?
    .map_err(|why| invalid(format!("the response failed verification: {why}")))?;
    if unsolicited && verified.solicited {
        return Err(invalid(
            "an unsolicited response that names a request".into(),
        ));
    }
    // Each assertion once: remembered until it could no longer be accepted anyway.
    let now = state.now();
    let keep_until = verified.not_on_or_after.unwrap_or(now).max(now) + 600;
    match db::sso::use_assertion(
        state.db.pool(),
        organization_id,
        &verified.assertion_id,
        keep_until,
    )
    .await
    {
        Ok(()) => {}
        Err(e) if super::error::is_unique_violation(&e) => {
            return Err(at(Failed::problem(
                SsoProblem::Expired,
                format!(
                    "the assertion {} was used before (a replay)",
                    verified.assertion_id
                ),
            )))
        }
        Err(e) => {
            return Err(at(
                super::error::internal("recording a SAML assertion", e).into()
            ))
        }
    }
    let answer = saml_answer(&idp, &settings.common, &verified).map_err(at)?;
    let (purpose, started_by) = match &request {
        Some((_, r)) => (r.purpose.as_str(), r.user_id),
        None => ("sign_in", None),
    };
    conclude(
        state,
        organization_id,
        (purpose, started_by),
        &settings.common,
        &answer,
        headers,
        origin,
    )
    .await
    .map_err(at)
}

/// Who a verified assertion names, read through the settings' mappings.
fn saml_answer(
    idp: &saml::Idp,
    mapping: &settings::Common,
    verified: &saml::Verified,
) -> Result<Answer, Failed> {
    let first = |name: &str| {
        (!name.is_empty())
            .then(|| verified.attributes.get(name))
            .flatten()
            .and_then(|values| values.first())
            .map(|v| v.trim().to_owned())
    };
    let address = if mapping.mapping_email.is_empty() {
        verified.name_id.clone()
    } else {
        first(&mapping.mapping_email).ok_or_else(|| {
            Failed::problem(
                SsoProblem::NoVerifiedEmail,
                format!(
                    "the assertion has no \"{}\" attribute",
                    mapping.mapping_email
                ),
            )
        })?
    };
    let email = EmailAddress::parse(&address).map_err(|_| {
        Failed::problem(
            SsoProblem::NoVerifiedEmail,
            format!("the address the assertion gives ({address}) is not an email address"),
        )
    })?;
    let name = |attribute: &str| {
        first(attribute)
            .map(|n| n.chars().filter(|c| !c.is_control()).take(150).collect())
            .unwrap_or_default()
    };
    Ok(Answer {
        protocol: Protocol::Saml,
        issuer: idp.entity_id.clone(),
        subject: verified.name_id.clone(),
        email,
        first_name: name(&mapping.mapping_first_name),
        last_name: name(&mapping.mapping_last_name),
        groups: verified
            .attributes
            .get(&mapping.mapping_groups)
            .cloned()
            .unwrap_or_default(),
    })
}

/// What a sign-in is for, from its query: a test (Owner or Administrator), a link (the signed-in
/// account), or a sign-in.
async fn purpose_of(
    state: &AppState,
    parts: &axum::http::request::Parts,
    query: &LoginQuery,
) -> Result<Purpose, AppError> {
    if query.test.is_some() {
        let admin = auth::authorize::<Admin>(state, parts, auth::Scope::Own).await?;
        Ok(Purpose::Test(admin.organization_id(), admin.user_id()))
    } else if query.link.is_some() {
        let me = auth::authorize::<SignedIn>(state, parts, auth::Scope::Own).await?;
        Ok(Purpose::Link(me.organization_id(), me.user_id()))
    } else {
        Ok(Purpose::SignIn)
    }
}

impl Purpose {
    /// As stored with the request, and who started it; a test or link of another organization
    /// than the one whose address was used is refused.
    fn check(self, organization_id: i64) -> Result<(&'static str, Option<i64>), Failed> {
        match self {
            Purpose::SignIn => Ok(("sign_in", None)),
            Purpose::Test(organization, user) if organization == organization_id => {
                Ok(("test", Some(user)))
            }
            Purpose::Link(Some(organization), user) if organization == organization_id => {
                Ok(("link", Some(user)))
            }
            Purpose::Test(..) | Purpose::Link(..) => Err(Failed::problem(
                SsoProblem::OtherOrganization,
                "a test or link started for another organization",
            )),
        }
    }
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

/// Stores `request` (bound to the browser, for [`REQUEST_LIFETIME`]) and sends the browser to the
/// provider at `url`, giving it the single sign-on cookie when it has none.
async fn send_to_provider(
    state: &AppState,
    headers: &HeaderMap,
    origin: &RequestOrigin,
    request: &db::sso::NewRequest<'_>,
    url: &str,
) -> Result<Response, AppError> {
    let (browser, set_cookie) = browser_binding(headers, origin.https);
    let now = state.now();
    db::sso::insert_request(
        state.db.pool(),
        request,
        &secrets::hash(&browser),
        now,
        now + REQUEST_LIFETIME,
    )
    .await
    .or_internal("storing an SSO request")?;
    let mut response = Redirect::to(url).into_response();
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
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
    sessions::cookie_named(headers, wanted)
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
        None => change.organization_target(organization_id),
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
