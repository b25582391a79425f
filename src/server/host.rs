//! Host names as the `Host` header and the allowed-hosts setting give them, read strictly.

use std::net::Ipv4Addr;

/// A `Host` value read strictly: a DNS name or an IPv4 address, or an IPv6 address in brackets,
/// then nothing or `:` and a port from 1 to 65535. Links are built from these parts, never from
/// the raw header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// Lowercase; an IPv6 address in its canonical form, in brackets.
    name: String,
    port: Option<u16>,
}

impl HostPort {
    /// Reads `value`, or `None` when it is anything but a well-formed host (with a port or not).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.to_ascii_lowercase();
        let (name, port) = if let Some(rest) = value.strip_prefix('[') {
            let (address, after) = rest.split_once(']')?;
            let address: std::net::Ipv6Addr = address.parse().ok()?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            (format!("[{address}]"), port)
        } else {
            let (name, port) = match value.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (value.as_str(), None),
            };
            (dns_name_or_ipv4(name)?, port)
        };
        let port = match port {
            None => None,
            Some(p) if (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().ok().filter(|&p| p != 0)?)
            }
            Some(_) => return None,
        };
        Some(Self { name, port })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name[:port]`, as a URL's authority.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A DNS name (labels of letters, digits and inner hyphens, at most 63 bytes each and 253 in all)
/// or a dotted IPv4 address. A name whose last label is a number must be a valid IPv4 address
/// (browsers read `0x7f.1` or `127.1` as addresses).
fn dns_name_or_ipv4(name: &str) -> Option<String> {
    if name.parse::<Ipv4Addr>().is_ok() {
        return Some(name.to_owned());
    }
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let labels_ok = name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    (labels_ok && !numeric).then(|| name.to_owned())
}

/// An entry of the allowed hosts (`LABEL_STUDIO_ALLOWED_HOSTS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHost {
    /// `*`: any host.
    Any,
    /// `.example.com`: the domain and its subdomains.
    Domain(String),
    /// A name without a port: that name on every port.
    Name(String),
    /// A name with a port.
    Exact(HostPort),
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Option<Self> {
        if entry == "*" {
            return Some(Self::Any);
        }
        if let Some(domain) = entry.strip_prefix('.') {
            let domain = HostPort::parse(domain).filter(|d| d.port.is_none())?;
            return Some(Self::Domain(domain.name));
        }
        let host = HostPort::parse(entry)?;
        Some(match host.port {
            None => Self::Name(host.name),
            Some(_) => Self::Exact(host),
        })
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self, Self::Any | Self::Domain(_))
    }

    /// Whether `host` is let in by this entry.
    pub fn matches(&self, host: &HostPort) -> bool {
        match self {
            Self::Any => true,
            Self::Domain(domain) => {
                host.name == *domain
                    || host
                        .name
                        .strip_suffix(domain.as_str())
                        .is_some_and(|sub| sub.ends_with('.'))
            }
            Self::Name(name) => host.name == *name,
            Self::Exact(exact) => host == exact,
        }
    }
}

/// Whether an entry of `LABEL_STUDIO_ALLOWED_HOSTS` can be read: `*`, `.domain`, or a host with
/// or without a port.
pub fn is_allowed_host_entry(entry: &str) -> bool {
    AllowedHost::parse(entry).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_a_name_or_an_address_then_maybe_a_port_in_range() {
        for (value, authority) in [
            ("localhost", "localhost"),
            ("LocalHost:3000", "localhost:3000"),
            ("127.0.0.1:65535", "127.0.0.1:65535"),
            ("[::1]", "[::1]"),
            ("[0:0:0:0:0:0:0:1]:8080", "[::1]:8080"),
            ("labels.example.com", "labels.example.com"),
            ("xn--bcher-kva.example:443", "xn--bcher-kva.example:443"),
        ] {
            assert_eq!(
                HostPort::parse(value).map(|h| h.authority()).as_deref(),
                Some(authority),
                "{value}"
            );
        }
        for bad in [
            "[::1]@evil.example",
            "[::1]@evil.example:8443",
            "[::1]evil.example",
            "[::1]/x",
            "[::1]:",
            "[::1]:0",
            "[::1]:99999",
            "[evil.example]",
            "[::1",
            "::1",
            "127.0.0.1:99999",
            "127.0.0.1:65536",
            "127.0.0.1:0",
            "127.0.0.1:",
            "127.0.0.1:x",
            "127.0.0.1:80:80",
            "127.0.0.1:+80",
            "127.0.0.1:123456",
            "localhost:3000/x",
            "localhost@evil.example",
            "user@localhost",
            "localhost/",
            "localhost.",
            ".localhost",
            "local_host",
            "-localhost",
            "localhost-",
            "127.1",
            "999.0.0.1",
            "0x7f.1",
            "évil.example",
            "evil.example\\x",
            " localhost",
            "",
        ] {
            assert_eq!(HostPort::parse(bad), None, "{bad}");
        }
    }
}
