//! Personal access tokens (SPEC section 13), as Label Studio makes them for its SDK: a refresh
//! token is a JWT (HS256, signed with a key derived from the server key) that lives as long as
//! the organization's `api_token_ttl_days` and is stored only as its id and hash; it buys access
//! tokens that live 5 minutes and are sent as `Authorization: Bearer …`. An access token names the
//! refresh token it came from, which is looked up on every request, so revoking it holds on
//! every instance at once.

use serde::{Deserialize, Serialize};

use super::{secrets, Active};
use crate::domain::{format_timestamp, Action, AppError, NewPersonalToken, PersonalToken};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db::{self, principals::PrincipalRecord, Tx},
    error::{is_unique_violation, OrInternal},
    origin::RequestOrigin,
    AppState,
};

/// How long an access token lives.
pub const ACCESS_SECONDS: i64 = 5 * 60;

const REFRESH: &str = "refresh";
const ACCESS: &str = "access";

/// The claims of both kinds of token, as Label Studio's SDK reads them (`token_type`, `exp`).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    token_type: String,
    exp: i64,
    iat: i64,
    jti: String,
    user_id: i64,
    /// On an access token: the refresh token it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_jti: Option<String>,
}

pub const INVALID: &str = "The token is invalid, expired or revoked. Create a new personal access token on your Account page.";
const DISABLED: &str = "Personal access tokens are disabled for this organization; an Owner or Administrator can turn them on in the organization's API token settings.";
const ONE_LIVE: &str = "You already have a personal access token. Revoke it (POST /api/token/blacklist/ or the Account page) or rotate it (POST /api/token/rotate/) to get a new one.";

fn invalid() -> AppError {
    AppError::Unauthenticated(INVALID.into())
}

fn view(t: &db::personal_tokens::TokenRecord) -> PersonalToken {
    PersonalToken {
        id: t.jti.clone(),
        created_at: format_timestamp(t.created_at),
        expires_at: format_timestamp(t.expires_at),
        last_used_at: t.last_used_at.map(format_timestamp),
    }
}

/// The caller's live personal access tokens (none or one), without their secrets.
pub async fn list(state: &AppState, me: &Active) -> Result<Vec<PersonalToken>, AppError> {
    let tokens = db::personal_tokens::live_of(state.db.pool(), me.user_id(), state.now())
        .await
        .or_internal("listing personal access tokens")?;
    Ok(tokens.iter().map(view).collect())
}

/// Makes the caller a personal access token, if their organization allows them and they hold no
/// live one (409 otherwise).
pub async fn create(state: &AppState, me: &Active) -> Result<NewPersonalToken, AppError> {
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    let ttl_days = allowed_ttl_days(change.tx(), me.organization_id()).await?;
    db::personal_tokens::retire_expired(&mut **change.tx(), me.user_id(), now)
        .await
        .or_internal("retiring expired tokens")?;
    let live = db::personal_tokens::live_of(&mut **change.tx(), me.user_id(), now)
        .await
        .or_internal("reading personal access tokens")?;
    if !live.is_empty() {
        return Err(AppError::Conflict(ONE_LIVE.into()));
    }
    let issued = issue(state, change.tx(), me.user_id(), now, ttl_days).await?;
    change.record(
        Event::by(me, Action::ApiTokenCreated, Target::own(me))
            .details(serde_json::json!({ "token_id": issued.about.id, "expires_at": issued.about.expires_at })),
    );
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), "created a personal access token");
    Ok(issued)
}

/// The organization's token lifetime in days, or a refusal when it does not allow personal
/// access tokens.
async fn allowed_ttl_days(tx: &mut Tx, organization_id: i64) -> Result<i64, AppError> {
    let settings = db::organizations::token_settings(&mut **tx, organization_id)
        .await
        .or_internal("reading the token settings")?
        .ok_or_else(super::organization_not_found)?;
    if !settings.api_tokens_enabled {
        return Err(AppError::Forbidden(DISABLED.into()));
    }
    Ok(settings.api_token_ttl_days)
}

