//! Authentication (sessions and API tokens) and authorization: the witnesses (`Active`, `Admin`,
//! `Owner`…) that every entry point holds, made in one place.

pub mod common_passwords;
pub mod keys;
pub mod password;
pub mod secrets;

use axum::http::{header, HeaderMap};

use super::{db, error::OrInternal, now, AppState};
use crate::domain::{AppError, Need, Role};

pub const SESSION_COOKIE: &str = "gatehouse_session";
/// Sessions last two weeks from sign-in.
pub const SESSION_TTL_SECONDS: i64 = 14 * 24 * 60 * 60;

/// The user behind a request, with their membership as it is in the database right now. Only
/// [`authorize`] makes one, so holding one (inside a witness) proves who the caller is.
#[derive(Clone, Debug)]
pub struct Member {
    user_id: i64,
    email: String,
    organization_id: i64,
    role: Role,
}

impl Member {
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    /// The caller's organization: the scope of every query made on their behalf.
    pub fn organization_id(&self) -> i64 {
        self.organization_id
    }

    pub fn role(&self) -> Role {
        self.role
    }
}

mod sealed {
    pub trait Sealed {}

    /// Only this module can make one, so only `authorize` can call `Witness::admit`.
    pub struct Proof(pub(super) ());
}

/// A proof that the caller meets a [`Need`]; nothing outside this module can make one.
pub trait Witness: sealed::Sealed + Sized + Send + 'static {
    /// Whether the caller must be looked up at all.
    const IDENTIFIES: bool = true;
    #[doc(hidden)]
    fn admit(member: Option<Member>, proof: sealed::Proof) -> Result<Self, AppError>;
}

macro_rules! witness {
    ($(#[$doc:meta])* $name:ident = $need:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(Member);

        impl std::ops::Deref for $name {
            type Target = Member;
            fn deref(&self) -> &Member {
                &self.0
            }
        }

        impl sealed::Sealed for $name {}

        impl Witness for $name {
            fn admit(member: Option<Member>, _: sealed::Proof) -> Result<Self, AppError> {
                let member = member.ok_or_else(AppError::signed_out)?;
                member.role.allows($need)?;
                Ok(Self(member))
            }
        }
    };
}

witness!(
    /// A member who may use the organization.
    Active = Need::Active
);
witness!(
    /// The Owner or an Administrator of the organization.
    Admin = Need::Admin
);
witness!(
    /// The Owner of the organization.
    Owner = Need::Owner
);

/// What a stronger witness proves of a weaker one.
macro_rules! implies {
    ($from:ident => $($to:ident as $method:ident),+) => {
        impl $from {
            $(
                pub fn $method(&self) -> $to {
                    $to(self.0.clone())
                }
            )+
        }
    };
}

implies!(Owner => Active as active);
implies!(Admin => Active as active);

/// Whoever is calling, signed in or not, Pending and Deactivated included (so that the app can
/// tell them where they stand).
#[derive(Clone, Debug)]
pub struct Visitor(Option<Member>);

impl Visitor {
    /// The caller, if signed in.
    pub fn member(&self) -> Option<&Member> {
        self.0.as_ref()
    }
}

impl sealed::Sealed for Visitor {}

impl Witness for Visitor {
    fn admit(member: Option<Member>, _: sealed::Proof) -> Result<Self, AppError> {
        Ok(Self(member))
    }
}

/// Anyone at all; the caller is not looked up (signing up and in).
#[derive(Clone, Copy, Debug)]
pub struct Anyone;

impl sealed::Sealed for Anyone {}

impl Witness for Anyone {
    const IDENTIFIES: bool = false;
    fn admit(_: Option<Member>, _: sealed::Proof) -> Result<Self, AppError> {
        Ok(Self)
    }
}

/// Which organization a request addresses.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// The caller's own (`/api/organization/`, server functions).
    Own,
    /// The organization named by the path (`/api/organizations/{id}`): another organization's
    /// id is "not found" to every member who may use the app, before their role is considered.
    Named(&'a str),
}

pub fn organization_not_found() -> AppError {
    AppError::NotFound("Organization not found.".into())
}

/// The one way a request becomes a witness: resolves its credentials (an `Authorization: Token`
/// header, else the session cookie), checks the scope, and admits the caller if they meet `W`'s
/// need.
pub async fn authorize<W: Witness>(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope<'_>,
) -> Result<W, AppError> {
    if !W::IDENTIFIES {
        return W::admit(None, sealed::Proof(()));
    }
    let member = identify(state, headers).await?;
    if let (Scope::Named(id), Some(m)) = (scope, &member) {
        if m.role.allows(Need::Active).is_ok() && id.parse::<i64>().ok() != Some(m.organization_id)
        {
            return Err(organization_not_found());
        }
    }
    W::admit(member, sealed::Proof(()))
}

/// Resolves the request's credentials. An `Authorization` header must hold a valid token (a
/// wrong one is an error, never a silent fallback to the cookie); a stale or unknown session
/// cookie is simply no session.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Member>, AppError> {
    let now = now();
    let record = if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = parse_token_header(value.to_str().unwrap_or_default())?;
        db::principals::by_api_token(state.db.pool(), &secrets::hash(token))
            .await
            .or_internal("looking up an API token")?
            .ok_or_else(|| {
                AppError::Unauthenticated(
                    "Invalid token. Copy your current token from the Account page.".into(),
                )
            })?
    } else if let Some(session) = session_cookie(headers) {
        match db::principals::by_session(state.db.pool(), &secrets::hash(session), now)
            .await
            .or_internal("looking up a session")?
        {
            Some(record) => record,
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    if record.last_activity_at.is_none_or(|t| t < now - 60) {
        let pool = state.db.pool().clone();
        let user_id = record.user_id;
        tokio::spawn(async move {
            if let Err(e) = db::users::touch_activity(&pool, user_id, now).await {
                tracing::warn!(error = %e, user_id, "could not record last activity");
            }
        });
    }
    Ok(Some(Member {
        user_id: record.user_id,
        email: record.email,
        organization_id: record.organization_id,
        role: record.role,
    }))
}

fn parse_token_header(value: &str) -> Result<&str, AppError> {
    let mut parts = value.trim().splitn(2, ' ');
    match (parts.next(), parts.next().map(str::trim)) {
        (Some(scheme), Some(token))
            if scheme.eq_ignore_ascii_case("token") && !token.is_empty() =>
        {
            Ok(token)
        }
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
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_header_needs_the_token_scheme() {
        assert_eq!(parse_token_header("Token abc").unwrap(), "abc");
        assert_eq!(parse_token_header("token   abc ").unwrap(), "abc");
        for bad in ["", "Token", "Token ", "Bearer abc", "abc"] {
            assert!(
                matches!(parse_token_header(bad), Err(AppError::Unauthenticated(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; gatehouse_session=xyz; b=2".parse().unwrap(),
        );
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
