//! Single sign-on (SPEC section 10): the settings as the SSO page and the REST API show them, and
//! the one rule that decides a member's role from their groups at the identity provider (used by
//! every SSO sign-in, and by provisioning).

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{AppError, Role};

/// The roles a group can be mapped to, most elevated first: the Owner is never mapped, and a
/// person in no mapped group is deactivated rather than mapped to it.
pub const MAPPABLE_ROLES: [Role; 4] = [
    Role::Administrator,
    Role::Manager,
    Role::Reviewer,
    Role::Annotator,
];

/// A role in a mapping, written as Label Studio writes it (`"Administrator"`); read from that, its
/// upper-case name or its code, without regard to case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedRole(Role);

impl MappedRole {
    pub fn new(role: Role) -> Result<Self, AppError> {
        if MAPPABLE_ROLES.contains(&role) {
            Ok(Self(role))
        } else {
            Err(AppError::invalid(
                "roles_groups",
                format!(
                    "{} cannot be given by a group: map groups to Administrator, Manager, Reviewer or Annotator.",
                    role.label()
                ),
            ))
        }
    }

    pub fn role(self) -> Role {
        self.0
    }
}

impl fmt::Display for MappedRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.label())
    }
}

impl Serialize for MappedRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.label())
    }
}

impl<'de> Deserialize<'de> for MappedRole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse::<Role>()
            .and_then(Self::new)
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// Members of `group` (its name at the identity provider, case-sensitive) get `role`: on the wire
/// `["Administrator", "label-admins"]`, as Label Studio Enterprise writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGroup(pub MappedRole, pub String);

impl RoleGroup {
    pub fn role(&self) -> Role {
        self.0.role()
    }

    pub fn group(&self) -> &str {
        &self.1
    }
}

/// How many mappings an organization may keep.
pub const MAX_ROLE_GROUPS: usize = 200;

/// Checks a list of mappings as the settings take it: group names present and at most 256
/// characters, no group mapped twice.
pub fn check_role_groups(mappings: &[RoleGroup]) -> Result<(), AppError> {
    let invalid = |message: String| AppError::invalid("roles_groups", message);
    if mappings.len() > MAX_ROLE_GROUPS {
        return Err(invalid(format!(
            "At most {MAX_ROLE_GROUPS} groups can be mapped."
        )));
    }
    for (i, mapping) in mappings.iter().enumerate() {
        let group = mapping.group();
        if group.trim().is_empty() {
            return Err(invalid(format!(
                "Mapping {} has no group name: write the group's name as the identity provider sends it.",
                i + 1
            )));
        }
        if group.chars().count() > 256 || group.chars().any(char::is_control) {
            return Err(invalid(format!(
                "The group name of mapping {} is not a group name (at most 256 characters, no control characters).",
                i + 1
            )));
        }
        if mappings[..i].iter().any(|m| m.group() == group) {
            return Err(invalid(format!(
                "The group \"{group}\" is mapped twice: keep one role for it."
            )));
        }
    }
    Ok(())
}

/// What a sign-in's groups decide for a member's role (Label Studio Enterprise's rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// The role the member should have now.
    Role(Role),
    /// Their role stays as it is.
    Keep,
}

/// The role the groups give: the most elevated role among the mapped groups the person is in. In
/// no mapped group: Deactivated when there are mappings, else the default role for a new account
/// (an existing member keeps theirs). The Owner's role is never changed, and with
/// `manual_role_management` the groups decide only when the account is made. `current` is the
/// member's role, `None` for a new member.
pub fn role_from_groups(
    mappings: &[RoleGroup],
    groups: &[String],
    current: Option<Role>,
    manual_role_management: bool,
    default_role: Role,
) -> Mapped {
    match current {
        Some(Role::Owner) => return Mapped::Keep,
        Some(_) if manual_role_management => return Mapped::Keep,
        _ => {}
    }
    let best = MAPPABLE_ROLES.into_iter().find(|role| {
        mappings
            .iter()
            .any(|m| m.role() == *role && groups.iter().any(|g| g == m.group()))
    });
    match (best, current) {
        (Some(role), _) => Mapped::Role(role),
        (None, _) if !mappings.is_empty() => Mapped::Role(Role::Deactivated),
        (None, None) => Mapped::Role(default_role),
        (None, Some(_)) => Mapped::Keep,
    }
}

/// Which protocol an organization's identity provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Saml,
    Oidc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Saml => "saml",
            Protocol::Oidc => "oidc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Protocol::Saml => "SAML",
            Protocol::Oidc => "OpenID Connect",
        }
    }
}