/// Signs and stores a new refresh token of `user_id`, made at `now`.
async fn issue(
    state: &AppState,
    tx: &mut Tx,
    user_id: i64,
    now: i64,
    ttl_days: i64,
) -> Result<NewPersonalToken, AppError> {
    let claims = Claims {
        token_type: REFRESH.into(),
        exp: now + ttl_days * 86_400,
        iat: now,
        jti: hex::encode(secrets::random_bytes::<16>()),
        user_id,
        refresh_jti: None,
    };
    let token = state.keys.sign_jwt(&claims);
    match db::personal_tokens::insert(
        &mut **tx,
        &claims.jti,
        user_id,
        &secrets::hash(&token),
        now,
        claims.exp,
    )
    .await
    {
        Ok(()) => {}
        // Another request made one a moment ago.
        Err(e) if is_unique_violation(&e) => return Err(AppError::Conflict(ONE_LIVE.into())),
        Err(e) => return Err(e).or_internal("storing a personal access token"),
    }
    let record = db::personal_tokens::TokenRecord {
        jti: claims.jti,
        user_id,
        created_at: now,
        expires_at: claims.exp,
        last_used_at: None,
    };
    Ok(NewPersonalToken {
        token,
        about: view(&record),
    })
}

/// The refresh token's claims, if this server signed it, it is a refresh token, and it has not
/// expired; its row is checked by the caller.
fn read_refresh(state: &AppState, token: &str, now: i64) -> Result<Claims, AppError> {
    let claims: Claims = state.keys.read_jwt(token.trim()).ok_or_else(invalid)?;
    if claims.token_type != REFRESH || claims.exp <= now {
        return Err(invalid());
    }
    Ok(claims)
}

/// The account a refresh token belongs to, if the token is live.
async fn owner_of(
    state: &AppState,
    tx: &mut Tx,
    token: &str,
    now: i64,
) -> Result<(Claims, PrincipalRecord), AppError> {
    let claims = read_refresh(state, token, now)?;
    db::personal_tokens::find_live(&mut **tx, &claims.jti, &secrets::hash(token.trim()), now)
        .await
        .or_internal("reading a personal access token")?
        .ok_or_else(invalid)?;
    let principal = db::principals::by_user_id(&mut **tx, claims.user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid)?;
    Ok((claims, principal))
}

/// The account a refresh token belongs to, if the token is live and the account may use it.
async fn holder(
    state: &AppState,
    tx: &mut Tx,
    token: &str,
    now: i64,
) -> Result<(Claims, PrincipalRecord), AppError> {
    let (claims, principal) = owner_of(state, tx, token, now).await?;
    if crate::domain::admits(principal.role, crate::domain::Need::Active).is_err() {
        return Err(invalid());
    }
    if !principal.personal_tokens_allowed() {
        return Err(AppError::Forbidden(DISABLED.into()));
    }
    Ok((claims, principal))
}

/// An access token for a live refresh token (`POST /api/token/refresh/`).
pub async fn refresh(state: &AppState, token: &str) -> Result<String, AppError> {
    let now = state.now();
    let mut tx = state.db.begin().await.or_internal("starting a refresh")?;
    let (claims, _) = holder(state, &mut tx, token, now).await?;
    db::personal_tokens::touch(&mut *tx, &claims.jti, now)
        .await
        .or_internal("recording a token's use")?;
    tx.commit().await.or_internal("recording a token's use")?;
    Ok(state.keys.sign_jwt(&Claims {
        token_type: ACCESS.into(),
        exp: now + ACCESS_SECONDS,
        iat: now,
        jti: hex::encode(secrets::random_bytes::<16>()),
        user_id: claims.user_id,
        refresh_jti: Some(claims.jti),
    }))
}

/// Replaces a live refresh token with a new one (`POST /api/token/rotate/`); the old one stops
/// working at once.
pub async fn rotate(
    state: &AppState,
    origin: &RequestOrigin,
    token: &str,
) -> Result<NewPersonalToken, AppError> {
    let user_id = read_refresh(state, token, state.now())?.user_id;
    let mut change = Change::to_account(state, user_id).await?;
    let now = change.now();
    let (claims, principal) = holder(state, change.tx(), token, now).await?;
    let organization = principal
        .organization_id
        .ok_or_else(super::organization_not_found)?;
    let ttl_days = allowed_ttl_days(change.tx(), organization).await?;
    db::personal_tokens::revoke(&mut **change.tx(), user_id, &claims.jti, now)
        .await
        .or_internal("revoking a personal access token")?;
    let issued = issue(state, change.tx(), user_id, now, ttl_days).await?;
    let (actor, target) = own(&principal);
    change.record(
        Event::new(actor, Action::ApiTokenRotated, target)
            .from(origin)
            .details(serde_json::json!({ "from": claims.jti, "to": issued.about.id })),
    );
    change.commit().await?;
    Ok(issued)
}

