//! Settings, all from environment variables (documented in the README with their defaults).

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

/// The settings. Their `Debug` output (as logged or printed) hides the secrets: the server key,
/// the SMTP password and the database password.
#[derive(Clone)]
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
    /// `LABEL_STUDIO_AUDIT_RETENTION_DAYS`: audit entries older than this are pruned daily
    /// (`None` = kept forever).
    pub audit_retention_days: Option<i64>,
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
    /// `LABEL_STUDIO_ALLOWED_HOSTS`: the `Host` values (lowercase, port included when given)
    /// accepted besides the host of `LABEL_STUDIO_HOST`.
    pub allowed_hosts: Vec<String>,
    /// `LABEL_STUDIO_TRUSTED_PROXIES`: the proxies (addresses or ranges such as `10.0.0.0/8`)
    /// whose `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` are believed.
    pub trusted_proxies: Vec<IpRange>,
    /// `LABEL_STUDIO_LOGIN_MAX_FAILURES`: failed logins for one email within the lockout window
    /// before further attempts are refused.
    pub login_max_failures: i64,
    /// Failed logins from one client address within the window before it is refused.
    pub login_max_failures_per_client: i64,
    /// `LABEL_STUDIO_LOGIN_LOCKOUT_MINUTES`: the window of the two limits above.
    pub login_lockout: Duration,
    /// `LABEL_STUDIO_SIGNUPS_PER_HOUR`: signups, password-reset requests and verification resends
    /// accepted from one client address in an hour.
    pub signups_per_hour: i64,
    /// How long a password-reset link works (an hour; tests shorten it).
    pub password_reset_lifetime: Duration,
    /// How long an email-verification link works (a day; tests shorten it).
    pub email_verification_lifetime: Duration,
    /// `LABEL_STUDIO_NOTIFY_PENDING`: whether the Owner and Administrators are mailed when people
    /// join through the invite link and wait for a role.
    pub notify_pending: bool,
    /// The shortest time between two such mails to one organization (an hour; tests shorten it).
    pub pending_notice_interval: Duration,
    /// `LABEL_STUDIO_INVITES_PER_DAY`: email invitations one organization may send in a rolling day.
    pub invites_per_day: i64,
    /// Shortest time between two messages with a link to one address: re-sends of an invitation,
    /// and password reset mails (a live reset link is not replaced sooner).
    pub resend_cooldown: Duration,
    /// Password hashes computed at once (default: the machine's cores).
    pub hash_concurrency: usize,
    /// Password hashes that may wait for a turn; beyond them a request is answered 503 at once.
    /// A signup waits only behind as many as run at once (see `HashBudget::has_room_soon`).
    pub hash_queue: usize,
    /// `LABEL_STUDIO_MAX_CONNECTIONS`: open connections the server accepts at once.
    pub max_connections: usize,
    /// `LABEL_STUDIO_SESSION_IDLE_HOURS`: a session ends after this long without a request.
    pub session_idle: Duration,
    /// `LABEL_STUDIO_SESSION_MAX_DAYS`: a session ends this long after sign-in in any case.
    pub session_max_age: Duration,
    /// How long a client may take to send a request's headers (and, on a kept-alive connection,
    /// to start the next request) before the connection is closed.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body, counted from its headers; then 408.
    pub body_timeout: Duration,
    /// How long the server may take to answer a request, counted from its headers; then 503
    /// (or 408 when the body is what did not arrive).
    pub request_timeout: Duration,
}

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpRange {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (address, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| ())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(())?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
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

#[derive(Clone)]
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

/// What `Debug` shows in place of a secret.
const REDACTED: &str = "***";

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field is named here, so that a new one cannot be shown without a decision.
        let Config {
            database_url,
            site_addr,
            site_root,
            data_dir,
            disable_signup_without_link,
            license_seats,
            invite_expiry_days,
            audit_retention_days,
            secret_key,
            public_url,
            smtp,
            mail_transport,
            email_from,
            mail_retry_base_seconds,
            mail_poll_interval,
            shutdown_grace,
            allowed_hosts,
            trusted_proxies,
            login_max_failures,
            login_max_failures_per_client,
            login_lockout,
            signups_per_hour,
            invites_per_day,
            resend_cooldown,
            hash_concurrency,
            hash_queue,
            max_connections,
            session_idle,
            session_max_age,
            header_timeout,
            body_timeout,
            request_timeout,
            password_reset_lifetime,
            email_verification_lifetime,
            notify_pending,
            pending_notice_interval,
        } = self;
        f.debug_struct("Config")
            .field("database_url", &redact_url(database_url))
            .field("site_addr", site_addr)
            .field("site_root", site_root)
            .field("data_dir", data_dir)
            .field("disable_signup_without_link", disable_signup_without_link)
            .field("license_seats", license_seats)
            .field("invite_expiry_days", invite_expiry_days)
            .field("audit_retention_days", audit_retention_days)
            .field("secret_key", &secret_key.as_ref().map(|_| REDACTED))
            .field("public_url", public_url)
            .field("smtp", smtp)
            .field("mail_transport", mail_transport)
            .field("email_from", email_from)
            .field("mail_retry_base_seconds", mail_retry_base_seconds)
            .field("mail_poll_interval", mail_poll_interval)
            .field("shutdown_grace", shutdown_grace)
            .field("allowed_hosts", allowed_hosts)
            .field("trusted_proxies", trusted_proxies)
            .field("login_max_failures", login_max_failures)
            .field(
                "login_max_failures_per_client",
                login_max_failures_per_client,
            )
            .field("login_lockout", login_lockout)
            .field("signups_per_hour", signups_per_hour)
            .field("invites_per_day", invites_per_day)
            .field("resend_cooldown", resend_cooldown)
            .field("hash_concurrency", hash_concurrency)
            .field("hash_queue", hash_queue)
            .field("max_connections", max_connections)
            .field("session_idle", session_idle)
            .field("session_max_age", session_max_age)
            .field("header_timeout", header_timeout)
            .field("body_timeout", body_timeout)
            .field("request_timeout", request_timeout)
            .field("password_reset_lifetime", password_reset_lifetime)
            .field("email_verification_lifetime", email_verification_lifetime)
            .field("notify_pending", notify_pending)
            .field("pending_notice_interval", pending_notice_interval)
            .finish()
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SmtpConfig {
            host,
            port,
            credentials,
            tls,
        } = self;
        f.debug_struct("SmtpConfig")
            .field("host", host)
            .field("port", port)
            .field(
                "credentials",
                &credentials.as_ref().map(|(user, _)| (user, REDACTED)),
            )
            .field("tls", tls)
            .finish()
    }
}

