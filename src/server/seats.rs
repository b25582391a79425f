//! Seats: the check that one more would not exceed the organization's limit. Which roles take a
//! seat is `Role::counts_seat`; what counts is `db::sql::seats_used`.

use serde_json::json;

use super::{
    audit::{Actor, Event},
    change::Change,
    db,
    error::OrInternal,
    AppState,
};
use crate::domain::{Action, AppError};

/// Refuses when one more seat would exceed the organization's limit. Call it inside the
/// transaction that holds the organization's lock (`Db::lock_organization`), so that concurrent
/// requests cannot both take the last seat.
pub async fn ensure_free(tx: &mut db::Tx, organization_id: i64, now: i64) -> Result<(), AppError> {
    let usage = db::organizations::seat_usage(&mut **tx, organization_id, now)
        .await
        .or_internal("counting seats")?
        .ok_or_else(super::auth::organization_not_found)?;
    match usage.limit {
        Some(limit) if usage.used + 1 > limit => Err(AppError::NoFreeSeat {
            used: usage.used,
            limit,
        }),
        _ => Ok(()),
    }
}

/// The server administrator's `gatehouse set-seats`: sets the organization's limit (`None`:
/// unlimited), recorded in its log, under its lock.
pub async fn set_limit(
    state: &AppState,
    organization_id: i64,
    limit: Option<i64>,
) -> Result<(), AppError> {
    let no_such = || {
        AppError::NotFound(format!(
            "There is no organization with id {organization_id}."
        ))
    };
    let mut change = Change::to_organization(state, organization_id).await?;
    let now = change.now();
    let tx = change.tx();
    let before = db::organizations::seat_usage(&mut **tx, organization_id, now)
        .await
        .or_internal("reading seats")?
        .ok_or_else(no_such)?;
    if !db::organizations::set_seats(&mut **tx, organization_id, limit, now)
        .await
        .or_internal("setting seats")?
    {
        return Err(no_such());
    }
    let target = change.organization_target(organization_id);
    let event = Event::new(Actor::Cli, Action::SeatsChanged, target)
        .details(json!({"from": before.limit, "to": limit}));
    change.record(event);
    change.commit().await
}
