//! One routed component per file.

pub mod account;
pub mod home;
pub mod login;
pub mod not_found;
pub mod organization;
pub mod signup;
