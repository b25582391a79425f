//! Seats: the check that one more would not exceed the organization's limit. Which roles take a
//! seat is `Role::counts_seat`; what counts is `db::sql::seats_used`.

use super::{db, error::OrInternal};
use crate::domain::AppError;

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
