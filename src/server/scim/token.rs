//! The organization's side of provisioning: its SCIM token (made, replaced and revoked by the
//! Owner; shown once, stored as its hash, at most one live), SCIM's own group → role mappings
//! (`/api/scim/settings`), and the mail that lets a provisioned account choose its password.

use serde_json::json;

use super::{Provider, BASE_PATH};
use crate::domain::{
    check_role_groups, format_timestamp, Action, AppError, RoleGroup, ScimOverview,
};
use crate::server::{
    audit::Event,
    auth::{account_links, secrets, Admin, Owner},
    change::Change,
    db,
    error::OrInternal,
    AppState,
};

async fn mappings(
    ex: impl sqlx::AnyExecutor<'_>,
    organization_id: i64,
) -> Result<Vec<RoleGroup>, AppError> {
    match db::scim::roles_groups(ex, organization_id)
        .await
        .or_internal("reading the SCIM settings")?
    {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            AppError::Internal(format!("the stored SCIM mappings cannot be read: {e}"))
        }),
        None => Ok(Vec::new()),
    }
}

/// What the single sign-on page shows of provisioning.
pub async fn overview(state: &AppState, me: &Admin) -> Result<ScimOverview, AppError> {
    let pool = state.db.pool();
    let organization_id = me.organization_id();
    let token = db::scim::live_token(pool, organization_id)
        .await
        .or_internal("reading the SCIM token")?;
    Ok(ScimOverview {
        base_url: format!("{}{BASE_PATH}", me.origin().public),
        token_created_at: token.as_ref().map(|t| format_timestamp(t.created_at)),
        token_last_used_at: token.and_then(|t| t.last_used_at).map(format_timestamp),
        roles_groups: mappings(pool, organization_id).await?,
    })
}

/// Makes the organization a new SCIM token, revoking the live one; returns it (shown once).
pub async fn create_token(state: &AppState, me: &Owner) -> Result<String, AppError> {
    let organization_id = me.organization_id();
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    let replaced = db::scim::revoke_live(&mut **change.tx(), organization_id, now)
        .await
        .or_internal("revoking the SCIM token")?;
    let token = secrets::generate(secrets::SCIM_TOKEN_PREFIX);
    db::scim::insert_token(
        &mut **change.tx(),
        organization_id,
        &secrets::hash(&token),
        me.user_id(),
        now,
    )
    .await
    .or_internal("storing the SCIM token")?;
    let target = change.organization_target(organization_id);
    change.record(
        Event::by(me, Action::ScimTokenCreated, target).details(json!({"replaced": replaced})),
    );
    change.commit().await?;
    tracing::info!(
        organization_id,
        by = me.user_id(),
        replaced,
        "made a SCIM token"
    );
    Ok(token)
}

/// Revokes the organization's SCIM token: the identity provider's requests are refused at once.
pub async fn revoke_token(state: &AppState, me: &Owner) -> Result<(), AppError> {
    let organization_id = me.organization_id();
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    if !db::scim::revoke_live(&mut **change.tx(), organization_id, now)
        .await
        .or_internal("revoking the SCIM token")?
    {
        return Err(AppError::NotFound(
            "The organization has no SCIM token to revoke.".into(),
        ));
    }
    let target = change.organization_target(organization_id);
    change.record(Event::by(me, Action::ScimTokenRevoked, target));
    change.commit().await?;
    tracing::info!(organization_id, by = me.user_id(), "revoked the SCIM token");
    Ok(())
}

/// SCIM's group → role mappings.
pub async fn settings(state: &AppState, me: &Admin) -> Result<Vec<RoleGroup>, AppError> {
    mappings(state.db.pool(), me.organization_id()).await
}

/// Replaces SCIM's group → role mappings; members' roles follow them at the next change the
/// identity provider sends about them.
pub async fn save_settings(
    state: &AppState,
    me: &Owner,
    roles_groups: Vec<RoleGroup>,
) -> Result<Vec<RoleGroup>, AppError> {
    check_role_groups(&roles_groups)?;
    let organization_id = me.organization_id();
    let mut change = Change::by(state, me).await?;
    let before = mappings(&mut **change.tx(), organization_id).await?;
    if before != roles_groups {
        let text = serde_json::to_string(&roles_groups)
            .map_err(|e| AppError::Internal(format!("the SCIM mappings cannot be written: {e}")))?;
        let now = change.now();
        db::scim::save_roles_groups(&mut **change.tx(), organization_id, &text, now)
            .await
            .or_internal("saving the SCIM settings")?;
        let target = change.organization_target(organization_id);
        change.record(
            Event::by(me, Action::ScimSettingsChanged, target)
                .details(json!({"roles_groups": roles_groups})),
        );
    }
    change.commit().await?;
    Ok(roles_groups)
}

/// In the change that made `user_id`'s account: when the organization has no single sign-on to
/// sign in with, the account is mailed a link to choose its password (valid 7 days).
pub async fn mail_new_account(
    change: &mut Change<'_>,
    state: &AppState,
    provider: &Provider,
    organization_id: i64,
    user_id: i64,
    email: &str,
) -> Result<(), AppError> {
    let sso = db::sso::all_settings(&mut **change.tx(), organization_id)
        .await
        .or_internal("reading the SSO settings")?;
    if !sso.is_empty() {
        return Ok(());
    }
    let Some(origin) = provider.origin.mail_origin() else {
        tracing::warn!(
            user_id,
            "no password link to a provisioned account: LABEL_STUDIO_HOST is not set"
        );
        return Ok(());
    };
    let origin = origin.to_owned();
    account_links::issue_provisioned_in(change, state, user_id, email, &origin).await
}
