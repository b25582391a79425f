//! Members as the pages and the REST API show them.

use serde::{Deserialize, Serialize};

use super::{Paged, Role};

/// One row of the members table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberRow {
    pub user_id: i64,
    #[cfg_attr(feature = "ssr", schema(format = Email))]
    pub email: String,
    /// The address as people read it: an internationalized domain decoded, with the stored
    /// (punycode) form beside it in brackets (`ana@bücher.example (xn--bcher-kva.example)`);
    /// the same as `email` otherwise.
    pub email_display: String,
    /// First and last name; empty when not given.
    pub name: String,
    /// Empty when not given.
    pub first_name: String,
    /// Empty when not given.
    pub last_name: String,
    pub role: Role,
    /// When the member joined, RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub joined_at: String,
    /// When the member last used the app or the API (to the minute), RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub last_activity_at: Option<String>,
    /// Whether the member proved they own the address: by an email invitation, or by the link
    /// of the verification mail. Whoever holds the invite link can sign up with any address.
    pub email_verified: bool,
    /// Whether the organization's identity provider manages the member over SCIM: it may change
    /// their role (through their groups) or deactivate them again.
    #[serde(default)]
    pub scim_managed: bool,
    /// The identity provider's id of the member (SCIM `externalId`), when it gave one.
    #[serde(default)]
    pub scim_external_id: Option<String>,
    /// Whether the member has a second factor: an authenticator app, a security key or a passkey.
    #[serde(default)]
    pub two_factor: bool,
}

/// A page of members, counted and sorted by the database.
pub type MemberPage = Paged<MemberRow>;
