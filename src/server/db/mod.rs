//! The database: one pool over SQLite or PostgreSQL, portable SQL (`$1` placeholders, integer
//! timestamps), one module per table.

pub mod account_tokens;
pub mod api_tokens;
pub mod audit;
pub mod filter;
pub mod invitations;
pub mod members;
pub mod memberships;
pub mod organizations;
pub mod outbox;
pub mod personal_tokens;
pub mod principals;
pub mod scim;
pub mod sessions;
pub mod sql;
pub mod sso;
pub mod throttle;
pub mod two_factor;
pub mod users;
pub mod watch;

use std::{str::FromStr, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor, TransactionManager,
};

use crate::domain::Role;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// An organization's lock ([`Db::lock_organization`]), held to the end of the transaction that
/// took it, and what was read under it. Writing to the audit log takes one, so an entry cannot be
/// written without the lock that keeps its chain linear.
#[derive(Debug)]
pub struct Locked {
    pub id: i64,
    /// The title at the moment of locking.
    pub title: String,
    /// The newest entry of the organization's audit chain (its place and hash), if it has one;
    /// `audit::record_all` moves it on as it writes.
    pub audit_head: Option<(i64, Vec<u8>)>,
}

impl Locked {
    /// An organization created in this transaction: no other transaction can see it before it
    /// commits, so it needs no lock, and its audit chain is empty.
    pub fn created(id: i64, title: String) -> Self {
        Self {
            id,
            title,
            audit_head: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// SQLite: one connection that every write transaction ([`Db::begin`]) takes in turn, so that
    /// they queue in the process, each handed the database as the one before commits, instead of
    /// polling for SQLite's write lock (its busy handler sleeps up to 100 ms between tries).
    writer: Option<AnyPool>,
    backend: Backend,
    /// PostgreSQL: what the probe knows of an outage ([`watch`]).
    outage: Option<std::sync::Arc<watch::Outage>>,
}

/// How long a write transaction waits for SQLite's writer connection (as the busy timeout).
const SQLITE_WRITE_WAIT: Duration = Duration::from_secs(10);

/// What every SQLite connection is set to.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

/// How long a request waits for a PostgreSQL connection. When the server cannot be reached,
/// this is how long a request takes to be answered 503 ("the database is unreachable"), so it
/// is short; but a burst of changes to one organization queues on its lock while holding
/// connections, and those requests should wait their turn rather than be refused.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects and brings the schema up to date. A SQLite file (and its folder, readable by its
    /// owner only) is created when missing.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                format!(
                    "DATABASE_URL must start with sqlite: or postgres:, not {:?}",
                    crate::server::config::redact_url(url)
                )
                .into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let mut writer = None;
        let mut outage = None;
        let pool = match backend {
            Backend::Sqlite => {
                if let Some(dir) = sqlite_file(url).and_then(|f| f.parent().map(ToOwned::to_owned))
                {
                    if !dir.as_os_str().is_empty() {
                        crate::server::files::create_private_dir(&dir).map_err(|e| {
                            sqlx::Error::Configuration(
                                format!("cannot create the database folder {}: {e}", dir.display())
                                    .into(),
                            )
                        })?;
                    }
                }
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await?;
                writer = Some(
                    AnyPoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(SQLITE_WRITE_WAIT)
                        // A local file does not drop connections: no ping before each write.
                        .test_before_acquire(false)
                        .after_release(|conn, _| Box::pin(end_orphaned_transaction(conn)))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute(SQLITE_PRAGMAS).await?;
                                Ok(())
                            })
                        })
                        .connect_lazy_with(options),
                );
                pool
            }
            Backend::Postgres => {
                outage = Some(watch::Outage::new(options.clone())?);
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Self {
            pool,
            writer,
            backend,
            outage,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`) on the writer connection, so that concurrent read-then-write
    /// transactions queue instead of failing; PostgreSQL's row locks and constraints do the same
    /// job there. Never begin a second one while holding one.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match (&self.writer, self.backend) {
            (Some(writer), _) => writer.begin_with("BEGIN IMMEDIATE").await,
            (None, Backend::Sqlite) => self.pool.begin_with("BEGIN IMMEDIATE").await,
            (None, Backend::Postgres) => self.pool.begin().await,
        }
    }

    /// Serializes the changes to one organization's seats, Owner and audit log: on PostgreSQL a
    /// row lock on the organization, held to the end of `tx`; on SQLite, `BEGIN IMMEDIATE`
    /// already holds the database's write lock. What it reads under the lock (the title and the
    /// head of the audit chain) comes with it, so a change does not read them again. `None` when
    /// there is no such organization.
    pub async fn lock_organization(
        &self,
        tx: &mut Tx,
        organization_id: i64,
    ) -> Result<Option<Locked>, sqlx::Error> {
        let (title, audit_head) = match self.backend {
            // One statement: nothing else writes while `BEGIN IMMEDIATE` holds the database.
            Backend::Sqlite => {
                let row: Option<(String, Option<i64>, Option<Vec<u8>>)> = sqlx::query_as(
                    "SELECT o.title, c.head_seq, c.head_hash FROM organizations o \
                     LEFT JOIN audit_chains c ON c.organization_id = o.id WHERE o.id = $1",
                )
                .bind(organization_id)
                .fetch_optional(&mut **tx)
                .await?;
                match row {
                    Some((title, seq, hash)) => (title, seq.zip(hash)),
                    None => return Ok(None),
                }
            }
            // Two: a statement that waited for the row lock still sees the other tables as they
            // were when it started, so the chain is read once the lock is held.
            Backend::Postgres => {
                let title: Option<String> =
                    sqlx::query_scalar("SELECT title FROM organizations WHERE id = $1 FOR UPDATE")
                        .bind(organization_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                let Some(title) = title else {
                    return Ok(None);
                };
                let head = sqlx::query_as(
                    "SELECT head_seq, head_hash FROM audit_chains WHERE organization_id = $1",
                )
                .bind(organization_id)
                .fetch_optional(&mut **tx)
                .await?;
                (title, head)
            }
        };
        Ok(Some(Locked {
            id: organization_id,
            title,
            audit_head,
        }))
    }

    /// [`Db::lock_organization`], and one member's role and email read under the lock too (on
    /// SQLite in the same statement): what a change to a member decides on. The member is `None`
    /// when they do not belong to the organization.
    pub async fn lock_organization_and_member(
        &self,
        tx: &mut Tx,
        organization_id: i64,
        user_id: i64,
    ) -> Result<Option<(Locked, Option<(Role, String)>)>, sqlx::Error> {
        type Row = (
            String,
            Option<i64>,
            Option<Vec<u8>>,
            Option<Role>,
            Option<String>,
        );
        match self.backend {
            Backend::Sqlite => {
                let row: Option<Row> = sqlx::query_as(
                    "SELECT o.title, c.head_seq, c.head_hash, m.role, u.email FROM organizations o \
                     LEFT JOIN audit_chains c ON c.organization_id = o.id \
                     LEFT JOIN memberships m ON m.organization_id = o.id AND m.user_id = $2 \
                     LEFT JOIN users u ON u.id = m.user_id WHERE o.id = $1",
                )
                .bind(organization_id)
                .bind(user_id)
                .fetch_optional(&mut **tx)
                .await?;
                Ok(row.map(|(title, seq, hash, role, email)| {
                    let lock = Locked {
                        id: organization_id,
                        title,
                        audit_head: seq.zip(hash),
                    };
                    (lock, role.zip(email))
                }))
            }
            Backend::Postgres => {
                let Some(lock) = self.lock_organization(tx, organization_id).await? else {
                    return Ok(None);
                };
                let member =
                    memberships::role_and_email(&mut **tx, organization_id, user_id).await?;
                Ok(Some((lock, member)))
            }
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// Rolls back a transaction that the writer connection comes back to the pool in, which nothing
/// will end: a request cancelled inside `BEGIN IMMEDIATE` (after SQLite began it, before sqlx
/// handed out the transaction). Left open, it would hold the database's write lock against other
/// processes and make every later write of this one fail. Keeps the connection if it is clean.
async fn end_orphaned_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    type Manager = <sqlx::Any as sqlx::Database>::TransactionManager;
    if Manager::get_transaction_depth(conn) > 0 {
        tracing::debug!("rolling back a transaction left open by a cancelled request");
        Manager::rollback(conn).await?;
    }
    Ok(true)
}

/// The file path of a `sqlite:` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields to the runtime `n` times.
    async fn yield_times(n: usize) {
        for _ in 0..n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_cancelled_anywhere_in_its_begin_leaves_the_database_writable() {
        let dir = std::env::temp_dir().join(format!("gatehouse-db-{}", std::process::id()));
        let url = format!("sqlite://{}/cancel.db?mode=rwc", dir.display());
        let db = Db::connect(&url).await.expect("a database");
        // Requests that go away at every moment of `BEGIN IMMEDIATE`, as clients do under load.
        for i in 0..600 {
            tokio::select! {
                biased;
                tx = db.begin() => drop(tx),
                () = yield_times(i % 40) => {}
            }
        }
        // The writer still begins, and another process can write once this one is done.
        let mut tx = tokio::time::timeout(Duration::from_secs(5), db.begin())
            .await
            .expect("the writer is not stuck")
            .expect("a write transaction begins");
        sqlx::query("UPDATE organizations SET title = title")
            .execute(&mut *tx)
            .await
            .expect("a write");
        tx.commit().await.expect("a commit");
        let mut other = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("a second connection");
        other
            .execute("PRAGMA busy_timeout = 2000; UPDATE organizations SET title = title")
            .await
            .expect("another connection writes: no transaction was left holding the lock");
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn an_unknown_kind_of_database_is_named_without_its_password() {
        let err = Db::connect("mysql://app:hunter2@db.internal/labels")
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("mysql://app:***@db.internal/labels"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
