//! The second step of a sign-in: after the right password (or a reset link) an account with a
//! second factor holds a pending sign-in, not a session. It lives 5 minutes in a cookie of its own
//! (so it is bound to the browser that gave the password), and works once: the code, recovery
//! code or security key that finishes it opens the session ([`complete`]). Wrong codes count
//! toward the login lockout as wrong passwords do. An invitation the password came with is
//! accepted only then, in the same change.

use axum::http::HeaderMap;
use serde_json::json;

use super::super::{
    invitation, password,
    proven::Proven,
    secrets,
    sessions::{self, NewSession},
    Anyone,
};
use crate::domain::{Action, AppError, EmailAddress, Role, SignInMethod};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db,
    error::OrInternal,
    invite_token::InviteToken,
    origin::RequestOrigin,
    throttle::{self, Limit},
    AppState,
};

/// How long a pending sign-in waits for its second factor, in seconds.
pub const LIFETIME: i64 = 300;
/// The pending sign-in's cookie over plain HTTP, and over HTTPS.
pub const COOKIE: &str = "gatehouse_two_factor";
pub const SECURE_COOKIE: &str = "__Host-gatehouse_two_factor";
/// Its secrets' prefix.
const PREFIX: &str = "ghf_";
/// Where the second step is asked for.
pub const PAGE: &str = "/user/login/two-factor";

pub const EXPIRED: &str =
    "This sign-in has expired or was finished already. Log in again with your password.";

/// A sign-in waiting for its second factor: the cookie that holds it.
pub struct PendingSignIn {
    set_cookie: String,
}

impl PendingSignIn {
    pub fn set_cookie(&self) -> &str {
        &self.set_cookie
    }
}

/// Starts the second step for a proven account, inside the change that proved it.
pub async fn begin(
    change: &mut Change<'_>,
    proven: &Proven,
    origin: &RequestOrigin,
) -> Result<PendingSignIn, AppError> {
    let secret = secrets::generate(PREFIX);
    let now = change.now();
    db::two_factor::insert_pending(
        &mut **change.tx(),
        &secrets::hash(&secret),
        proven.user_id(),
        proven.method().as_str(),
        proven.joins().as_ref().map(InviteToken::stored),
        now,
        now + LIFETIME,
    )
    .await
    .or_internal("starting the second step")?;
    Ok(PendingSignIn {
        set_cookie: format!(
            "{}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={LIFETIME}{}",
            cookie_name(origin.https),
            if origin.https { "; Secure" } else { "" }
        ),
    })
}

fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The pending sign-in's secret from the request's cookies.
pub fn cookie(headers: &HeaderMap, https: bool) -> Option<&str> {
    sessions::cookie_named(headers, cookie_name(https))
}

/// The `Set-Cookie` value that forgets the pending sign-in in the browser.
pub fn clear_cookie(https: bool) -> String {
    format!(
        "{}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        cookie_name(https),
        if https { "; Secure" } else { "" }
    )
}

/// A live pending sign-in, found by its cookie.
pub struct Pending {
    id_hash: [u8; 32],
    pub user_id: i64,
    pub email: String,
    method: SignInMethod,
    /// The invitation to accept once the second factor is given.
    joins: Option<InviteToken>,
}

impl Pending {
    /// The change that finishes the sign-in: to the account's organization, or to the one the
    /// invitation it accepts leads to (an invitation no longer valid is refused here, and the
    /// person logs in again without it).
    pub async fn change<'s>(&self, state: &'s AppState) -> Result<Change<'s>, AppError> {
        match &self.joins {
            None => Change::to_account(state, self.user_id).await,
            Some(token) => {
                let destination = token.resolve(state.db.pool(), state.now()).await?;
                Change::to(state, Some(destination.organization_id())).await
            }
        }
    }
}

