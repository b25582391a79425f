//! The personal API token: one per account, derived from the server key and a stored salt, so
//! that it can be shown again; only its hash is stored to look it up.

use super::{keys::Keys, secrets, Active};
use crate::domain::{Action, AppError};
use crate::server::{
    audit::{Event, Target},
    change::Change,
    db::{self, Tx},
    error::OrInternal,
    AppState,
};

/// The caller's current API token.
pub async fn current(state: &AppState, me: &Active) -> Result<String, AppError> {
    match db::api_tokens::find_salt(state.db.pool(), me.user_id())
        .await
        .or_internal("reading a token")?
    {
        Some(salt) => Ok(state.keys.api_token(me.user_id(), &salt)),
        None => reset(state, me).await,
    }
}

/// Replaces the caller's API token; the old one stops working at once.
pub async fn reset(state: &AppState, me: &Active) -> Result<String, AppError> {
    let mut change = Change::to_account(state, me.user_id()).await?;
    let now = change.now();
    let token = replace(change.tx(), &state.keys, me.user_id(), now).await?;
    let event = Event::by(me, Action::ApiTokenReset, Target::own(me));
    change.record(event);
    change.commit().await?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), "reset the API token");
    Ok(token)
}

/// Ends every session of `user_id`, replaces their API token (made at `now`) and revokes their
/// personal access tokens, inside `tx`: nothing they held works any more (deactivation, removal,
/// a password reset; restoring them later revives none of it).
pub async fn revoke_credentials(
    tx: &mut Tx,
    keys: &Keys,
    user_id: i64,
    now: i64,
) -> Result<(), AppError> {
    db::sessions::delete_all_of(&mut **tx, user_id)
        .await
        .or_internal("ending sessions")?;
    super::personal_tokens::revoke_all_of(tx, user_id, now).await?;
    replace(tx, keys, user_id, now).await.map(drop)
}

/// Gives `user_id` a new API token inside `conn`, made at `now` (the old one stops working when
/// it commits), and returns it.
pub async fn replace(
    conn: &mut sqlx::AnyConnection,
    keys: &Keys,
    user_id: i64,
    now: i64,
) -> Result<String, AppError> {
    let salt = secrets::random_bytes::<16>();
    let token = keys.api_token(user_id, &salt);
    db::api_tokens::upsert(&mut *conn, user_id, &secrets::hash(&token), &salt, now)
        .await
        .or_internal("storing a token")?;
    Ok(token)
}
