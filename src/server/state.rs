//! The application state every handler and server function receives.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{
    auth::{keys::Keys, password::HashBudget},
    db::Db,
    mail::Mailer,
    origin::AllowedHosts,
    Config,
};

/// Everything a request handler or server function needs, passed explicitly (no globals), so
/// that each test runs its own app against its own database.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    pub mailer: Arc<Mailer>,
    /// Wakes the outbox worker when a message is queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Password hashes running and waiting.
    pub hashing: Arc<HashBudget>,
    /// The `Host` values the server answers for.
    pub allowed_hosts: Arc<AllowedHosts>,
    /// How long a new signup's database work takes (see [`SignupPace`]).
    pub signup_pace: Arc<SignupPace>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Everything but the database, from the settings: the data folder (readable by its owner
    /// only), the server key (from `LABEL_STUDIO_SECRET_KEY` or the key file; a short one is an
    /// error), the mailer, and Leptos's options.
    pub fn new(db: Db, config: Config, site_addr: std::net::SocketAddr) -> Result<Self, String> {
        super::files::secure_data_dir(&config.data_dir);
        let keys = Keys::from_config(&config)?;
        let leptos_options = LeptosOptions::builder()
            .output_name("gatehouse")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(site_addr)
            .build();
        let mailer = Mailer::from_config(&config)?;
        Ok(Self {
            db,
            allowed_hosts: Arc::new(AllowedHosts::from_config(&config, site_addr)),
            hashing: Arc::new(HashBudget::new(config.hash_concurrency, config.hash_queue)),
            config: Arc::new(config),
            keys: Arc::new(keys),
            mailer: Arc::new(mailer),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            signup_pace: Arc::new(SignupPace::default()),
            leptos_options,
        })
    }
}

/// A moving average of how long the database work of a new signup takes (after the password
/// hash: the account, its organization, its first session, in one transaction). A signup with an
/// address that already has an account does less, and waits out the difference, so that its
/// answer does not come sooner than a new account's would.
#[derive(Debug, Default)]
pub struct SignupPace(AtomicU64);

impl SignupPace {
    /// Takes one new signup's time into the average (each weighs an eighth).
    pub fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.0.load(Ordering::Relaxed);
        let new = if old == 0 {
            micros
        } else {
            (old.saturating_mul(7).saturating_add(micros)) / 8
        };
        self.0.store(new, Ordering::Relaxed);
    }

    /// What a new signup's database work typically takes (zero before the first).
    pub fn typical(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signup_pace_follows_recent_signups() {
        let pace = SignupPace::default();
        assert_eq!(pace.typical(), Duration::ZERO);
        pace.record(Duration::from_millis(8));
        assert_eq!(pace.typical(), Duration::from_millis(8));
        pace.record(Duration::from_millis(16));
        assert_eq!(pace.typical(), Duration::from_millis(9));
    }
}