/// The live pending sign-in the browser holds, or the refusal that says to log in again.
pub async fn find(state: &AppState, secret: Option<&str>) -> Result<Pending, AppError> {
    let expired = || AppError::Unauthenticated(EXPIRED.into());
    let secret = secret.ok_or_else(expired)?;
    let id_hash = secrets::hash(secret);
    let pool = state.db.pool();
    let record = db::two_factor::pending(pool, &id_hash, state.now())
        .await
        .or_internal("reading a pending sign-in")?
        .ok_or_else(expired)?;
    let email = db::users::email_of(pool, record.user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(expired)?;
    let method = SignInMethod::parse(&record.method).ok_or_else(expired)?;
    let joins = match (record.invite_kind, record.invite_hash) {
        (Some(kind), Some(hash)) => {
            Some(InviteToken::from_stored(&kind, &hash).ok_or_else(|| {
                crate::server::error::internal(
                    "reading a pending sign-in",
                    "an unreadable invite token",
                )
            })?)
        }
        _ => None,
    };
    Ok(Pending {
        id_hash,
        user_id: record.user_id,
        email,
        method,
        joins,
    })
}

/// The two counters a second-factor attempt is made against: the account's address and the
/// client's, as for passwords. Over either, the attempt is refused before anything is checked.
pub struct Attempt {
    counted: [throttle::Counted; 2],
    email: String,
}

pub async fn attempt(
    state: &AppState,
    pending: &Pending,
    origin: &RequestOrigin,
) -> Result<Attempt, AppError> {
    let pool = state.db.pool();
    let client = origin.client.to_string();
    let per_client = Limit::login_failures_per_client(&state.config);
    let per_email = Limit::login_failures_per_email(&state.config);
    let from_client = match throttle::count(pool, per_client, &client, 1, state.now()).await? {
        Ok(counted) => counted,
        Err(wait) => return Err(wait.refusal("failed attempts")),
    };
    let for_email = match throttle::count(pool, per_email, &pending.email, 1, state.now()).await? {
        Ok(counted) => counted,
        Err(wait) => {
            from_client.take_back(pool).await?;
            return Err(wait.refusal("failed attempts"));
        }
    };
    Ok(Attempt {
        counted: [from_client, for_email],
        email: pending.email.clone(),
    })
}

impl Attempt {
    /// The attempt failed: it stays counted, and the account's organization logs it.
    pub async fn failed(
        self,
        state: &AppState,
        user_id: i64,
        origin: &RequestOrigin,
    ) -> Result<(), AppError> {
        let (left, _) = throttle::remaining(
            state.db.pool(),
            Limit::login_failures_per_email(&state.config),
            &self.email,
            state.now(),
        )
        .await?;
        let (state, origin) = (state.clone(), origin.clone());
        tokio::spawn(async move {
            if let Err(e) =
                password::record_failure(&state, &origin, user_id, &self.email, left == 0).await
            {
                tracing::warn!(user_id, error = %e, "a wrong code could not be recorded");
            }
        });
        Ok(())
    }

    /// Begins the change that finishes `pending` ([`Pending::change`]). When it cannot begin (the
    /// invitation it accepts is no longer valid), the attempt is withdrawn first.
    pub async fn change_for<'s>(
        self,
        state: &'s AppState,
        pending: &Pending,
    ) -> Result<(Change<'s>, Self), AppError> {
        match pending.change(state).await {
            Ok(change) => Ok((change, self)),
            Err(e) => {
                self.withdrawn(state).await?;
                Err(e)
            }
        }
    }

    /// The attempt proved nothing either way (its ceremony had expired, or the invitation it
    /// would accept is no longer valid): it is taken back, and the address's failures stay as
    /// they were.
    pub async fn withdrawn(self, state: &AppState) -> Result<(), AppError> {
        for counted in self.counted {
            counted.take_back(state.db.pool()).await?;
        }
        Ok(())
    }

    /// The attempt succeeded: it is taken back, and the address's failures forgotten.
    pub async fn succeeded(self, state: &AppState) -> Result<(), AppError> {
        let email = self.email.clone();
        self.withdrawn(state).await?;
        throttle::clear(
            state.db.pool(),
            Limit::login_failures_per_email(&state.config),
            &email,
        )
        .await
    }
}

