//! Single sign-on: each organization's settings per protocol (JSON) and the email domains they
//! claim, the identities people sign in with, and the sign-ins sent to an identity provider that
//! have not come back yet.

use sqlx::AnyExecutor;

use crate::domain::Protocol;

/// The organization whose SSO addresses use `key`.
pub async fn organization_by_key<'e>(
    ex: impl AnyExecutor<'e>,
    key: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM organizations WHERE sso_key = $1")
        .bind(key)
        .fetch_optional(ex)
        .await
}

/// The organization's key in SSO addresses.
pub async fn key_of<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let key: Option<Option<String>> =
        sqlx::query_scalar("SELECT sso_key FROM organizations WHERE id = $1")
            .bind(organization_id)
            .fetch_optional(ex)
            .await?;
    Ok(key.flatten())
}

/// The stored settings (JSON) of `protocol`, if the organization has any.
pub async fn settings<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    protocol: Protocol,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT settings FROM sso_settings WHERE organization_id = $1 AND protocol = $2",
    )
    .bind(organization_id)
    .bind(protocol.as_str())
    .fetch_optional(ex)
    .await
}

pub async fn save_settings<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    protocol: Protocol,
    settings: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sso_settings (organization_id, protocol, settings, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (organization_id, protocol) DO UPDATE \
         SET settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(organization_id)
    .bind(protocol.as_str())
    .bind(settings)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}

/// Deletes the settings of `protocol` and the domains they claimed; whether there were any.
pub async fn delete_settings<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    protocol: Protocol,
) -> Result<bool, sqlx::Error> {
    // The domains go with them (ON DELETE CASCADE).
    sqlx::query("DELETE FROM sso_settings WHERE organization_id = $1 AND protocol = $2")
        .bind(organization_id)
        .bind(protocol.as_str())
        .execute(ex)
        .await
        .map(|d| d.rows_affected() > 0)
}

/// Who claims `domain` already, if anyone: the organization and protocol.
pub async fn domain_owner<'e>(
    ex: impl AnyExecutor<'e>,
    domain: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT organization_id, protocol FROM sso_domains WHERE domain = $1")
        .bind(domain)
        .fetch_optional(ex)
        .await
}

pub async fn forget_domains<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    protocol: Protocol,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sso_domains WHERE organization_id = $1 AND protocol = $2")
        .bind(organization_id)
        .bind(protocol.as_str())
        .execute(ex)
        .await
        .map(drop)
}

/// Claims `domain` for the organization's `protocol`; a domain claimed already fails with a
/// unique violation.
pub async fn claim_domain<'e>(
    ex: impl AnyExecutor<'e>,
    domain: &str,
    organization_id: i64,
    protocol: Protocol,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sso_domains (domain, organization_id, protocol) VALUES ($1, $2, $3)")
        .bind(domain)
        .bind(organization_id)
        .bind(protocol.as_str())
        .execute(ex)
        .await
        .map(drop)
}

/// Where people with an address at `domain` sign in: the organization, its protocol and its key.
#[derive(Debug, sqlx::FromRow)]
pub struct DomainRecord {
    pub organization_id: i64,
    pub protocol: String,
    pub sso_key: Option<String>,
}

pub async fn by_domain<'e>(
    ex: impl AnyExecutor<'e>,
    domain: &str,
) -> Result<Option<DomainRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.organization_id, d.protocol, o.sso_key FROM sso_domains d \
         JOIN organizations o ON o.id = d.organization_id WHERE d.domain = $1",
    )
    .bind(domain)
    .fetch_optional(ex)
    .await
}

/// A person as an identity provider knows them, and their account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IdentityRecord {
    pub id: i64,
    pub organization_id: i64,
    pub protocol: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: i64,
    pub email: String,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

const IDENTITY_COLUMNS: &str = "id, organization_id, protocol, issuer, subject, user_id, email, \
     created_at, last_sign_in_at";

