//! Integration tests: the real router on a real port, against a fresh SQLite file and a fresh
//! PostgreSQL database for every test.

mod helpers;
mod smtp;

mod accounts;
mod cli;
mod hardening;
mod invites;
mod matrix;
mod organization;
mod pages;
mod roles;
mod security;
