//! Second factors and the organization's two-factor policy, as the pages and the REST API show
//! them (SPEC section 12).

use serde::{Deserialize, Serialize};

/// How many recovery codes a set has.
pub const RECOVERY_CODES: usize = 10;

/// The longest grace period an organization may give, in days.
pub const MAX_GRACE_DAYS: i64 = 365;

/// The caller's second factors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TwoFactorStatus {
    /// Whether signing in with a password asks for a second factor: the account has an
    /// authenticator app or a passkey.
    pub enabled: bool,
    /// Whether an authenticator app (TOTP) is set up and confirmed.
    pub authenticator_app: bool,
    /// Security keys and passkeys, oldest first.
    pub passkeys: Vec<PasskeyView>,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
    /// Whether the organization requires a second factor of its members.
    pub organization_requires: bool,
    /// When the organization requires one and the account has none: the end of the grace
    /// period, RFC 3339 in UTC (past once it is over).
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub required_by: Option<String>,
    /// Whether the app can offer passkeys here: they need the public address
    /// (`LABEL_STUDIO_HOST`), or the app opened on this computer.
    pub passkeys_available: bool,
}

/// A security key or passkey, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub added_at: String,
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub last_used_at: Option<String>,
}

/// A new authenticator-app secret, before a code confirms it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The secret in base32, in groups of four, to type into an app.
    pub secret: String,
    /// The `otpauth://` address the QR code holds.
    pub uri: String,
    /// The QR code, as an SVG document drawn by the server.
    pub qr_svg: String,
}

/// Recovery codes, shown once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// A WebAuthn challenge for the browser: the ceremony to send back with its answer, and the
/// options for `navigator.credentials` (base64url where the API takes bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    /// Sent back with the answer; good once, for 5 minutes.
    pub ceremony: String,
    /// `publicKey` of `navigator.credentials.create()` or `.get()`.
    #[serde(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

/// A passkey just added, and the recovery codes when it is the account's first second factor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyAdded {
    pub passkey: PasskeyView,
    /// Shown once; empty unless this passkey is the account's first second factor.
    pub recovery_codes: Vec<String>,
}

/// An organization's two-factor policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TwoFactorPolicy {
    /// Whether members must have a second factor.
    pub required: bool,
    /// Days a member has to add one, from when the requirement began (or from when they joined,
    /// if later). 0 to 365.
    pub grace_period_days: i64,
    /// Whether members signed in through single sign-on are exempt (their identity provider
    /// asks for its own second factor).
    pub sso_exempt: bool,
    /// When the requirement began, RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub required_since: Option<String>,
}

/// A change to the policy: the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TwoFactorPolicyChange {
    /// Whether members must have a second factor; turning it on starts the grace period.
    pub required: Option<bool>,
    /// Days a member has to add one: 0 to 365.
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 365))]
    pub grace_period_days: Option<i64>,
    /// Whether members signed in through single sign-on are exempt (the Owner's to change).
    pub sso_exempt: Option<bool>,
}

/// Reads a one-time code as people type it: digits, with spaces or dashes between groups.
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_without_spaces_dashes_or_case() {
        assert_eq!(normalize_code(" 123 456 "), "123456");
        assert_eq!(normalize_code("ABCDE-FGHIJ"), "abcdefghij");
    }
}
