//! Authentication (sessions and API tokens) and the authorization checks every entry point uses.

pub mod keys;
pub mod password;
pub mod secrets;

use axum::http::{header, HeaderMap};

use super::{db, error::OrInternal, now, AppState};
use crate::domain::{AppError, Role};

pub const SESSION_COOKIE: &str = "gatehouse_session";
/// Sessions last two weeks from sign-in.
pub const SESSION_TTL_SECONDS: i64 = 14 * 24 * 60 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    Token,
}

/// The user behind a request, with their membership as it is in the database right now.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub email: String,
    pub organization_id: i64,
    pub role: Role,
    pub method: AuthMethod,
}

/// Resolves the request's credentials. An `Authorization` header must hold a valid token (a
/// wrong one is an error, never a silent fallback to the cookie); a stale or unknown session
/// cookie is simply no session.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, AppError> {
    let now = now();
    let (record, method) = if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = parse_token_header(value.to_str().unwrap_or_default())?;
        let record = db::principals::by_api_token(state.db.pool(), &secrets::hash(token))
            .await
            .or_internal("looking up an API token")?
            .ok_or_else(|| AppError::Unauthenticated("Invalid token. Copy your current token from the Account page.".into()))?;
        (record, AuthMethod::Token)
    } else if let Some(session) = session_cookie(headers) {
        match db::principals::by_session(state.db.pool(), &secrets::hash(session), now)
            .await
            .or_internal("looking up a session")?
        {
            Some(record) => (record, AuthMethod::Session),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let role: Role = record.role.parse().or_internal("reading a stored role")?;
    if record.last_activity_at.is_none_or(|t| t < now - 60) {
        let pool = state.db.pool().clone();
        let user_id = record.user_id;
        tokio::spawn(async move {
            if let Err(e) = db::users::touch_activity(&pool, user_id, now).await {
                tracing::warn!(error = %e, user_id, "could not record last activity");
            }
        });
    }
    Ok(Some(Principal {
        user_id: record.user_id,
        email: record.email,
        organization_id: record.organization_id,
        role,
        method,
    }))
}

fn parse_token_header(value: &str) -> Result<&str, AppError> {
    let mut parts = value.trim().splitn(2, ' ');
    match (parts.next(), parts.next().map(str::trim)) {
        (Some(scheme), Some(token)) if scheme.eq_ignore_ascii_case("token") && !token.is_empty() => Ok(token),
        _ => Err(AppError::Unauthenticated(
            "Send your API token in the header \"Authorization: Token <your token>\".".into(),
        )),
    }
}

/// The session id from the `Cookie` header, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that starts a session.
pub fn session_set_cookie(session: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={SESSION_TTL_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn session_clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the browser reached us over HTTPS (directly configured, or through a proxy that says so).
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub const DEACTIVATED_MESSAGE: &str =
    "Your account has been deactivated. Ask an administrator of your organization to restore it.";
pub const PENDING_MESSAGE: &str =
    "An administrator must assign your role before you can use this organization.";

/// A signed-in user whose account is not deactivated (Pending users pass).
pub fn require_user(principal: Option<Principal>) -> Result<Principal, AppError> {
    let p = principal.ok_or_else(AppError::signed_out)?;
    if p.role == Role::Deactivated {
        return Err(AppError::Forbidden(DEACTIVATED_MESSAGE.into()));
    }
    Ok(p)
}

/// A member who may use the organization: any role that takes a seat.
pub fn require_active(principal: Option<Principal>) -> Result<Principal, AppError> {
    let p = require_user(principal)?;
    if p.role == Role::NotActivated {
        return Err(AppError::Forbidden(PENDING_MESSAGE.into()));
    }
    Ok(p)
}

/// The Owner or an Administrator.
pub fn require_admin(principal: Option<Principal>) -> Result<Principal, AppError> {
    let p = require_active(principal)?;
    if !p.role.manages_organization() {
        return Err(AppError::Forbidden(
            "Only the Owner or an Administrator of the organization can do this.".into(),
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_header_needs_the_token_scheme() {
        assert_eq!(parse_token_header("Token abc").unwrap(), "abc");
        assert_eq!(parse_token_header("token   abc ").unwrap(), "abc");
        for bad in ["", "Token", "Token ", "Bearer abc", "abc"] {
            assert!(matches!(parse_token_header(bad), Err(AppError::Unauthenticated(_))), "{bad:?}");
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; gatehouse_session=xyz; b=2".parse().unwrap());
        assert_eq!(session_cookie(&headers), Some("xyz"));
        headers.insert(header::COOKIE, "gatehouse_session=".parse().unwrap());
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn session_cookie_is_http_only_and_same_site() {
        let c = session_set_cookie("s", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(session_set_cookie("s", true).ends_with("; Secure"));
    }
}