/// A database URL without its password (`postgres://app:***@db/labels`), for messages and logs:
/// the password is hidden where it is the user's (`user:password@`) and where it is a parameter
/// (`?password=...`).
pub fn redact_url(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    // The last `@` ends the user's part, even when an unescaped one is in the password.
    let at = url.rfind('@').filter(|at| *at >= authority);
    let query = {
        let from = at.unwrap_or(authority);
        url[from..].find('?').map(|i| from + i)
    };
    let address = &url[..query.unwrap_or(url.len())];
    let mut redacted = match at.and_then(|at| url[authority..at].find(':').map(|c| (at, c))) {
        Some((at, colon)) => format!(
            "{}{REDACTED}{}",
            &url[..authority + colon + 1],
            &address[at..]
        ),
        None => address.to_owned(),
    };
    if let Some(query) = query {
        let parameters: Vec<String> = url[query + 1..]
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    format!("{name}={REDACTED}")
                }
                _ => parameter.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&parameters.join("&"));
    }
    redacted
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
            audit_retention_days: None,
            secret_key: None,
            public_url: None,
            smtp: None,
            mail_transport: MailTransport::Settings,
            email_from: "Gatehouse <noreply@localhost>".into(),
            mail_retry_base_seconds: 5,
            mail_poll_interval: std::time::Duration::from_secs(5),
            shutdown_grace: std::time::Duration::from_secs(10),
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            login_max_failures: 5,
            login_max_failures_per_client: 50,
            login_lockout: Duration::from_secs(15 * 60),
            signups_per_hour: 20,
            password_reset_lifetime: Duration::from_secs(60 * 60),
            email_verification_lifetime: Duration::from_secs(24 * 60 * 60),
            notify_pending: true,
            pending_notice_interval: Duration::from_secs(60 * 60),
            invites_per_day: 5000,
            resend_cooldown: Duration::from_secs(60),
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_queue: 64,
            max_connections: 10_000,
            session_idle: Duration::from_secs(12 * 60 * 60),
            session_max_age: Duration::from_secs(14 * 24 * 60 * 60),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
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
        if let Some(v) = get("LABEL_STUDIO_NOTIFY_PENDING") {
            c.notify_pending = parse_bool("LABEL_STUDIO_NOTIFY_PENDING", &v)?;
        }
        if let Some(v) = get("LABEL_STUDIO_LICENSE_SEATS") {
            c.license_seats = Some(parse_count("LABEL_STUDIO_LICENSE_SEATS", &v, 0)?);
        }
        if let Some(v) = get("LABEL_STUDIO_INVITE_EXPIRY_DAYS") {
            c.invite_expiry_days = parse_count("LABEL_STUDIO_INVITE_EXPIRY_DAYS", &v, 1)?;
        }
        if let Some(v) = get("LABEL_STUDIO_AUDIT_RETENTION_DAYS") {
            c.audit_retention_days = Some(parse_count("LABEL_STUDIO_AUDIT_RETENTION_DAYS", &v, 1)?);
        }
        if let Some(v) = get("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS") {
            let seconds = parse_count("LABEL_STUDIO_SHUTDOWN_GRACE_SECONDS", &v, 0)?;
            c.shutdown_grace = std::time::Duration::from_secs(seconds.unsigned_abs());
        }
        if let Some(v) = get("LABEL_STUDIO_ALLOWED_HOSTS") {
            c.allowed_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .map(|h| {
                    if super::host::is_allowed_host_entry(&h) {
                        Ok(h)
                    } else {
                        Err(format!("LABEL_STUDIO_ALLOWED_HOSTS must list hosts (labels.example.com, 10.0.0.5:8080, [::1]), domains with their subdomains (.example.com) or *, separated by commas; {h:?} is none of these"))
                    }
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("LABEL_STUDIO_TRUSTED_PROXIES") {
            c.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse().map_err(|()| {
                        format!("LABEL_STUDIO_TRUSTED_PROXIES must list addresses or ranges such as 10.0.0.0/8, separated by commas; {p:?} is neither")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("LABEL_STUDIO_LOGIN_MAX_FAILURES") {
            c.login_max_failures = parse_count("LABEL_STUDIO_LOGIN_MAX_FAILURES", &v, 1)?;
        }
        if let Some(v) = get("LABEL_STUDIO_LOGIN_LOCKOUT_MINUTES") {
            let minutes = parse_count("LABEL_STUDIO_LOGIN_LOCKOUT_MINUTES", &v, 1)?;
            c.login_lockout = Duration::from_secs(minutes.unsigned_abs() * 60);
        }
        if let Some(v) = get("LABEL_STUDIO_SIGNUPS_PER_HOUR") {
            c.signups_per_hour = parse_count("LABEL_STUDIO_SIGNUPS_PER_HOUR", &v, 1)?;
        }
        if let Some(v) = get("LABEL_STUDIO_INVITES_PER_DAY") {
            c.invites_per_day = parse_count("LABEL_STUDIO_INVITES_PER_DAY", &v, 1)?;
        }
        if let Some(v) = get("LABEL_STUDIO_MAX_CONNECTIONS") {
            let n = parse_count("LABEL_STUDIO_MAX_CONNECTIONS", &v, 1)?;
            c.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(v) = get("LABEL_STUDIO_SESSION_IDLE_HOURS") {
            let hours = parse_count("LABEL_STUDIO_SESSION_IDLE_HOURS", &v, 1)?;
            c.session_idle = Duration::from_secs(hours.unsigned_abs() * 60 * 60);
        }
        if let Some(v) = get("LABEL_STUDIO_SESSION_MAX_DAYS") {
            let days = parse_count("LABEL_STUDIO_SESSION_MAX_DAYS", &v, 1)?;
            c.session_max_age = Duration::from_secs(days.unsigned_abs() * 24 * 60 * 60);
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
        assert_eq!(c.audit_retention_days, None);
        assert_eq!(c.login_max_failures, 5);
        assert_eq!(c.login_lockout.as_secs(), 15 * 60);
        assert_eq!(c.session_idle.as_secs(), 12 * 60 * 60);
        assert_eq!(c.session_max_age.as_secs(), 14 * 24 * 60 * 60);
        assert!(c.trusted_proxies.is_empty() && c.allowed_hosts.is_empty());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = config(&[(
            "LABEL_STUDIO_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.1.7,fd00::/8",
        )])
        .unwrap();
        let trusted = |ip: &str| {
            c.trusted_proxies
                .iter()
                .any(|r| r.contains(ip.parse().unwrap()))
        };
        assert!(trusted("10.200.3.4") && trusted("192.168.1.7") && trusted("fd12::1"));
        assert!(
            trusted("::ffff:10.1.1.1"),
            "IPv4 peers seen through an IPv6 socket"
        );
        assert!(!trusted("192.168.1.8") && !trusted("11.0.0.1") && !trusted("fe80::1"));
        let err = config(&[("LABEL_STUDIO_TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert!(err.contains("LABEL_STUDIO_TRUSTED_PROXIES") && err.contains("10.0.0.0/33"));
    }

    #[test]
    fn allowed_hosts_are_a_lowercase_comma_list() {
        let c = config(&[(
            "LABEL_STUDIO_ALLOWED_HOSTS",
            "Labels.Example.com, ,10.0.0.5:8080",
        )])
        .unwrap();
        assert_eq!(c.allowed_hosts, ["labels.example.com", "10.0.0.5:8080"]);
        for bad in [
            "http://labels.example.com",
            "labels.example.com/",
            "*.example.com",
            "x:99999",
        ] {
            let err = config(&[("LABEL_STUDIO_ALLOWED_HOSTS", bad)]).unwrap_err();
            assert!(
                err.contains("LABEL_STUDIO_ALLOWED_HOSTS") && err.contains(bad),
                "{err}"
            );
        }
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
    fn debug_output_hides_the_key_and_the_passwords() {
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://app:db-secret@db.internal:5432/labels",
            ),
            (
                "LABEL_STUDIO_SECRET_KEY",
                "key-secret-key-secret-key-secret-42",
            ),
            ("LABEL_STUDIO_SMTP_HOST", "smtp.example.com"),
            ("LABEL_STUDIO_SMTP_USER", "mailer"),
            ("LABEL_STUDIO_SMTP_PASSWORD", "smtp-secret"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        for secret in ["db-secret", "key-secret", "smtp-secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/labels"),
            "{shown}"
        );
        assert!(shown.contains("secret_key: Some(\"***\")"), "{shown}");
        assert!(
            shown.contains("credentials: Some((\"mailer\", \"***\"))"),
            "{shown}"
        );
        assert!(
            shown.contains("smtp.example.com") && shown.contains("site_addr"),
            "{shown}"
        );
        assert!(format!("{:?}", config(&[]).unwrap()).contains("secret_key: None"));
    }

    #[test]
    fn database_urls_lose_their_password_wherever_it_is() {
        for (url, shown) in [
            (
                "postgres://app:pw@db/labels",
                "postgres://app:***@db/labels",
            ),
            (
                "postgres://app:p@ss@db/labels",
                "postgres://app:***@db/labels",
            ),
            (
                "postgres://app:p?ss@db/labels",
                "postgres://app:***@db/labels",
            ),
            ("postgres://app@db/labels", "postgres://app@db/labels"),
            (
                "postgres://db/labels?user=app&password=pw&sslmode=require",
                "postgres://db/labels?user=app&password=***&sslmode=require",
            ),
            (
                "postgresql://app:pw@db/labels?PASSWORD=pw",
                "postgresql://app:***@db/labels?PASSWORD=***",
            ),
            (
                "sqlite://data/gatehouse.db?mode=rwc",
                "sqlite://data/gatehouse.db?mode=rwc",
            ),
        ] {
            assert_eq!(redact_url(url), shown);
        }
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
