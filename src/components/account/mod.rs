//! The sections of the Account page, each with its own state.

pub mod identities;
pub mod name;
pub mod password;
pub mod personal_tokens;
pub mod sessions;
pub mod two_factor;
