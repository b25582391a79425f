//! Integration tests: the real router on a real port, against a fresh SQLite file and a fresh
//! PostgreSQL database for every test.

mod helpers;
mod smtp;
mod sso;

mod abandoned;
mod abuse;
mod accounts;
mod audit;
mod bundle;
mod cli;
mod hardening;
mod headers;
mod invites;
mod limits;
mod logging;
mod matrix;
mod nojs;
mod organization;
mod outage;
mod pages;
mod password_reset;
mod profile;
mod removal;
mod roles;
mod saml;
mod scim;
mod security;
mod takeover;
mod tokens;
mod two_factor;
mod verification;
