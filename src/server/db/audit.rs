//! The audit log: entries (only ever inserted; retention deletes the oldest) and each
//! organization's chain (its newest entry, and the last entry retention deleted).

use sqlx::{AnyExecutor, AnyPool};

use super::filter::{containing, Conditions};
use crate::domain::{Page, Paged, Search};

/// An entry as stored. Its hash covers every field but `id` (see `server::audit::canonical`).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct EntryRecord {
    pub id: i64,
    pub organization_id: i64,
    pub seq: i64,
    pub created_at: i64,
    pub actor_kind: String,
    pub actor_user_id: Option<i64>,
    pub actor_email: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub target_label: String,
    pub details: String,
    pub client_address: String,
    pub user_agent: String,
    /// The request's method and path; empty for the command line and older entries.
    pub request_method: String,
    pub request_path: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

const COLUMNS: &str =
    "organization_id, seq, created_at, actor_kind, actor_user_id, actor_email, action, \
     target_kind, target_id, target_label, details, client_address, user_agent, request_method, \
     request_path, prev_hash, hash";
const COLUMN_COUNT: usize = 17;

const SELECT_ENTRY: &str = "SELECT id, organization_id, seq, created_at, actor_kind, actor_user_id, actor_email, \
     action, target_kind, target_id, target_label, details, client_address, user_agent, request_method, \
     request_path, prev_hash, hash FROM audit_log";

/// Most entries one statement inserts: 17 parameters each stay under SQLite's limit of 32,766
/// (an invitation of 1,000 addresses is one statement).
pub const MAX_ROWS_PER_INSERT: usize = 1900;

/// Inserts entries (their `id` is ignored) in one statement; at most [`MAX_ROWS_PER_INSERT`].
/// SQLite gets anonymous `?` parameters: it looks each `$N` up by name, which for the 15,000 of a
/// 1,000-row statement costs half a second.
pub async fn insert_all(
    conn: &mut sqlx::AnyConnection,
    entries: &[EntryRecord],
) -> Result<(), sqlx::Error> {
    debug_assert!(entries.len() <= MAX_ROWS_PER_INSERT);
    if entries.is_empty() {
        return Ok(());
    }
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let mut sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES ");
    for i in 0..entries.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..COLUMN_COUNT {
            if c > 0 {
                sql.push_str(", ");
            }
            if sqlite {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", i * COLUMN_COUNT + c + 1));
            }
        }
        sql.push(')');
    }
    let mut query = sqlx::query(&sql);
    for e in entries {
        query = query
            .bind(e.organization_id)
            .bind(e.seq)
            .bind(e.created_at)
            .bind(e.actor_kind.as_str())
            .bind(e.actor_user_id)
            .bind(e.actor_email.as_str())
            .bind(e.action.as_str())
            .bind(e.target_kind.as_str())
            .bind(e.target_id)
            .bind(e.target_label.as_str())
            .bind(e.details.as_str())
            .bind(e.client_address.as_str())
            .bind(e.user_agent.as_str())
            .bind(e.request_method.as_str())
            .bind(e.request_path.as_str())
            .bind(e.prev_hash.as_slice())
            .bind(e.hash.as_slice());
    }
    query.execute(conn).await.map(drop)
}

/// An organization's chain: its newest entry and the last entry retention deleted.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainRecord {
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
    pub anchor_seq: i64,
    pub anchor_hash: Option<Vec<u8>>,
}

pub async fn chain<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<ChainRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT head_seq, head_hash, anchor_seq, anchor_hash FROM audit_chains WHERE organization_id = $1",
    )
    .bind(organization_id)
    .fetch_optional(ex)
    .await
}

/// Up to `limit` entries of an organization after the row `after_id`, in the order they were
/// written (by row id: verification reads the rows as they are stored).
pub async fn after_id<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<EntryRecord>, sqlx::Error> {
    let sql = format!("{SELECT_ENTRY} WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(ex)
        .await
}

/// The entries written up to and including `until`, oldest first.
pub async fn until<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    until: i64,
) -> Result<Vec<EntryRecord>, sqlx::Error> {
    let sql =
        format!("{SELECT_ENTRY} WHERE organization_id = $1 AND created_at <= $2 ORDER BY seq");
    sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(until)
        .fetch_all(ex)
        .await
}

/// Which entries of an organization to show.
pub struct Filter<'a> {
    pub organization_id: i64,
    pub action: Option<&'a str>,
    /// Matched against the actor's email.
    pub actor_email: Option<&'a Search>,
    /// `cli` or `system`: entries not made by a user.
    pub actor_kind: Option<&'a str>,
    /// The acting user.
    pub actor_user_id: Option<i64>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filter<'_> {
    fn conditions(&self) -> Conditions {
        Conditions::new("organization_id = $?", self.organization_id)
            .and_given("action = $?", self.action)
            .and_given(
                "lower(actor_email) LIKE $? ESCAPE '\\'",
                self.actor_email.and_then(containing),
            )
            .and_given("actor_kind = $?", self.actor_kind)
            .and_given("actor_user_id = $?", self.actor_user_id)
            .and_given("created_at >= $?", self.since)
            .and_given("created_at <= $?", self.until)
    }
}

/// How many entries an organization's log holds.
pub async fn count<'e>(ex: impl AnyExecutor<'e>, organization_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_one(ex)
        .await
}

/// A page of the matching entries, newest first, and how many match.
pub async fn page(
    pool: &AnyPool,
    f: &Filter<'_>,
    page: Page,
) -> Result<Paged<EntryRecord>, sqlx::Error> {
    f.conditions()
        .page(pool, "audit_log", SELECT_ENTRY, "seq DESC", page)
        .await
}

/// Up to `limit` matching entries older than the entry `before_seq` (all, without), newest
/// first: the export reads the log in such slices.
pub async fn slice_before<'e>(
    ex: impl AnyExecutor<'e>,
    f: &Filter<'_>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<EntryRecord>, sqlx::Error> {
    f.conditions()
        .and("seq < $?", before_seq.unwrap_or(i64::MAX))
        .rows(ex, SELECT_ENTRY, "seq DESC", limit, None)
        .await
}

/// The organizations with entries written before `cutoff`.
pub async fn organizations_with_entries_before<'e>(
    ex: impl AnyExecutor<'e>,
    cutoff: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT organization_id FROM audit_log WHERE created_at < $1")
        .bind(cutoff)
        .fetch_all(ex)
        .await
}

/// The newest entry written before `cutoff`: `(seq, hash)`.
pub async fn last_before<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    cutoff: i64,
) -> Result<Option<(i64, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, hash FROM audit_log WHERE organization_id = $1 AND created_at < $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(organization_id)
    .bind(cutoff)
    .fetch_optional(ex)
    .await
}

/// Deletes an organization's entries up to `seq`; returns how many.
pub async fn delete_through<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    seq: i64,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM audit_log WHERE organization_id = $1 AND seq <= $2")
            .bind(organization_id)
            .bind(seq)
            .execute(ex)
            .await?
            .rows_affected(),
    )
}

/// Records the last entry retention deleted: where verification of the chain now starts.
pub async fn set_anchor<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    seq: i64,
    hash: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_chains SET anchor_seq = $2, anchor_hash = $3, pruned_at = $4 WHERE organization_id = $1",
    )
    .bind(organization_id)
    .bind(seq)
    .bind(hash)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}
