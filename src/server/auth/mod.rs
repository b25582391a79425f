//! Authentication (sessions and API tokens) and authorization: the witnesses (`Active`, `Admin`,
//! `Owner`…) that every entry point holds, made in one place.

//! Signing in is a pipeline (see [`signin`]): each credential (a password, signing up, an
//! invitation, a reset link) proves who someone is in a module of its own, and [`sessions::open`]
//! opens the session.

pub mod account_links;
pub mod api_tokens;
pub mod common_passwords;
pub mod invitation;
pub mod keys;
pub mod passkeys;
pub mod password;
pub mod personal_tokens;
pub mod proven;
pub mod reset_link;
pub mod secrets;
pub mod sessions;
pub mod signin;
pub mod signup;
pub mod single_sign_on;
pub mod two_factor;
pub mod verification;

use axum::http::{header, request::Parts, HeaderMap};

use super::{change::Acting, db, error::OrInternal, origin::RequestOrigin, AppState};
use crate::domain::{admits, AppError, Need, Refusal, Role};

/// The user behind a request, with their membership as it is in the database right now. Only
/// [`authorize`] makes one, so holding one (inside a witness) proves who the caller is.
#[derive(Clone, Debug)]
pub struct Member {
    user_id: i64,
    email: String,
    organization_id: i64,
    role: Role,
    origin: RequestOrigin,
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

    /// Where the request came from (the client's address) and the public origin it reached.
    pub fn origin(&self) -> &RequestOrigin {
        &self.origin
    }

    /// Reads the caller's role again inside `tx`, which holds their organization's lock: the
    /// role read when the request was authenticated may have changed since (another
    /// administrator deactivated them a moment ago), and a change decided under the lock must not
    /// rest on it. Refuses when the role no longer meets `need`.
    async fn recheck_role(&self, tx: &mut db::Tx, need: Need) -> Result<(), AppError> {
        let role = db::memberships::role_of(&mut **tx, self.organization_id, self.user_id)
            .await
            .or_internal("reading a role")?;
        match role {
            Some(role) if role.allows(need).is_ok() => Ok(()),
            Some(role) => Err(AppError::Forbidden(format!(
                "Your role no longer allows this: you are now {} in this organization. Reload the page.",
                role.label()
            ))),
            None => Err(AppError::Forbidden(
                "Your role no longer allows this: you are no longer a member of this organization."
                    .into(),
            )),
        }
    }
}

pub use super::audit::Identity;

/// `Member` and `Account` by their fields; the witnesses by what they hold.
macro_rules! identity {
    (fields: $($name:ty),+) => {$(
        impl Identity for $name {
            fn user_id(&self) -> i64 {
                self.user_id
            }

            fn email(&self) -> &str {
                &self.email
            }

            fn origin(&self) -> &RequestOrigin {
                &self.origin
            }
        }
    )+};
    (held: $($name:ty),+) => {$(
        impl Identity for $name {
            fn user_id(&self) -> i64 {
                Identity::user_id(&self.0)
            }

            fn email(&self) -> &str {
                Identity::email(&self.0)
            }

            fn origin(&self) -> &RequestOrigin {
                Identity::origin(&self.0)
            }
        }
    )+};
}

identity!(fields: Member, Account);

/// A signed-in account, whatever its standing: the caller before any need is checked.
#[derive(Clone, Debug)]
pub struct Account {
    user_id: i64,
    email: String,
    /// Their organization and role; `None` once removed from their organization.
    membership: Option<(i64, Role)>,
    /// Whether they proved their address.
    email_verified: bool,
    /// What the request was authenticated with.
    via: Via,
    origin: RequestOrigin,
    /// Their organization requires a second factor they have not added, past the grace period:
    /// until they add one their session serves their own account only.
    two_factor_due: bool,
}

/// What a request was authenticated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The session cookie: the stored hash of the session's id.
    Session([u8; 32]),
    /// An `Authorization: Token` header: the request belongs to no session.
    ApiToken,
    /// An `Authorization: Bearer` access token made from a personal access token.
    AccessToken,
}

impl Via {
    /// As logs name it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Session(_) => "session",
            Self::ApiToken => "api_token",
            Self::AccessToken => "access_token",
        }
    }
}

impl Account {
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn organization_id(&self) -> Option<i64> {
        self.membership.map(|(organization, _)| organization)
    }

    pub fn role(&self) -> Option<Role> {
        self.membership.map(|(_, role)| role)
    }

    pub fn email_verified(&self) -> bool {
        self.email_verified
    }

    /// Whether their organization's two-factor requirement bars them until they add a factor.
    pub fn two_factor_due(&self) -> bool {
        self.two_factor_due
    }

