//! Second factors (an authenticator app's secret, recovery codes, passkeys), sign-ins waiting for
//! one, WebAuthn ceremonies in progress, and the organization's two-factor policy.

use sqlx::AnyExecutor;

/// An authenticator app's secret, masked (see `two_factor::totp`).
#[derive(sqlx::FromRow)]
pub struct TotpRecord {
    pub masked_secret: Vec<u8>,
    pub nonce: Vec<u8>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

pub async fn totp_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<TotpRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT masked_secret, nonce, created_at, confirmed_at, last_step FROM totp_secrets WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

/// Stores a new, unconfirmed secret in place of an unconfirmed one; a confirmed secret stays
/// (the answer is `false` then).
pub async fn put_unconfirmed_totp<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    masked_secret: &[u8],
    nonce: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO totp_secrets (user_id, masked_secret, nonce, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET masked_secret = excluded.masked_secret, \
         nonce = excluded.nonce, created_at = excluded.created_at, last_step = 0 \
         WHERE totp_secrets.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(masked_secret.to_vec())
    .bind(nonce.to_vec())
    .bind(now)
    .execute(ex)
    .await
    .map(|d| d.rows_affected() == 1)
}

/// Records that a code of time step `step` was accepted (confirming the secret if it was not
/// yet), only if no code of that step or a later one was: `false` means it was used already.
pub async fn accept_step<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    step: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE totp_secrets SET last_step = $2, confirmed_at = COALESCE(confirmed_at, $3) \
         WHERE user_id = $1 AND last_step < $2",
    )
    .bind(user_id)
    .bind(step)
    .bind(now)
    .execute(ex)
    .await
    .map(|d| d.rows_affected() == 1)
}

pub async fn delete_totp<'e>(ex: impl AnyExecutor<'e>, user_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected() > 0)
}

/// Replaces the user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut super::Tx,
    user_id: i64,
    hashes: &[[u8; 32]],
    now: i64,
) -> Result<(), sqlx::Error> {
    delete_recovery_codes(&mut **tx, user_id).await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash.to_vec())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn delete_recovery_codes<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(drop)
}

/// Uses the unused recovery code with this hash: `false` if there is none (wrong, or used).
pub async fn use_recovery_code<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    hash: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(hash.to_vec())
    .bind(now)
    .execute(ex)
    .await
    .map(|d| d.rows_affected() == 1)
}

pub async fn recovery_codes_left<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(ex)
        .await
}

/// A registered security key or passkey.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PasskeyRecord {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: Vec<u8>,
    pub name: String,
    /// The credential as the WebAuthn library keeps it (JSON).
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, name, credential, created_at, last_used_at";

pub async fn passkeys_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Vec<PasskeyRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(ex)
    .await
}

pub async fn passkey_by_credential<'e>(
    ex: impl AnyExecutor<'e>,
    credential_id: &[u8],
) -> Result<Option<PasskeyRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
    ))
    .bind(credential_id.to_vec())
    .fetch_optional(ex)
    .await
}

/// Adds a passkey; `None` when its credential is registered already.
pub async fn insert_passkey<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    credential_id: &[u8],
    name: &str,
    credential: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING RETURNING id",
    )
    .bind(user_id)
    .bind(credential_id.to_vec())
    .bind(name)
    .bind(credential)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Records a use of a passkey, with its credential as the library updated it (its counter).
pub async fn passkey_used<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    credential: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1")
        .bind(id)
        .bind(credential)
        .bind(now)
        .execute(ex)
        .await
        .map(drop)
}

/// Removes one of the user's passkeys: `false` if they have none with this id.
pub async fn delete_passkey<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected() == 1)
}

pub async fn delete_passkeys<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

/// Whether the user has a confirmed authenticator app, and how many passkeys.
pub async fn factors_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<(bool, i64), sqlx::Error> {
    let (totp, passkeys): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL), \
         (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(ex)
    .await?;
    Ok((totp > 0, passkeys))
}

/// A sign-in waiting for its second factor.
#[derive(sqlx::FromRow)]
pub struct PendingRecord {
    pub user_id: i64,
    pub method: String,
    pub expires_at: i64,
    /// The invitation it accepts once the second factor is given: the token's kind and hash.
    pub invite_kind: Option<String>,
    pub invite_hash: Option<Vec<u8>>,
}

pub async fn insert_pending<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    user_id: i64,
    method: &str,
    invite: Option<(&str, &[u8])>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_sign_ins (id_hash, user_id, method, invite_kind, invite_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id_hash.to_vec())
    .bind(user_id)
    .bind(method)
    .bind(invite.map(|(kind, _)| kind))
    .bind(invite.map(|(_, hash)| hash.to_vec()))
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(drop)
}

/// The live pending sign-in with this hash.
pub async fn pending<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    now: i64,
) -> Result<Option<PendingRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, method, expires_at, invite_kind, invite_hash FROM pending_sign_ins \
         WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash.to_vec())
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Ends a pending sign-in: `false` if another request ended it first (it works once).
pub async fn take_pending<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM pending_sign_ins WHERE id_hash = $1")
        .bind(id_hash.to_vec())
        .execute(ex)
        .await
        .map(|d| d.rows_affected() == 1)
}

/// Ends every pending sign-in of the user (their factors were reset, or they were deactivated).
pub async fn delete_pending_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pending_sign_ins WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(drop)
}

pub async fn insert_ceremony<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    purpose: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_hash, purpose, user_id, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash.to_vec())
    .bind(purpose)
    .bind(user_id)
    .bind(state)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(drop)
}

/// Takes a live ceremony of `purpose` (it works once): its user and state.
pub async fn take_ceremony<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    purpose: &str,
    now: i64,
) -> Result<Option<(Option<i64>, String)>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 AND purpose = $2 AND expires_at > $3 \
         RETURNING user_id, state",
    )
    .bind(id_hash.to_vec())
    .bind(purpose)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Forgets ceremonies and pending sign-ins that have expired.
pub async fn prune<'e>(ex: impl AnyExecutor<'e> + Copy, now: i64) -> Result<u64, sqlx::Error> {
    let ceremonies = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await?
        .rows_affected();
    let pending = sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await?
        .rows_affected();
    Ok(ceremonies + pending)
}

/// An organization's two-factor policy.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct PolicyRecord {
    pub two_factor_required_since: Option<i64>,
    pub two_factor_grace_days: i64,
    pub two_factor_sso_exempt: i64,
}

pub async fn policy<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<PolicyRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT two_factor_required_since, two_factor_grace_days, two_factor_sso_exempt \
         FROM organizations WHERE id = $1",
    )
    .bind(organization_id)
    .fetch_optional(ex)
    .await
}

pub async fn set_policy<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    policy: &PolicyRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE organizations SET two_factor_required_since = $2, two_factor_grace_days = $3, \
         two_factor_sso_exempt = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(organization_id)
    .bind(policy.two_factor_required_since)
    .bind(policy.two_factor_grace_days)
    .bind(policy.two_factor_sso_exempt)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}
