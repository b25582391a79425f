//! Everything that runs only on the server.

pub mod accounts;
pub mod activity;
pub mod api_settings;
pub mod audit;
pub mod auth;
pub mod bundle;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod files;
pub mod form_answers;
pub mod headers;
pub mod host;
pub mod invite_token;
pub mod invites;
pub mod limits;
pub mod mail;
pub mod members;
pub mod notices;
pub mod organization;
pub mod origin;
pub mod profile;
pub mod rest;
pub mod roles;
pub mod scim;
pub mod seats;
pub mod security;
pub mod serve;
pub mod sso;
pub mod startup;
pub mod state;
pub mod throttle;

pub use clock::Clock;
pub use config::Config;

/// Server functions live under this prefix, apart from the REST API's `/api`.
pub const SERVER_FN_PREFIX: &str = "/_sfn";
pub use state::AppState;
