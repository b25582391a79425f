//! The organization's API token settings and session policy (SPEC section 13): read and changed
//! by its Owner and Administrators; a change is made under the organization's lock and logged.

use serde_json::json;

use super::{
    audit::Event,
    auth::{Active, Admin},
    change::Change,
    db::{self, organizations::StoredSessionPolicy},
    error::OrInternal,
    AppState,
};
use crate::domain::{Action, AppError, SessionPolicy, TokenSettings};

/// A change to the token settings; a field left out keeps its value.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenSettingsChange {
    pub legacy_api_tokens_enabled: Option<bool>,
    pub api_tokens_enabled: Option<bool>,
    pub api_token_ttl_days: Option<i64>,
}

/// Whether the member's organization accepts `Authorization: Token` (what the Account page says
/// of the personal API token).
pub async fn legacy_tokens_accepted(state: &AppState, me: &Active) -> Result<bool, AppError> {
    let settings = db::organizations::token_settings(state.db.pool(), me.organization_id())
        .await
        .or_internal("reading the token settings")?;
    Ok(settings.is_none_or(|s| s.legacy_api_tokens_enabled))
}

pub async fn token_settings(state: &AppState, me: &Admin) -> Result<TokenSettings, AppError> {
    db::organizations::token_settings(state.db.pool(), me.organization_id())
        .await
        .or_internal("reading the token settings")?
        .ok_or_else(super::auth::organization_not_found)
}

pub async fn change_token_settings(
    state: &AppState,
    me: &Admin,
    change: TokenSettingsChange,
) -> Result<TokenSettings, AppError> {
    if let Some(days) = change.api_token_ttl_days {
        if !(1..=TokenSettings::MAX_TTL_DAYS).contains(&days) {
            return Err(AppError::invalid(
                "api_token_ttl_days",
                format!(
                    "A personal access token lives between 1 and {} days.",
                    TokenSettings::MAX_TTL_DAYS
                ),
            ));
        }
    }
    let mut unit = Change::by(state, me).await?;
    let before = db::organizations::token_settings(&mut **unit.tx(), me.organization_id())
        .await
        .or_internal("reading the token settings")?
        .ok_or_else(super::auth::organization_not_found)?;
    let after = TokenSettings {
        legacy_api_tokens_enabled: change
            .legacy_api_tokens_enabled
            .unwrap_or(before.legacy_api_tokens_enabled),
        api_tokens_enabled: change
            .api_tokens_enabled
            .unwrap_or(before.api_tokens_enabled),
        api_token_ttl_days: change
            .api_token_ttl_days
            .unwrap_or(before.api_token_ttl_days),
    };
    if after == before {
        return Ok(after);
    }
    let now = unit.now();
    db::organizations::set_token_settings(&mut **unit.tx(), me.organization_id(), &after, now)
        .await
        .or_internal("saving the token settings")?;
    let organization = unit.organization_target(me.organization_id());
    unit.record(
        Event::by(me, Action::TokenSettingsChanged, organization)
            .details(json!({ "from": before, "to": after })),
    );
    unit.commit().await?;
    Ok(after)
}

/// The server's session limits in minutes (`LABEL_STUDIO_SESSION_MAX_DAYS` and
/// `LABEL_STUDIO_SESSION_IDLE_HOURS`): the policy's defaults and upper limits.
fn server_limits(state: &AppState) -> SessionPolicy {
    SessionPolicy {
        max_session_age: (state.config.session_max_age.as_secs() / 60) as i64,
        max_time_between_activity: (state.config.session_idle.as_secs() / 60) as i64,
    }
}

fn effective(state: &AppState, stored: StoredSessionPolicy) -> SessionPolicy {
    let limits = server_limits(state);
    SessionPolicy {
        max_session_age: stored
            .max_session_age
            .map_or(limits.max_session_age, |m| m.min(limits.max_session_age)),
        max_time_between_activity: stored
            .max_time_between_activity
            .map_or(limits.max_time_between_activity, |m| {
                m.min(limits.max_time_between_activity)
            }),
    }
}

pub async fn session_policy(state: &AppState, me: &Admin) -> Result<SessionPolicy, AppError> {
    session_limits(state, me.organization_id()).await
}

/// The session limits an organization's members live by: its policy within the server's.
pub async fn session_limits(
    state: &AppState,
    organization_id: i64,
) -> Result<SessionPolicy, AppError> {
    let stored = db::organizations::session_policy(state.db.pool(), organization_id)
        .await
        .or_internal("reading the session policy")?
        .ok_or_else(super::auth::organization_not_found)?;
    Ok(effective(state, stored))
}

/// Sets the session policy (minutes; a field left out keeps its value). Every session of the
/// organization's members follows it from their next request.
pub async fn change_session_policy(
    state: &AppState,
    me: &Admin,
    max_session_age: Option<i64>,
    max_time_between_activity: Option<i64>,
) -> Result<SessionPolicy, AppError> {
    let limits = server_limits(state);
    let check = |field: &str, value: Option<i64>, limit: i64, setting: &str| match value {
        Some(v) if !(1..=limit).contains(&v) => Err(AppError::invalid(
            field,
            format!("{field} must be between 1 and {limit} minutes (the server's {setting})."),
        )),
        _ => Ok(()),
    };
    check(
        "max_session_age",
        max_session_age,
        limits.max_session_age,
        "LABEL_STUDIO_SESSION_MAX_DAYS",
    )?;
    check(
        "max_time_between_activity",
        max_time_between_activity,
        limits.max_time_between_activity,
        "LABEL_STUDIO_SESSION_IDLE_HOURS",
    )?;
    let mut unit = Change::by(state, me).await?;
    let before = db::organizations::session_policy(&mut **unit.tx(), me.organization_id())
        .await
        .or_internal("reading the session policy")?
        .ok_or_else(super::auth::organization_not_found)?;
    let after = StoredSessionPolicy {
        max_session_age: max_session_age.or(before.max_session_age),
        max_time_between_activity: max_time_between_activity.or(before.max_time_between_activity),
    };
    if after != before {
        let now = unit.now();
        db::organizations::set_session_policy(&mut **unit.tx(), me.organization_id(), after, now)
            .await
            .or_internal("saving the session policy")?;
        let organization = unit.organization_target(me.organization_id());
        unit.record(
            Event::by(me, Action::SessionPolicyChanged, organization).details(json!({
                "from": effective(state, before),
                "to": effective(state, after),
            })),
        );
        unit.commit().await?;
    }
    Ok(effective(state, after))
}
