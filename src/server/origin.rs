//! Where a request comes from and which address it reached.
//!
//! The client is the socket peer, or, when the peer is a proxy listed in
//! `LABEL_STUDIO_TRUSTED_PROXIES`, the last address in `X-Forwarded-For` that is not one of those
//! proxies. The public origin, which every link the app hands out starts with, is
//! `LABEL_STUDIO_HOST` when it is set; otherwise the request's `Host` (or a trusted proxy's
//! `X-Forwarded-Host` and `X-Forwarded-Proto`), and only if that host is allowed, as Django's
//! `ALLOWED_HOSTS`: so a forged `Host` never ends up in a link or an email.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, request::Parts, HeaderMap},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    config::Config,
    error::ApiError,
    host::{AllowedHost, HostPort},
    AppState,
};
use crate::domain::AppError;

/// Who sent a request and where they reached us; set on every request by [`check_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's address, for the abuse limits and the security log.
    pub client: IpAddr,
    /// `scheme://host[:port]`, as the browser reached us.
    pub public: String,
    /// Whether the browser reached us over HTTPS.
    pub https: bool,
    /// The request's `User-Agent`, cut to [`USER_AGENT_MAX`] characters (what a session shows).
    pub user_agent: String,
    /// Whether mailed links may start with `public` (see [`RequestOrigin::mail_origin`]).
    mailable: bool,
    /// The request's method and path (never its query), as the audit log records them.
    pub request: RequestLine,
}

/// A request's method and path (without the query string, which may carry secrets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestLine {
    pub method: String,
    pub path: String,
}

impl RequestLine {
    /// How much of a path is kept.
    const PATH_MAX: usize = 500;

    fn of(method: &axum::http::Method, uri: &axum::http::Uri) -> Self {
        Self {
            method: method.as_str().chars().take(16).collect(),
            path: uri.path().chars().take(Self::PATH_MAX).collect(),
        }
    }
}

/// Why a message with a link was not queued.
pub const NO_MAIL_ORIGIN: &str = "This server cannot mail links yet: it answers for any host, so it does not know its own address. The server administrator must set LABEL_STUDIO_HOST to the address people reach it at.";

/// How much of a `User-Agent` is kept.
pub const USER_AGENT_MAX: usize = 300;

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(USER_AGENT_MAX)
                .collect()
        })
        .unwrap_or_default()
}

impl RequestOrigin {
    /// The origin that links in mail start with: `LABEL_STUDIO_HOST`, or the request's host when
    /// an allowed-hosts entry names it. `None` when only a wildcard let the host in: anyone could
    /// have chosen it, and a link on it would carry the secret to them.
    pub fn mail_origin(&self) -> Option<&str> {
        self.mailable.then_some(self.public.as_str())
    }

    /// [`Self::mail_origin`], or the refusal that tells an administrator what to set (logged).
    pub fn for_mail(&self) -> Result<&str, AppError> {
        self.mail_origin().ok_or_else(|| {
            tracing::warn!(origin = %self.public, "a message with a link was refused: LABEL_STUDIO_HOST is not set and the host was allowed by a wildcard");
            AppError::Conflict(NO_MAIL_ORIGIN.into())
        })
    }

    /// The origin of a request whose host was checked by [`check_host`] (read from its
    /// extensions); worked out again if the request did not pass through it.
    pub fn of(state: &AppState, parts: &Parts) -> Result<Self, AppError> {
        match parts.extensions.get::<RequestOrigin>() {
            Some(origin) => Ok(origin.clone()),
            None => resolve(
                state,
                &parts.headers,
                peer(&parts.extensions),
                RequestLine::of(&parts.method, &parts.uri),
            ),
        }
    }
}

/// Refuses a request for a host the settings do not allow (400), and records its
/// [`RequestOrigin`] for everything behind it. `/health` answers whatever the host, for load
/// balancers that probe by address.
pub async fn check_host(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = peer(request.extensions());
    let line = RequestLine::of(request.method(), request.uri());
    match resolve(&state, request.headers(), peer, line) {
        Ok(origin) => {
            request.extensions_mut().insert(origin);
            next.run(request).await
        }
        Err(_) if request.uri().path() == "/health" => next.run(request).await,
        Err(refusal) => ApiError(refusal).into_response(),
    }
}

fn peer(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    peer: IpAddr,
    request: RequestLine,
) -> Result<RequestOrigin, AppError> {
    let config = &state.config;
    let from_proxy = is_trusted(config, peer);
    let forwarded = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|_| from_proxy)
    };
    let raw = forwarded("x-forwarded-host")
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let parsed = HostPort::parse(&raw);
    let allowed = parsed.as_ref().and_then(|h| state.allowed_hosts.allows(h));
    let (Some(host), Some(allowed)) = (parsed, allowed) else {
        let shown: String = raw.chars().take(100).collect();
        return Err(AppError::BadRequest(format!(
            "Unknown host {shown:?}: this server does not answer for it. If people reach it at this address, set LABEL_STUDIO_HOST or LABEL_STUDIO_ALLOWED_HOSTS."
        )));
    };
    let client = client_address(config, headers, peer);
    if let Some(public) = &config.public_url {
        return Ok(RequestOrigin {
            client,
            https: public.starts_with("https://"),
            public: public.clone(),
            user_agent: user_agent(headers),
            mailable: true,
            request,
        });
    }
    let https = forwarded("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    Ok(RequestOrigin {
        client,
        public: format!(
            "{}://{}",
            if https { "https" } else { "http" },
            host.authority()
        ),
        https,
        user_agent: user_agent(headers),
        mailable: allowed == Allowed::Named,
        request,
    })
}

