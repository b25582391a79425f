//! Attempts counted against the abuse limits, one weighted row each, shared by every instance.

use sqlx::AnyExecutor;

/// Records an attempt; returns its id.
pub async fn record<'e>(
    ex: impl AnyExecutor<'e>,
    bucket: &str,
    subject: &str,
    weight: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO throttle_events (bucket, subject, weight, at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(bucket)
    .bind(subject)
    .bind(weight)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// The weight of the attempts since `since`, and when the oldest of them was made.
#[derive(sqlx::FromRow)]
pub struct Tally {
    pub total: i64,
    pub oldest: Option<i64>,
}

pub async fn tally<'e>(
    ex: impl AnyExecutor<'e>,
    bucket: &str,
    subject: &str,
    since: i64,
) -> Result<Tally, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT) AS total, MIN(at) AS oldest \
         FROM throttle_events WHERE bucket = $1 AND subject = $2 AND at > $3",
    )
    .bind(bucket)
    .bind(subject)
    .bind(since)
    .fetch_one(ex)
    .await
}

pub async fn remove<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle_events WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await
        .map(|_| ())
}

/// Forgets every attempt of one subject (a successful login clears its email's failures).
pub async fn clear<'e>(
    ex: impl AnyExecutor<'e>,
    bucket: &str,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle_events WHERE bucket = $1 AND subject = $2")
        .bind(bucket)
        .bind(subject)
        .execute(ex)
        .await
        .map(|_| ())
}

/// Deletes the attempts made before `before`; returns how many.
pub async fn prune<'e>(ex: impl AnyExecutor<'e>, before: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM throttle_events WHERE at <= $1")
        .bind(before)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}
