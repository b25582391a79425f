//! One routed component per file.

pub mod account;
pub mod activity;
pub mod forgot_password;
pub mod home;
pub mod login;
pub mod not_found;
pub mod organization;
pub mod reset_password;
pub mod signup;
pub mod sso;
pub mod sso_failed;
pub mod two_factor;
pub mod verify_email;
