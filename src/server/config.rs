//! Settings, all from environment variables (documented in the README with their defaults).

use std::{net::SocketAddr, path::PathBuf};

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// `LEPTOS_SITE_ADDR`: where the server listens.
    pub site_addr: SocketAddr,
    /// `LEPTOS_SITE_ROOT`: the folder with the built browser bundle and static files.
    pub site_root: String,
    /// `LABEL_STUDIO_DATA_DIR`: the server key and, without SMTP, the mail folder.
    pub data_dir: PathBuf,
    /// `LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK`.
    pub disable_signup_without_link: bool,
    /// `LABEL_STUDIO_LICENSE_SEATS`: the seat limit of new organizations (`None` = unlimited).
    pub license_seats: Option<i64>,
    /// `LABEL_STUDIO_INVITE_EXPIRY_DAYS`.
    pub invite_expiry_days: i64,
    /// `LABEL_STUDIO_SECRET_KEY`: the server key; when unset it is kept in `<data_dir>/secret.key`.
    pub secret_key: Option<String>,
    /// `LABEL_STUDIO_HOST`: the public URL (`https://labels.example.com`) when behind a proxy.
    pub public_url: Option<String>,
    /// SMTP delivery; `None` writes messages to `<data_dir>/mail/` instead.
    pub smtp: Option<SmtpConfig>,
    /// Where the outbox delivers: as the settings say, or into memory (tests; no variable sets it).
    pub mail_transport: MailTransport,
    /// `LABEL_STUDIO_EMAIL_FROM`: the sender of invitations.
    pub email_from: String,
    /// First retry delay of a failed delivery; it doubles with each attempt, up to an hour.
    pub mail_retry_base_seconds: i64,
    /// How often the outbox is checked when nothing wakes it.
    pub mail_poll_interval: std::time::Duration,
    /// `LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS`: after Ctrl-C or SIGTERM, how long requests in flight
    /// may take to finish before the server stops anyway.
    pub shutdown_grace: std::time::Duration,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MailTransport {
    /// SMTP when `smtp` is set, else `.eml` files in the mail folder.
    #[default]
    Settings,
    /// Kept in memory for the integration tests to read; never chosen by an environment variable,
    /// so a production instance cannot lose its mail there.
    Memory,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// `LABEL_STUDIO_SMTP_HOST`
    pub host: String,
    /// `LABEL_STUDIO_SMTP_PORT` (default 587, or 465 with TLS, 25 without)
    pub port: u16,
    /// `LABEL_STUDIO_SMTP_USER` and `LABEL_STUDIO_SMTP_PASSWORD`
    pub credentials: Option<(String, String)>,
    /// `LABEL_STUDIO_SMTP_TLS`: `starttls` (default), `tls` or `none`
    pub tls: SmtpTls,
}

impl Config {
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/gatehouse.db?mode=rwc".into(),
            site_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: "target/site".into(),
            data_dir: PathBuf::from("data"),
            disable_signup_without_link: false,
            license_seats: None,
            invite_expiry_days: 7,
            secret_key: None,
            public_url: None,
            smtp: None,
            mail_transport: MailTransport::Settings,
            email_from: "Gatehouse <noreply@localhost>".into(),
            mail_retry_base_seconds: 5,
            mail_poll_interval: std::time::Duration::from_secs(5),
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}