pub async fn find_identity<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    issuer: &str,
    subject: &str,
) -> Result<Option<IdentityRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {IDENTITY_COLUMNS} FROM sso_identities \
         WHERE organization_id = $1 AND issuer = $2 AND subject = $3"
    ))
    .bind(organization_id)
    .bind(issuer)
    .bind(subject)
    .fetch_optional(ex)
    .await
}

/// The new identity's id; one known already fails with a unique violation.
#[allow(clippy::too_many_arguments)]
pub async fn insert_identity<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    protocol: Protocol,
    issuer: &str,
    subject: &str,
    user_id: i64,
    email: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sso_identities \
         (organization_id, protocol, issuer, subject, user_id, email, created_at, last_sign_in_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(organization_id)
    .bind(protocol.as_str())
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// Records a sign-in with the identity, and the address the provider gave this time.
pub async fn signed_in_with<'e>(
    ex: impl AnyExecutor<'e>,
    identity_id: i64,
    email: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sso_identities SET email = $1, last_sign_in_at = $2 WHERE id = $3")
        .bind(email)
        .bind(now)
        .bind(identity_id)
        .execute(ex)
        .await
        .map(drop)
}

/// The identities an account signs in with, oldest first.
pub async fn identities_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Vec<IdentityRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {IDENTITY_COLUMNS} FROM sso_identities WHERE user_id = $1 ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(ex)
    .await
}

/// Unlinks one of the account's identities; the one unlinked, if it was theirs.
pub async fn delete_identity<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    identity_id: i64,
) -> Result<Option<IdentityRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "DELETE FROM sso_identities WHERE id = $1 AND user_id = $2 RETURNING {IDENTITY_COLUMNS}"
    ))
    .bind(identity_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

/// A sign-in sent to an identity provider.
#[derive(Debug, sqlx::FromRow)]
pub struct RequestRecord {
    pub organization_id: i64,
    pub protocol: String,
    pub purpose: String,
    pub browser_hash: Vec<u8>,
    pub nonce: Option<String>,
    pub pkce_verifier: Option<String>,
    pub user_id: Option<i64>,
}

/// What a new request stores.
pub struct NewRequest<'a> {
    pub id_hash: &'a [u8],
    pub organization_id: i64,
    pub protocol: Protocol,
    pub purpose: &'a str,
    pub nonce: Option<&'a str>,
    pub pkce_verifier: Option<&'a str>,
    pub user_id: Option<i64>,
}

/// Stores `r`, bound to the browser whose cookie hashes to `browser_hash`, until `expires_at`.
pub async fn insert_request<'e>(
    ex: impl AnyExecutor<'e>,
    r: &NewRequest<'_>,
    browser_hash: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sso_requests (id_hash, organization_id, protocol, purpose, browser_hash, \
         nonce, pkce_verifier, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(r.id_hash.to_vec())
    .bind(r.organization_id)
    .bind(r.protocol.as_str())
    .bind(r.purpose)
    .bind(browser_hash.to_vec())
    .bind(r.nonce)
    .bind(r.pkce_verifier)
    .bind(r.user_id)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(drop)
}

/// Takes the request stored under `id_hash` if it has not expired: it is deleted, so it can come
/// back once.
pub async fn take_request<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    now: i64,
) -> Result<Option<RequestRecord>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sso_requests WHERE id_hash = $1 AND expires_at > $2 \
         RETURNING organization_id, protocol, purpose, browser_hash, nonce, pkce_verifier, user_id",
    )
    .bind(id_hash.to_vec())
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Forgets requests that never came back.
pub async fn delete_expired_requests<'e>(
    ex: impl AnyExecutor<'e>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sso_requests WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

/// Records that a SAML assertion was used; one used before fails with a unique violation.
pub async fn use_assertion<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    assertion_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sso_assertions (organization_id, assertion_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(organization_id)
    .bind(assertion_id)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(drop)
}

/// Forgets used assertions that have expired (they would be refused as expired anyway).
pub async fn delete_expired_assertions<'e>(
    ex: impl AnyExecutor<'e>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sso_assertions WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

/// The stored settings (JSON) of every protocol the organization set up.
pub async fn all_settings<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT settings FROM sso_settings WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_all(ex)
        .await
}
