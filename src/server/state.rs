//! The application state every handler and server function receives.

use std::sync::Arc;

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
            leptos_options,
        })
    }
}
