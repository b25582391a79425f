//! The application state every handler and server function receives.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{
    auth::{keys::Keys, password::HashBudget},
    clock::Clock,
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
    /// The time every expiry, window and timestamp is read from.
    pub clock: Clock,
    /// The OpenID Connect providers' discovery documents, and the HTTP client that reaches them.
    pub sso: Arc<super::sso::Providers>,
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
    /// error), the mailer, and Leptos's options, with the time read from `clock`.
    pub fn new(
        db: Db,
        config: Config,
        site_addr: std::net::SocketAddr,
        clock: Clock,
    ) -> Result<Self, String> {
        super::files::secure_data_dir(&config.data_dir);
        let keys = Keys::from_config(&config)?;
        let leptos_options = LeptosOptions::builder()
            .output_name("gatehouse")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(site_addr)
            .build();
        let mailer = Mailer::from_config(&config, clock.clone())?;
        Ok(Self {
            db,
            allowed_hosts: Arc::new(AllowedHosts::from_config(&config, site_addr)),
            hashing: Arc::new(HashBudget::new(config.hash_concurrency, config.hash_queue)),
            config: Arc::new(config),
            keys: Arc::new(keys),
            mailer: Arc::new(mailer),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            signup_pace: Arc::new(SignupPace::default()),
            sso: Arc::new(super::sso::Providers::new()?),
            clock,
            leptos_options,
        })
    }

    /// Unix seconds now, by the application's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// A running median of how long the database work of a new signup takes (after the password
/// hash: the account, its organization, its first session, in one transaction). A signup with an
/// address that already has an account does less, and waits out the difference, so that its
/// answer comes neither sooner nor later than a new account's would. The median is followed by
/// small steps toward each new time (the average would be pulled up by the rare slow one).
#[derive(Debug, Default)]
pub struct SignupPace(AtomicU64);

/// One signup moves the median by this share of it (at least a microsecond): far enough that a
/// slow first signup is forgotten within a few dozen, near enough that one slow signup hardly
/// moves it.
const PACE_STEP_SHARE: u64 = 16;

/// Tokio's timer wakes on a whole millisecond, up to one late: the last stretch of a wait yields
/// to other tasks instead, until its end.
const TIMER_GRANULARITY: Duration = Duration::from_millis(1);

impl SignupPace {
    /// Moves the median toward one new signup's time.
    pub fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.0.load(Ordering::Relaxed);
        let step = (old / PACE_STEP_SHARE).max(1);
        let new = if old == 0 {
            micros.max(1)
        } else if micros > old {
            old.saturating_add(step)
        } else {
            old.saturating_sub(step).max(1)
        };
        self.0.store(new, Ordering::Relaxed);
    }

    /// What a new signup's database work typically takes (zero before the first).
    pub fn typical(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    /// Waits until a new signup's work begun at `started` would typically be done (at once when
    /// that time has passed): asleep for whole milliseconds, then yielding for the rest, so that
    /// the end is kept to the microsecond and not to the timer's millisecond.
    pub async fn wait_from(&self, started: Instant) {
        let end = started + self.typical();
        let now = Instant::now();
        if end > now + TIMER_GRANULARITY * 2 {
            tokio::time::sleep_until((end - TIMER_GRANULARITY).into()).await;
        }
        while Instant::now() < end {
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signup_pace_follows_the_median_of_recent_signups() {
        let pace = SignupPace::default();
        assert_eq!(pace.typical(), Duration::ZERO);
        pace.record(Duration::from_millis(8));
        assert_eq!(pace.typical(), Duration::from_millis(8));
        // One slow signup moves it a step, not by its whole time.
        pace.record(Duration::from_millis(500));
        assert_eq!(pace.typical(), Duration::from_micros(8_500));
        // A slow first signup is forgotten within a few dozen.
        for _ in 0..60 {
            pace.record(Duration::from_micros(700));
        }
        let typical = pace.typical().as_micros();
        assert!((650..=750).contains(&typical), "{typical}");
        // Half above, half below: it stays near their middle.
        for i in 0..200 {
            pace.record(Duration::from_micros(if i % 2 == 0 { 600 } else { 900 }));
        }
        let typical = pace.typical().as_micros();
        assert!((560..=960).contains(&typical), "{typical}");
    }

    #[tokio::test]
    async fn a_wait_lasts_at_least_the_typical_time() {
        let pace = SignupPace::default();
        pace.record(Duration::from_micros(2_300));
        for _ in 0..5 {
            let started = Instant::now();
            pace.wait_from(started).await;
            let took = started.elapsed();
            assert!(took >= Duration::from_micros(2_300), "{took:?}");
        }
    }
}
