//! Personal access tokens and the organization's token and session settings (SPEC section 13),
//! as the Account and Organization pages and the REST API show them.

use serde::{Deserialize, Serialize};

/// A personal access token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = PersonalAccessToken))]
pub struct PersonalToken {
    /// The token's id (its `jti` claim).
    pub id: String,
    /// RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    /// RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub expires_at: String,
    /// When it last made an access token or authenticated a request (to the minute).
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub last_used_at: Option<String>,
}

/// A personal access token just made: its secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPersonalToken {
    /// The refresh token (a JWT).
    pub token: String,
    pub about: PersonalToken,
}

/// The organization's API token settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenSettings {
    /// Whether `Authorization: Token <api token>` is accepted.
    pub legacy_api_tokens_enabled: bool,
    /// Whether personal access tokens may be created and refreshed.
    pub api_tokens_enabled: bool,
    /// How many days a new personal access token lives (1 to 73000).
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 73000))]
    pub api_token_ttl_days: i64,
}

impl TokenSettings {
    pub const MAX_TTL_DAYS: i64 = 73_000;
}

/// The organization's session policy, in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionPolicy {
    /// How long a session lasts after sign-in, at most.
    pub max_session_age: i64,
    /// How long a session lasts without a request, at most.
    pub max_time_between_activity: i64,
}