/// An organization's OpenID Connect settings as they are shown: the client secret never is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    /// The issuer: its `/.well-known/openid-configuration` describes the provider.
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub client_secret_set: bool,
    /// The scopes asked for, separated by spaces (`openid` is always asked for).
    pub scopes: String,
    /// The email domains whose people sign in here, separated by commas.
    pub domain: String,
    /// The claims that carry the address, the names and the groups.
    pub mapping_email: String,
    pub mapping_first_name: String,
    pub mapping_last_name: String,
    pub mapping_groups: String,
    pub roles_groups: Vec<RoleGroup>,
    pub manual_role_management: bool,
    /// The role of a new account when no group is mapped.
    pub default_role: Role,
    pub link_existing_by_email: bool,
    pub sso_required: bool,
    /// What to register at the provider: the redirect (callback) address.
    pub redirect_url: String,
    /// Where a sign-in through this provider starts.
    pub login_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mappings() -> Vec<RoleGroup> {
        serde_json::from_str(
            r#"[["Annotator","staff"],["ADMINISTRATOR","label-admins"],["re","reviewers"]]"#,
        )
        .unwrap()
    }

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_most_elevated_mapped_group_wins() {
        let m = mappings();
        let g = groups(&["staff", "reviewers", "unrelated"]);
        assert_eq!(
            role_from_groups(&m, &g, None, false, Role::NotActivated),
            Mapped::Role(Role::Reviewer)
        );
        let g = groups(&["staff", "label-admins"]);
        assert_eq!(
            role_from_groups(&m, &g, Some(Role::Annotator), false, Role::NotActivated),
            Mapped::Role(Role::Administrator)
        );
    }

    #[test]
    fn group_names_are_case_sensitive() {
        let m = mappings();
        assert_eq!(
            role_from_groups(&m, &groups(&["Label-Admins"]), None, false, Role::Annotator),
            Mapped::Role(Role::Deactivated)
        );
    }

    #[test]
    fn no_mapped_group_deactivates_when_mappings_exist_else_gives_the_default_to_new_accounts() {
        let m = mappings();
        assert_eq!(
            role_from_groups(&m, &[], Some(Role::Manager), false, Role::Annotator),
            Mapped::Role(Role::Deactivated)
        );
        assert_eq!(
            role_from_groups(&[], &[], None, false, Role::Annotator),
            Mapped::Role(Role::Annotator)
        );
        assert_eq!(
            role_from_groups(&[], &[], Some(Role::Manager), false, Role::Annotator),
            Mapped::Keep
        );
    }

    #[test]
    fn the_owner_is_never_changed_and_manual_management_maps_only_new_accounts() {
        let m = mappings();
        assert_eq!(
            role_from_groups(&m, &[], Some(Role::Owner), false, Role::Annotator),
            Mapped::Keep
        );
        assert_eq!(
            role_from_groups(
                &m,
                &groups(&["staff"]),
                Some(Role::Manager),
                true,
                Role::Annotator
            ),
            Mapped::Keep
        );
        assert_eq!(
            role_from_groups(&m, &groups(&["staff"]), None, true, Role::NotActivated),
            Mapped::Role(Role::Annotator)
        );
    }

    #[test]
    fn mappings_are_written_as_label_studio_writes_them_and_refuse_the_owner() {
        let m = mappings();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"[["Annotator","staff"],["Administrator","label-admins"],["Reviewer","reviewers"]]"#
        );
        for bad in [
            r#"[["OWNER","x"]]"#,
            r#"[["Owner","x"]]"#,
            r#"[["DEACTIVATED","x"]]"#,
            r#"[["superuser","x"]]"#,
            r#"[["Annotator"]]"#,
        ] {
            assert!(
                serde_json::from_str::<Vec<RoleGroup>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_group_mapped_twice_or_unnamed_is_refused() {
        let twice: Vec<RoleGroup> =
            serde_json::from_str(r#"[["Annotator","a"],["Manager","a"]]"#).unwrap();
        assert!(check_role_groups(&twice).is_err());
        let unnamed: Vec<RoleGroup> = serde_json::from_str(r#"[["Annotator"," "]]"#).unwrap();
        assert!(check_role_groups(&unnamed).is_err());
        assert!(check_role_groups(&mappings()).is_ok());
    }
}

/// Why a single sign-on did not sign someone in: what the failure page says (and the log and the
/// audit entry record, with the cause).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoProblem {
    /// The organization has no settings for this protocol (any more).
    NotConfigured,
    /// No organization signs in the address's domain through single sign-on.
    UnknownDomain,
    /// The identity provider answered with an error, or refused the code.
    ProviderRefused,
    /// The identity provider could not be reached in time.
    ProviderUnreachable,
    /// The sign-in was not started here, took too long, or came back twice.
    Expired,
    /// The sign-in came back to another browser than the one that started it.
    OtherBrowser,
    /// The identity provider's answer failed a check (signature, issuer, audience, time, nonce).
    InvalidAnswer,
    /// The identity provider gave no address, or one not verified.
    NoVerifiedEmail,
    /// An account with the address exists and may not be linked from here.
    AccountExists,
    /// The account belongs to another organization.
    OtherOrganization,
    /// The member is deactivated (by an administrator, or by their groups).
    Deactivated,
    /// Linking from the Account page: the provider gave another address than the account's.
    OtherAddress,
}

impl SsoProblem {
    pub const ALL: [Self; 12] = [
        Self::NotConfigured,
        Self::UnknownDomain,
        Self::ProviderRefused,
        Self::ProviderUnreachable,
        Self::Expired,
        Self::OtherBrowser,
        Self::InvalidAnswer,
        Self::NoVerifiedEmail,
        Self::AccountExists,
        Self::OtherOrganization,
        Self::Deactivated,
        Self::OtherAddress,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::UnknownDomain => "unknown_domain",
            Self::ProviderRefused => "provider_refused",
            Self::ProviderUnreachable => "provider_unreachable",
            Self::Expired => "expired",
            Self::OtherBrowser => "other_browser",
            Self::InvalidAnswer => "invalid_answer",
            Self::NoVerifiedEmail => "no_verified_email",
            Self::AccountExists => "account_exists",
            Self::OtherOrganization => "other_organization",
            Self::Deactivated => "deactivated",
            Self::OtherAddress => "other_address",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// What the failure page tells the person: what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            Self::NotConfigured => "Single sign-on is not set up for this organization. Sign in with your password, or ask its Owner to set up single sign-on.",
            Self::UnknownDomain => "No organization signs in addresses of this domain through single sign-on. Sign in with your password instead.",
            Self::ProviderRefused => "Your identity provider did not sign you in. Try again; if it keeps happening, give your administrator the reference below.",
            Self::ProviderUnreachable => "Your identity provider could not be reached. Try again in a few minutes; if it keeps happening, give your administrator the reference below.",
            Self::Expired => "This sign-in link has expired or was already used. Start again from the sign-in page.",
            Self::OtherBrowser => "This sign-in was started in another browser. Start again from the sign-in page, in this browser.",
            Self::InvalidAnswer => "The answer of your identity provider failed a security check, so nobody was signed in. Give your administrator the reference below.",
            Self::NoVerifiedEmail => "Your identity provider did not give a verified email address, which signing in needs. Ask your administrator to check the settings of this application there.",
            Self::AccountExists => "An account with this address already exists. Sign in with your password, then link single sign-on from your Account page.",
            Self::OtherOrganization => "Your account belongs to another organization, so it cannot sign in through this one's identity provider. Sign in with your password.",
            Self::Deactivated => "Your account in this organization is deactivated. Ask its Owner or an Administrator to restore it (or, when roles follow your groups, to add you to a group that gives one).",
            Self::OtherAddress => "Your identity provider signed you in with another address than this account's, so nothing was linked. Sign in there as yourself and try again.",
        }
    }
}

/// The SAML settings as shown (Label Studio Enterprise's fields, and the addresses to give the
/// identity provider).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSettings {
    pub metadata_xml: String,
    pub metadata_url: String,
    /// The IdP's entity id, as its metadata names it (empty before any).
    pub idp_entity_id: String,
    pub domain: String,
    pub mapping_email: String,
    pub mapping_first_name: String,
    pub mapping_last_name: String,
    pub mapping_groups: String,
    pub roles_groups: Vec<RoleGroup>,
    pub manual_role_management: bool,
    pub default_role: Role,
    pub link_existing_by_email: bool,
    pub sso_required: bool,
    pub allow_idp_initiated: bool,
    /// Where the IdP posts its responses.
    pub acs_url: String,
    /// Where a sign-in starts.
    pub login_url: String,
    /// Our metadata (and entity id).
    pub metadata_xml_url: String,
    /// The organization's key in these addresses.
    pub token: String,
}

/// A single sign-on identity linked to the signed-in account, as the Account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    pub id: i64,
    pub protocol: Protocol,
    /// The provider: its issuer (OIDC) or entity id (SAML).
    pub issuer: String,
    /// The address the provider gave the last time.
    pub email: String,
    /// RFC 3339 in UTC.
    pub linked_at: String,
    pub last_sign_in_at: Option<String>,
}

/// The account's identities, whether it has a password (without one, the last identity cannot be
/// unlinked), and where linking one starts, when the organization has a provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoIdentities {
    pub identities: Vec<IdentityView>,
    pub has_password: bool,
    pub link_url: Option<String>,
}

/// The organization's SCIM provisioning as the single sign-on page shows it: where the identity
/// provider sends its requests, whether a token is live (never the token itself), and SCIM's own
/// group → role mappings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScimOverview {
    /// The SCIM base address to give the identity provider.
    pub base_url: String,
    /// When the live token was made (RFC 3339), if there is one.
    pub token_created_at: Option<String>,
    /// When the identity provider last used it.
    pub token_last_used_at: Option<String>,
    /// SCIM's group → role mappings, `[["Administrator", "label-admins"], …]`.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub roles_groups: Vec<RoleGroup>,
}