fn is_trusted(config: &Config, ip: IpAddr) -> bool {
    config
        .trusted_proxies
        .iter()
        .any(|range| range.contains(ip))
}

/// The peer, or, behind trusted proxies, the address the outermost of them saw: the last
/// `X-Forwarded-For` hop that is not a trusted proxy itself.
fn client_address(config: &Config, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    if !is_trusted(config, peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(config, ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// How a host was let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// An entry names it: links may be built on it.
    Named,
    /// Only a wildcard (`*`, `.example.com`) lets it in: anyone may have chosen it, so no mailed
    /// link is built on it.
    ByWildcard,
}

/// The `Host` values the server answers for.
#[derive(Clone, Debug)]
pub struct AllowedHosts(Vec<AllowedHost>);

impl AllowedHosts {
    /// The host of `LABEL_STUDIO_HOST` and `LABEL_STUDIO_ALLOWED_HOSTS`; when neither is set, the
    /// loopback names and the address the server listens on. Entries that cannot be read (the
    /// configuration refuses them) are left out.
    pub fn from_config(config: &Config, listening: SocketAddr) -> Self {
        let mut hosts = config.allowed_hosts.clone();
        if let Some(public) = &config.public_url {
            let authority = public.split_once("://").map_or(public.as_str(), |(_, a)| a);
            hosts.push(authority.trim_end_matches('/').to_ascii_lowercase());
        }
        if hosts.is_empty() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
            hosts.push(match listening.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            });
        }
        Self(hosts.iter().filter_map(|h| AllowedHost::parse(h)).collect())
    }

    /// Whether `host` is one of them, and how.
    pub fn allows(&self, host: &HostPort) -> Option<Allowed> {
        let mut matching = self.0.iter().filter(|entry| entry.matches(host)).peekable();
        matching.peek()?;
        Some(if matching.any(|entry| !entry.is_wildcard()) {
            Allowed::Named
        } else {
            Allowed::ByWildcard
        })
    }

    /// Whether some host is let in by a wildcard only (then mail needs `LABEL_STUDIO_HOST`).
    pub fn has_wildcard(&self) -> bool {
        self.0.iter().any(AllowedHost::is_wildcard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::host::is_allowed_host_entry;

    fn allowed(config: Config) -> AllowedHosts {
        AllowedHosts::from_config(&config, "127.0.0.1:3000".parse().unwrap())
    }

    fn allows(hosts: &AllowedHosts, host: &str) -> Option<Allowed> {
        HostPort::parse(host).and_then(|h| hosts.allows(&h))
    }

    #[test]
    fn without_settings_loopback_names_and_the_listen_address_are_allowed() {
        let hosts = allowed(Config::default());
        for ok in [
            "localhost",
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]:3000",
            "127.0.0.1",
        ] {
            assert_eq!(allows(&hosts, ok), Some(Allowed::Named), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "",
            "127.0.0.1:x",
            "localhost:3000/x",
            "[::1]@evil.example",
            "[::1]@evil.example:8443",
            "[::1]evil.example",
            "[::1]/x",
            "127.0.0.1:99999",
        ] {
            assert_eq!(allows(&hosts, bad), None, "{bad}");
        }
        assert!(!hosts.has_wildcard());
    }

    #[test]
    fn the_public_host_and_the_allowed_list_replace_the_defaults() {
        let hosts = allowed(Config {
            public_url: Some("https://labels.example.com".into()),
            allowed_hosts: vec!["10.0.0.5:8080".into(), ".corp.example".into()],
            ..Config::default()
        });
        for ok in [
            "labels.example.com",
            "labels.example.com:443",
            "10.0.0.5:8080",
        ] {
            assert_eq!(allows(&hosts, ok), Some(Allowed::Named), "{ok}");
        }
        for wild in ["corp.example", "a.b.corp.example"] {
            assert_eq!(allows(&hosts, wild), Some(Allowed::ByWildcard), "{wild}");
        }
        for bad in [
            "localhost",
            "127.0.0.1:3000",
            "10.0.0.5:8081",
            "evilcorp.example",
            "example.com",
            "[::1]@labels.example.com",
        ] {
            assert_eq!(allows(&hosts, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_star_lets_every_well_formed_host_in_but_names_none_of_them() {
        let hosts = allowed(Config {
            allowed_hosts: vec!["*".into(), "labels.example.com".into()],
            ..Config::default()
        });
        assert!(hosts.has_wildcard());
        assert_eq!(allows(&hosts, "evil.example"), Some(Allowed::ByWildcard));
        assert_eq!(
            allows(&hosts, "labels.example.com:8443"),
            Some(Allowed::Named)
        );
        assert_eq!(allows(&hosts, "[::1]@evil.example"), None);
        for entry in [
            "*",
            ".corp.example",
            "labels.example.com",
            "10.0.0.5:8080",
            "[::1]",
        ] {
            assert!(is_allowed_host_entry(entry), "{entry}");
        }
        for entry in [
            "*.example.com",
            "http://x",
            "a b",
            "x:99999",
            "[::1]@x",
            ".",
            ".x:80",
        ] {
            assert!(!is_allowed_host_entry(entry), "{entry}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let config = Config {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..Config::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.0.0.3".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_address(&config, &headers, proxy),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(&config, &headers, stranger), stranger);
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_address(&config, &headers, proxy), proxy);
    }
}