impl Config {
    /// Reads the settings from the environment; a malformed value is an error that names it.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut c = Config::default();
        if let Some(url) = get("DATABASE_URL") {
            c.database_url = url;
        }
        if let Some(addr) = get("LEPTOS_SITE_ADDR") {
            c.site_addr = addr.trim().parse().map_err(|_| {
                format!("LEPTOS_SITE_ADDR must be an address like 127.0.0.1:3000, not {addr:?}")
            })?;
        }
        if let Some(root) = get("LEPTOS_SITE_ROOT") {
            c.site_root = root;
        }
        if let Some(dir) = get("LABEL_STUDIO_DATA_DIR") {
            c.data_dir = dir.into();
        }
        if let Some(v) = get("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK") {
            c.disable_signup_without_link =
                parse_bool("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", &v)?;
        }
        if let Some(v) = get("LABEL_STUDIO_LICENSE_SEATS") {
            c.license_seats = Some(parse_count("LABEL_STUDIO_LICENSE_SEATS", &v, 0)?);
        }
        if let Some(v) = get("LABEL_STUDIO_INVITE_EXPIRY_DAYS") {
            c.invite_expiry_days = parse_count("LABEL_STUDIO_INVITE_EXPIRY_DAYS", &v, 1)?;
        }
        if let Some(v) = get("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS") {
            let seconds = parse_count("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS", &v, 0)?;
            c.shutdown_grace = std::time::Duration::from_secs(seconds.unsigned_abs());
        }
        c.secret_key = get("LABEL_STUDIO_SECRET_KEY");
        if let Some(url) = get("LABEL_STUDIO_HOST") {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "LABEL_STUDIO_HOST must start with http:// or https://, not {url:?}"
                ));
            }
            c.public_url = Some(url);
        }
        if let Some(host) = get("LABEL_STUDIO_SMTP_HOST") {
            let tls = match get("LABEL_STUDIO_SMTP_TLS")
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str()
            {
                "" | "starttls" => SmtpTls::StartTls,
                "tls" | "ssl" => SmtpTls::Tls,
                "none" | "off" => SmtpTls::None,
                other => {
                    return Err(format!(
                        "LABEL_STUDIO_SMTP_TLS must be starttls, tls or none, not {other:?}"
                    ))
                }
            };
            let default_port = match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            };
            let port = match get("LABEL_STUDIO_SMTP_PORT") {
                Some(p) => p.trim().parse().map_err(|_| {
                    format!("LABEL_STUDIO_SMTP_PORT must be a port number, not {p:?}")
                })?,
                None => default_port,
            };
            let credentials = match (
                get("LABEL_STUDIO_SMTP_USER"),
                get("LABEL_STUDIO_SMTP_PASSWORD"),
            ) {
                (Some(user), Some(password)) => Some((user, password)),
                (None, None) => None,
                _ => return Err(
                    "set both LABEL_STUDIO_SMTP_USER and LABEL_STUDIO_SMTP_PASSWORD, or neither"
                        .into(),
                ),
            };
            c.smtp = Some(SmtpConfig {
                host: host.trim().to_owned(),
                port,
                credentials,
                tls,
            });
        }
        if let Some(from) = get("LABEL_STUDIO_EMAIL_FROM") {
            from.parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("LABEL_STUDIO_EMAIL_FROM must be an address like \"Labels <noreply@example.com>\": {e}"))?;
            c.email_from = from;
        }
        Ok(c)
    }
}

pub fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!(
            "{name} must be true or false (also 1/0, yes/no, on/off), not {other:?}"
        )),
    }
}

fn parse_count(name: &str, value: &str, min: i64) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| format!("{name} must be a whole number of at least {min}, not {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn no_settings_means_sqlite_in_data_on_port_3000() {
        let c = config(&[]).unwrap();
        assert!(c.database_url.starts_with("sqlite://data/"));
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.license_seats, None);
        assert_eq!(c.invite_expiry_days, 7);
    }

    #[test]
    fn disable_signup_accepts_the_usual_spellings_of_true() {
        for v in ["true", "1", "yes", "on", "TRUE", " On "] {
            assert!(
                config(&[("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", v)])
                    .unwrap()
                    .disable_signup_without_link
            );
        }
        assert!(
            !config(&[("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "off")])
                .unwrap()
                .disable_signup_without_link
        );
        let err = config(&[("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "maybe")]).unwrap_err();
        assert!(err.contains("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"));
    }

    #[test]
    fn malformed_numbers_name_the_setting() {
        assert!(config(&[("LABEL_STUDIO_LICENSE_SEATS", "ten")])
            .unwrap_err()
            .contains("LABEL_STUDIO_LICENSE_SEATS"));
        assert!(config(&[("LABEL_STUDIO_INVITE_EXPIRY_DAYS", "0")]).is_err());
        assert_eq!(
            config(&[("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS", "3")])
                .unwrap()
                .shutdown_grace
                .as_secs(),
            3
        );
        assert!(config(&[("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS", "-1")]).is_err());
        assert_eq!(
            config(&[("LABEL_STUDIO_LICENSE_SEATS", "10")])
                .unwrap()
                .license_seats,
            Some(10)
        );
    }
}
