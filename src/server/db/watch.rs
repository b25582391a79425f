//! A PostgreSQL outage answered at once. A probe keeps a connection of its own and pings it
//! every [`PROBE_EVERY`]; when the database stops answering it (a refused or failed connection,
//! or no answer within [`PROBE_TIMEOUT`]), the pool's new connections are pointed at an address
//! that fails at once (a socket path that does not exist) instead of the real one, which the pool
//! would retry until its acquire timeout: every request then gets its 503 in about a millisecond
//! rather than [`super::ACQUIRE_TIMEOUT`]. When the probe reaches the database again, the real
//! address is put back. A pool that is merely busy is never flagged: the probe does not use it.
//! SQLite (a local file) has nothing to watch.

use std::{
    str::FromStr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use sqlx::{any::AnyConnectOptions, AnyConnection, Connection};

use super::Db;

/// How often the probe pings the database.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long a ping or a connection attempt of the probe may take before the database counts as
/// gone.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// An address no connection is ever made to: a socket in a folder that does not exist, which
/// fails at once with "not found" (a refusal the pool would retry until its timeout).
const NOWHERE: &str =
    "postgres://gatehouse@localhost/unreachable?host=/nonexistent/gatehouse-database-is-down";

/// What the probe knows of the database, shared with the pool's owner.
pub struct Outage {
    down: AtomicBool,
    /// The database's real address.
    options: AnyConnectOptions,
    nowhere: AnyConnectOptions,
}

impl Outage {
    pub fn new(options: AnyConnectOptions) -> Result<Arc<Self>, sqlx::Error> {
        Ok(Arc::new(Self {
            down: AtomicBool::new(false),
            options,
            nowhere: AnyConnectOptions::from_str(NOWHERE)?,
        }))
    }
}

/// Watches the database until the task is aborted (see the module's documentation).
pub async fn watch(db: Db) {
    let Some(outage) = db.outage.clone() else {
        return;
    };
    let mut probe: Option<AnyConnection> = None;
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let up = reachable(&mut probe, &outage.options).await;
        let was_down = outage.down.swap(!up, Ordering::AcqRel);
        match (was_down, up) {
            (false, false) => {
                db.pool.set_connect_options(outage.nowhere.clone());
                tracing::warn!(
                    "the database is unreachable: requests are answered 503 at once until it is back"
                );
            }
            (true, true) => {
                db.pool.set_connect_options(outage.options.clone());
                tracing::info!("the database is reachable again");
            }
            _ => {}
        }
    }
}

/// Whether the database answers the probe's connection (made again once if it was lost: a
/// connection the server closed while idle is not an outage).
async fn reachable(probe: &mut Option<AnyConnection>, options: &AnyConnectOptions) -> bool {
    if let Some(conn) = probe.as_mut() {
        if matches!(
            tokio::time::timeout(PROBE_TIMEOUT, conn.ping()).await,
            Ok(Ok(()))
        ) {
            return true;
        }
        *probe = None;
    }
    match tokio::time::timeout(PROBE_TIMEOUT, AnyConnection::connect_with(options)).await {
        Ok(Ok(mut conn)) => {
            let answered = matches!(
                tokio::time::timeout(PROBE_TIMEOUT, conn.ping()).await,
                Ok(Ok(()))
            );
            if answered {
                *probe = Some(conn);
            }
            answered
        }
        _ => false,
    }
}