    /// What the request was authenticated with.
    pub fn via(&self) -> &Via {
        &self.via
    }

    /// The stored hash of the session the request was made with; `None` for an API token.
    pub fn session(&self) -> Option<&[u8]> {
        match &self.via {
            Via::Session(id_hash) => Some(id_hash.as_slice()),
            Via::ApiToken | Via::AccessToken => None,
        }
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.origin
    }

    /// The account as a member of its organization, if it has one.
    fn into_member(self) -> Result<Member, Refusal> {
        let (organization_id, role) = self.membership.ok_or(Refusal::NoOrganization)?;
        // A Pending or Deactivated member hears about that first.
        role.allows(Need::Active)?;
        if self.two_factor_due {
            return Err(Refusal::TwoFactorRequired);
        }
        Ok(Member {
            user_id: self.user_id,
            email: self.email,
            organization_id,
            role,
            origin: self.origin,
        })
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
    fn admit(
        account: Option<Account>,
        origin: RequestOrigin,
        proof: sealed::Proof,
    ) -> Result<Self, AppError>;
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

        impl $name {
            /// Checks that the caller's role still allows what they do, inside `tx`, which already
            /// holds their organization's lock.
            pub async fn recheck(&self, tx: &mut db::Tx) -> Result<(), AppError> {
                self.0.recheck_role(tx, $need).await
            }
        }

        /// Every change an administrator makes is decided under their organization's lock, with
        /// their role read again under it ([`super::change::Change::by`]).
        impl Acting for $name {
            fn organization_id(&self) -> i64 {
                self.0.organization_id
            }

            async fn recheck(&self, tx: &mut db::Tx) -> Result<(), AppError> {
                self.0.recheck_role(tx, $need).await
            }
        }

        impl sealed::Sealed for $name {}

        impl Witness for $name {
            fn admit(
                account: Option<Account>,
                _: RequestOrigin,
                _: sealed::Proof,
            ) -> Result<Self, AppError> {
                let member = account.ok_or_else(AppError::signed_out)?.into_member()?;
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

identity!(held: Active, Admin, Owner, SignedIn);

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

implies!(Owner => Active as active, Admin as admin);
implies!(Admin => Active as active);

/// A signed-in account that is not deactivated: Pending members and accounts without an
/// organization included. What a person may do with their own account (name, password,
/// sessions, address), whatever their standing in an organization.
#[derive(Clone, Debug)]
pub struct SignedIn(Account);

impl std::ops::Deref for SignedIn {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.0
    }
}

impl sealed::Sealed for SignedIn {}

impl Witness for SignedIn {
    fn admit(
        account: Option<Account>,
        _: RequestOrigin,
        _: sealed::Proof,
    ) -> Result<Self, AppError> {
        let account = account.ok_or_else(AppError::signed_out)?;
        admits(account.role(), Need::SignedIn)?;
        Ok(Self(account))
    }
}

/// Whoever is calling, signed in or not, Pending, Deactivated and without an organization
/// included (so that the app can tell them where they stand).
#[derive(Clone, Debug)]
pub struct Visitor(Option<Account>, RequestOrigin);

impl Visitor {
    /// The caller, if signed in.
    pub fn account(&self) -> Option<&Account> {
        self.0.as_ref()
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.1
    }
}

impl sealed::Sealed for Visitor {}

impl Witness for Visitor {
    fn admit(
        account: Option<Account>,
        origin: RequestOrigin,
        _: sealed::Proof,
    ) -> Result<Self, AppError> {
        Ok(Self(account, origin))
    }
}

/// Anyone at all; the caller is not looked up (signing up and in), only where they come from.
#[derive(Clone, Debug)]
pub struct Anyone(RequestOrigin);

impl Anyone {
    pub fn origin(&self) -> &RequestOrigin {
        &self.0
    }
}

impl sealed::Sealed for Anyone {}

impl Witness for Anyone {
    const IDENTIFIES: bool = false;
    fn admit(
        _: Option<Account>,
        origin: RequestOrigin,
        _: sealed::Proof,
    ) -> Result<Self, AppError> {
        Ok(Self(origin))
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
    request: &Parts,
    scope: Scope<'_>,
) -> Result<W, AppError> {
    let origin = RequestOrigin::of(state, request)?;
    if !W::IDENTIFIES {
        return W::admit(None, origin, sealed::Proof(()));
    }
    let account = identify(state, &request.headers, &origin).await?;
    if let Some(account) = &account {
        let span = tracing::Span::current();
        span.record("user_id", account.user_id);
        span.record("via", account.via.as_str());
        if let Some(organization) = account.organization_id() {
            span.record("organization_id", organization);
        }
    }
    if let (Scope::Named(id), Some(a)) = (scope, &account) {
        if admits(a.role(), Need::Active).is_ok() && id.parse::<i64>().ok() != a.organization_id() {
            return Err(organization_not_found());
        }
    }
    W::admit(account, origin, sealed::Proof(()))
}

/// What legacy tokens answer in an organization that turned them off.
pub const LEGACY_TOKENS_DISABLED: &str = "Legacy API tokens are disabled for this organization; create a personal access token on your Account page.";

/// Resolves the request's credentials. An `Authorization` header must hold a valid token (a
/// wrong one is an error, never a silent fallback to the cookie); a stale, idle or unknown
/// session cookie is simply no session.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    origin: &RequestOrigin,
) -> Result<Option<Account>, AppError> {
    let now = state.now();
    let (record, via) = if let Some(value) = headers.get(header::AUTHORIZATION) {
        match parse_authorization(value.to_str().unwrap_or_default())? {
            Credential::Token(token) => {
                let record = db::principals::by_api_token(state.db.pool(), &secrets::hash(token))
                    .await
                    .or_internal("looking up an API token")?
                    .ok_or_else(|| {
                        AppError::Unauthenticated(
                            "Invalid token. Copy your current token from the Account page.".into(),
                        )
                    })?;
                if !record.legacy_tokens_allowed() {
                    return Err(AppError::Unauthenticated(LEGACY_TOKENS_DISABLED.into()));
                }
                (record, Via::ApiToken)
            }
            Credential::Bearer(token) => (
                personal_tokens::authenticate(state, token).await?,
                Via::AccessToken,
            ),
        }
    } else if let Some(session) = sessions::cookie(headers, origin.https) {
        let idle = super::clock::seconds(state.config.session_idle);
        let id_hash = secrets::hash(session);
        let Some(record) = db::principals::by_session(state.db.pool(), &id_hash, now, now - idle)
            .await
            .or_internal("looking up a session")?
        else {
            return Ok(None);
        };
        // Seen again: pushes the idle deadline back, written at most every minute (or every
        // quarter of the idle time, the organization's policy's if shorter).
        let idle = record
            .max_time_between_activity
            .map_or(idle, |minutes| idle.min(minutes * 60));
        if record
            .session_seen_at
            .is_some_and(|t| t < now - (idle / 4).min(60))
        {
            let pool = state.db.pool().clone();
            tokio::spawn(async move {
                if let Err(e) = db::sessions::touch(&pool, &id_hash, now).await {
                    tracing::warn!(error = %e, "could not record a session's last request");
                }
            });
        }
        (record, Via::Session(id_hash))
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
    Ok(Some(Account {
        user_id: record.user_id,
        email: record.email,
        membership: record.organization_id.zip(record.role),
        email_verified: record.email_verified_at.is_some(),
        two_factor_due: record.two_factor_deadline.is_some_and(|d| d <= now),
        via,
        origin: origin.clone(),
    }))
}

/// What an `Authorization` header carries.
#[derive(Debug, PartialEq, Eq)]
enum Credential<'a> {
    /// `Token <api token>`: the personal API token.
    Token(&'a str),
    /// `Bearer <access token>`: a JWT made from a personal access token.
    Bearer(&'a str),
}

fn parse_authorization(value: &str) -> Result<Credential<'_>, AppError> {
    let mut parts = value.trim().splitn(2, ' ');
    match (parts.next(), parts.next().map(str::trim)) {
        (Some(scheme), Some(token)) if !token.is_empty() && scheme.eq_ignore_ascii_case("token") => {
            Ok(Credential::Token(token))
        }
        (Some(scheme), Some(token)) if !token.is_empty() && scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Credential::Bearer(token))
        }
        _ => Err(AppError::Unauthenticated(
            "Send your API token in the header \"Authorization: Token <your token>\", or an access token made from a personal access token as \"Authorization: Bearer <access token>\".".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_takes_the_token_and_bearer_schemes() {
        assert_eq!(
            parse_authorization("Token abc").unwrap(),
            Credential::Token("abc")
        );
        assert_eq!(
            parse_authorization("token   abc ").unwrap(),
            Credential::Token("abc")
        );
        assert_eq!(
            parse_authorization("Bearer x.y.z").unwrap(),
            Credential::Bearer("x.y.z")
        );
        assert_eq!(
            parse_authorization("bearer x.y.z").unwrap(),
            Credential::Bearer("x.y.z")
        );
        for bad in ["", "Token", "Token ", "Bearer", "Basic abc", "abc"] {
            assert!(
                matches!(parse_authorization(bad), Err(AppError::Unauthenticated(_))),
                "{bad:?}"
            );
        }
    }
}
