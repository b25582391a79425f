//! The sections of the Organization page, each with its own state.

pub mod details;
pub mod members;
pub mod pending;
pub mod rename;
pub mod token_settings;
pub mod transfer;
pub mod two_factor_policy;