/// Revokes a live refresh token (`POST /api/token/blacklist/`).
pub async fn blacklist(
    state: &AppState,
    origin: &RequestOrigin,
    token: &str,
) -> Result<(), AppError> {
    let user_id = read_refresh(state, token, state.now())?.user_id;
    let mut change = Change::to_account(state, user_id).await?;
    let now = change.now();
    let (claims, principal) = owner_of(state, change.tx(), token, now).await?;
    let (actor, target) = own(&principal);
    let event = Event::new(actor, Action::ApiTokenRevoked, target).from(origin);
    revoke_in(&mut change, user_id, &claims.jti, event).await?;
    change.commit().await
}

/// Revokes one of the caller's tokens by its id (the Account page).
pub async fn revoke(state: &AppState, me: &Active, id: &str) -> Result<(), AppError> {
    let mut change = Change::by(state, me).await?;
    let event = Event::by(me, Action::ApiTokenRevoked, Target::own(me));
    revoke_in(&mut change, me.user_id(), id, event).await?;
    change.commit().await
}

/// Revokes `user_id`'s token `jti` inside `change` and records `event` (the revocation, by whom
/// and from where) with the token's id.
async fn revoke_in(
    change: &mut Change<'_>,
    user_id: i64,
    jti: &str,
    event: Event,
) -> Result<(), AppError> {
    let now = change.now();
    let revoked = db::personal_tokens::revoke(&mut **change.tx(), user_id, jti, now)
        .await
        .or_internal("revoking a personal access token")?;
    if !revoked {
        return Err(AppError::NotFound(
            "You have no such personal access token (it may have been revoked already).".into(),
        ));
    }
    change.record(event.details(serde_json::json!({ "token_id": jti })));
    Ok(())
}

/// The account as the actor and the target of a change to its own tokens.
fn own(p: &PrincipalRecord) -> (Actor, Target) {
    (
        Actor::User {
            id: p.user_id,
            email: p.email.clone(),
        },
        Target::User {
            id: p.user_id,
            email: p.email.clone(),
        },
    )
}

/// Revokes every personal access token of `user_id` inside `tx` (deactivation, removal, a
/// password reset).
pub async fn revoke_all_of(tx: &mut Tx, user_id: i64, now: i64) -> Result<u64, AppError> {
    db::personal_tokens::revoke_all_of(&mut **tx, user_id, now)
        .await
        .or_internal("revoking personal access tokens")
}

/// The account an `Authorization: Bearer` access token speaks for: it must be one this server
/// signed, unexpired, made from a refresh token that is still live, of an organization that
/// allows them.
pub async fn authenticate(state: &AppState, token: &str) -> Result<PrincipalRecord, AppError> {
    let now = state.now();
    let claims: Claims = state.keys.read_jwt(token).ok_or_else(invalid)?;
    let refresh_jti = match (claims.token_type.as_str(), &claims.refresh_jti) {
        (ACCESS, Some(jti)) if claims.exp > now => jti,
        (REFRESH, _) => {
            return Err(AppError::Unauthenticated(
                "This is a refresh token: exchange it for an access token at POST /api/token/refresh/ and send that.".into(),
            ))
        }
        _ => return Err(invalid()),
    };
    let record =
        db::principals::by_personal_token(state.db.pool(), refresh_jti, claims.user_id, now)
            .await
            .or_internal("looking up a personal access token")?
            .ok_or_else(invalid)?;
    if !record.personal_tokens_allowed() {
        return Err(AppError::Unauthenticated(DISABLED.into()));
    }
    // Used again: recorded at most once a minute.
    if record.session_seen_at.is_none_or(|t| t < now - 60) {
        let pool = state.db.pool().clone();
        let jti = refresh_jti.clone();
        tokio::spawn(async move {
            if let Err(e) = db::personal_tokens::touch(&pool, &jti, now).await {
                tracing::warn!(error = %e, "could not record a personal access token's use");
            }
        });
    }
    Ok(record)
}