/// Finishes a pending sign-in with a code from the authenticator app or a recovery code.
pub async fn finish_with_code(
    state: &AppState,
    caller: &Anyone,
    secret: Option<&str>,
    code: &str,
) -> Result<NewSession, AppError> {
    let pending = find(state, secret).await?;
    if code.trim().is_empty() {
        return Err(AppError::invalid(
            "code",
            "Type the code from your authenticator app, or a recovery code.",
        ));
    }
    let attempt = attempt(state, &pending, caller.origin()).await?;
    let (mut change, attempt) = attempt.change_for(state, &pending).await?;
    let now = change.now();
    let used = super::use_code(
        state,
        change.tx(),
        pending.user_id,
        &pending.email,
        code,
        now,
    )
    .await?;
    let Some(recovery) = used else {
        drop(change);
        tracing::info!(client = %caller.origin().client, user_id = pending.user_id, "wrong second-factor code");
        attempt
            .failed(state, pending.user_id, caller.origin())
            .await?;
        return Err(AppError::invalid("code", super::WRONG_CODE));
    };
    let factor = if recovery {
        super::tell_recovery_code_used(
            &mut change,
            pending.user_id,
            &pending.email,
            caller.origin(),
        )
        .await?;
        let left = db::two_factor::recovery_codes_left(&mut **change.tx(), pending.user_id)
            .await
            .or_internal("counting recovery codes")?;
        change.record(
            Event::new(
                actor(&pending),
                Action::TwoFactorRecoveryCodeUsed,
                target(&pending),
            )
            .from(caller.origin())
            .details(json!({"left": left})),
        );
        "recovery_code"
    } else {
        "authenticator_app"
    };
    let session = complete(state, change, &pending, factor, caller.origin()).await?;
    attempt.succeeded(state).await?;
    Ok(session)
}

fn actor(pending: &Pending) -> Actor {
    Actor::User {
        id: pending.user_id,
        email: pending.email.clone(),
    }
}

fn target(pending: &Pending) -> Target {
    Target::User {
        id: pending.user_id,
        email: pending.email.clone(),
    }
}

/// Opens the session of a pending sign-in whose second factor was just given, inside `change`,
/// and ends the pending sign-in (once: a second request with the same cookie finds it gone).
pub async fn complete(
    state: &AppState,
    mut change: Change<'_>,
    pending: &Pending,
    factor: &str,
    origin: &RequestOrigin,
) -> Result<NewSession, AppError> {
    let expired = || AppError::Unauthenticated(EXPIRED.into());
    if !db::two_factor::take_pending(&mut **change.tx(), &pending.id_hash)
        .await
        .or_internal("ending a pending sign-in")?
    {
        return Err(expired());
    }
    // Deactivated in the meantime: no session.
    let role = db::principals::by_user_id(&mut **change.tx(), pending.user_id)
        .await
        .or_internal("reading a membership")?
        .and_then(|p| p.role);
    if role == Some(Role::Deactivated) {
        return Err(crate::domain::Refusal::Deactivated.into());
    }
    if let Some(token) = pending.joins {
        let email = EmailAddress::parse(&pending.email)?;
        invitation::join_in(&mut change, state, pending.user_id, &email, token, origin).await?;
    }
    let proven = Proven::new(pending.user_id, pending.method);
    let session = sessions::open(state, &mut change, &proven, origin).await?;
    change.record(
        Event::new(actor(pending), Action::SignInSucceeded, target(pending))
            .from(origin)
            .details(json!({"second_factor": factor})),
    );
    change.commit().await?;
    tracing::info!(client = %origin.client, user_id = pending.user_id, factor, "logged in with a second factor");
    Ok(session)
}
