//! The audit log as the API and the Activity page show it: the actions it records (stable dotted
//! names) and each entry as one readable line.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::{AppError, Paged, Role};

/// What an entry records. `as_str` is the stable dotted name stored, filtered on and exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    OrganizationCreated,
    OrganizationRenamed,
    InviteLinkReset,
    InvitationSent,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    MemberJoined,
    MemberRoleChanged,
    MemberDeactivated,
    MemberRestored,
    MemberRemoved,
    OwnershipTransferred,
    SeatsChanged,
    PasswordResetRequested,
    PasswordResetCompleted,
    PasswordChanged,
    ApiTokenReset,
    ApiTokenCreated,
    ApiTokenRotated,
    ApiTokenRevoked,
    TokenSettingsChanged,
    SessionPolicyChanged,
    NameChanged,
    SessionEnded,
    SignedOut,
    SignInSucceeded,
    SignInFailed,
    SignInLockedOut,
    EmailVerificationSent,
    EmailVerified,
    EmailVerificationDisowned,
    SsoSettingsChanged,
    SsoSignedIn,
    SsoSignInFailed,
    SsoAccountCreated,
    SsoAccountLinked,
    SsoAccountUnlinked,
    ScimTokenCreated,
    ScimTokenRevoked,
    ScimSettingsChanged,
    ScimUserCreated,
    ScimUserUpdated,
    ScimGroupCreated,
    ScimGroupChanged,
    ScimGroupDeleted,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TwoFactorRecoveryCodeUsed,
    TwoFactorReset,
    PasskeyAdded,
    PasskeyRemoved,
    TwoFactorPolicyChanged,
}

impl Action {
    pub const ALL: [Action; 53] = [
        Action::OrganizationCreated,
        Action::OrganizationRenamed,
        Action::InviteLinkReset,
        Action::InvitationSent,
        Action::InvitationResent,
        Action::InvitationRevoked,
        Action::InvitationAccepted,
        Action::MemberJoined,
        Action::MemberRoleChanged,
        Action::MemberDeactivated,
        Action::MemberRestored,
        Action::MemberRemoved,
        Action::OwnershipTransferred,
        Action::SeatsChanged,
        Action::PasswordResetRequested,
        Action::PasswordResetCompleted,
        Action::PasswordChanged,
        Action::ApiTokenReset,
        Action::ApiTokenCreated,
        Action::ApiTokenRotated,
        Action::ApiTokenRevoked,
        Action::TokenSettingsChanged,
        Action::SessionPolicyChanged,
        Action::NameChanged,
        Action::SessionEnded,
        Action::SignedOut,
        Action::SignInSucceeded,
        Action::SignInFailed,
        Action::SignInLockedOut,
        Action::EmailVerificationSent,
        Action::EmailVerified,
        Action::EmailVerificationDisowned,
        Action::SsoSettingsChanged,
        Action::SsoSignedIn,
        Action::SsoSignInFailed,
        Action::SsoAccountCreated,
        Action::SsoAccountLinked,
        Action::SsoAccountUnlinked,
        Action::ScimTokenCreated,
        Action::ScimTokenRevoked,
        Action::ScimSettingsChanged,
        Action::ScimUserCreated,
        Action::ScimUserUpdated,
        Action::ScimGroupCreated,
        Action::ScimGroupChanged,
        Action::ScimGroupDeleted,
        Action::TwoFactorEnabled,
        Action::TwoFactorDisabled,
        Action::TwoFactorRecoveryCodeUsed,
        Action::TwoFactorReset,
        Action::PasskeyAdded,
        Action::PasskeyRemoved,
        Action::TwoFactorPolicyChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrganizationCreated => "organization.created",
            Action::OrganizationRenamed => "organization.renamed",
            Action::InviteLinkReset => "invite_link.reset",
            Action::InvitationSent => "invitation.sent",
            Action::InvitationResent => "invitation.resent",
            Action::InvitationRevoked => "invitation.revoked",
            Action::InvitationAccepted => "invitation.accepted",
            Action::MemberJoined => "member.joined",
            Action::MemberRoleChanged => "member.role_changed",
            Action::MemberDeactivated => "member.deactivated",
            Action::MemberRestored => "member.restored",
            Action::MemberRemoved => "member.removed",
            Action::OwnershipTransferred => "ownership.transferred",
            Action::SeatsChanged => "seats.changed",
            Action::PasswordResetRequested => "password_reset.requested",
            Action::PasswordResetCompleted => "password_reset.completed",
            Action::PasswordChanged => "password.changed",
            Action::ApiTokenReset => "api_token.reset",
            Action::ApiTokenCreated => "api_token.created",
            Action::ApiTokenRotated => "api_token.rotated",
            Action::ApiTokenRevoked => "api_token.revoked",
            Action::TokenSettingsChanged => "organization.token_settings_changed",
            Action::SessionPolicyChanged => "organization.session_policy_changed",
            Action::NameChanged => "user.name_changed",
            Action::SessionEnded => "session.ended",
            Action::SignedOut => "session.signed_out",
            Action::EmailVerificationSent => "email.verification_sent",
            Action::EmailVerified => "email.verified",
            Action::EmailVerificationDisowned => "email.verification_disowned",
            Action::SignInSucceeded => "signin.succeeded",
            Action::SignInFailed => "signin.failed",
            Action::SignInLockedOut => "signin.locked_out",
            Action::SsoSettingsChanged => "sso.settings_changed",
            Action::SsoSignedIn => "sso.signed_in",
            Action::SsoSignInFailed => "sso.sign_in_failed",
            Action::SsoAccountCreated => "sso.account_created",
            Action::SsoAccountLinked => "sso.account_linked",
            Action::SsoAccountUnlinked => "sso.account_unlinked",
            Action::ScimTokenCreated => "scim.token_created",
            Action::ScimTokenRevoked => "scim.token_revoked",
            Action::ScimSettingsChanged => "scim.settings_changed",
            Action::ScimUserCreated => "scim.user_created",
            Action::ScimUserUpdated => "scim.user_updated",
            Action::ScimGroupCreated => "scim.group_created",
            Action::ScimGroupChanged => "scim.group_changed",
            Action::ScimGroupDeleted => "scim.group_deleted",
            Action::TwoFactorEnabled => "two_factor.enabled",
            Action::TwoFactorDisabled => "two_factor.disabled",
            Action::TwoFactorRecoveryCodeUsed => "two_factor.recovery_code_used",
            Action::TwoFactorReset => "two_factor.reset",
            Action::PasskeyAdded => "passkey.added",
            Action::PasskeyRemoved => "passkey.removed",
            Action::TwoFactorPolicyChanged => "organization.two_factor_policy_changed",
        }
    }

    /// How the filter on the Activity page names it.
    pub fn label(self) -> &'static str {
        match self {
            Action::OrganizationCreated => "Organization created",
            Action::OrganizationRenamed => "Organization renamed",
            Action::InviteLinkReset => "Invite link reset",
            Action::InvitationSent => "Invitation sent",
            Action::InvitationResent => "Invitation re-sent",
            Action::InvitationRevoked => "Invitation revoked",
            Action::InvitationAccepted => "Invitation accepted",
            Action::MemberJoined => "Joined through the link",
            Action::MemberRoleChanged => "Role changed",
            Action::MemberDeactivated => "Member deactivated",
            Action::MemberRestored => "Member restored",
            Action::MemberRemoved => "Member removed",
            Action::OwnershipTransferred => "Ownership transferred",
            Action::SeatsChanged => "Seats changed",
            Action::PasswordResetRequested => "Password reset requested",
            Action::PasswordResetCompleted => "Password reset completed",
            Action::PasswordChanged => "Password changed",
            Action::ApiTokenReset => "API token reset",
            Action::ApiTokenCreated => "Personal access token created",
            Action::ApiTokenRotated => "Personal access token rotated",
            Action::ApiTokenRevoked => "Personal access token revoked",
            Action::TokenSettingsChanged => "Token settings changed",
            Action::SessionPolicyChanged => "Session policy changed",
            Action::NameChanged => "Name changed",
            Action::SessionEnded => "Sessions ended",
            Action::SignedOut => "Signed out",
            Action::EmailVerificationSent => "Verification email sent",
            Action::EmailVerified => "Email verified",
            Action::EmailVerificationDisowned => "Account disowned by its address",
            Action::SignInSucceeded => "Signed in",
            Action::SignInFailed => "Sign-in failed",
            Action::SignInLockedOut => "Sign-in locked out",
            Action::SsoSettingsChanged => "Single sign-on settings changed",
            Action::SsoSignedIn => "Signed in through SSO",
            Action::SsoSignInFailed => "SSO sign-in failed",
            Action::SsoAccountCreated => "Account created by SSO",
            Action::SsoAccountLinked => "SSO identity linked",
            Action::SsoAccountUnlinked => "SSO identity unlinked",
            Action::ScimTokenCreated => "SCIM token created",
            Action::ScimTokenRevoked => "SCIM token revoked",
            Action::ScimSettingsChanged => "SCIM settings changed",
            Action::ScimUserCreated => "Member provisioned by SCIM",
            Action::ScimUserUpdated => "Member updated by SCIM",
            Action::ScimGroupCreated => "SCIM group created",
            Action::ScimGroupChanged => "SCIM group changed",
            Action::ScimGroupDeleted => "SCIM group deleted",
            Action::TwoFactorEnabled => "Second factor added",
            Action::TwoFactorDisabled => "Second factor removed",
            Action::TwoFactorRecoveryCodeUsed => "Recovery code used",
            Action::TwoFactorReset => "Second factors reset",
            Action::PasskeyAdded => "Passkey added",
            Action::PasskeyRemoved => "Passkey removed",
            Action::TwoFactorPolicyChanged => "Two-factor policy changed",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self, AppError> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                AppError::invalid(
                    "action",
                    format!("Unknown action {s:?}; actions are named like member.role_changed."),
                )
            })
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Who did it: a user (with their email at that moment), the server administrator's command
/// line, or the server itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = AuditActor))]
pub struct ActorView {
    /// `user`, `cli`, `system`, `sso` (single sign-on) or `scim` (provisioning).
    pub kind: String,
    /// The user's id (for `user`).
    pub user_id: Option<i64>,
    /// The user's email at that moment (empty for `cli` and `system`).
    pub email: String,
}

/// What it was done to: a user, an invitation or the organization, with its email or title at
/// that moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = AuditTarget))]
pub struct TargetView {
    /// `user`, `invitation` or `organization`.
    pub kind: String,
    pub id: Option<i64>,
    /// The email (user, invitation) or title (organization) at that moment.
    pub label: String,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = AuditEntry))]
pub struct AuditEntryView {
    pub id: i64,
    /// The entry's place in the organization's chain (1, 2, 3 …).
    pub seq: i64,
    /// When, RFC 3339 in UTC to the second.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    pub actor: ActorView,
    /// The stable dotted name of what happened, e.g. `member.role_changed`.
    pub action: String,
    pub target: TargetView,
    /// What changed, e.g. `{"from": "ANNOTATOR", "to": "REVIEWER"}`.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub client_address: String,
    pub user_agent: String,
    /// The entry as one readable line, e.g. `admin@x.com changed bob@x.com from Annotator to Reviewer`.
    pub summary: String,
    /// SHA-256 of the previous entry's hash and this entry's content, in hex.
    pub hash: String,
}

/// A page of the audit log, newest first.
pub type AuditPage = Paged<AuditEntryView>;

#[cfg(feature = "ssr")]
impl super::paging::PagedRow for AuditEntryView {
    const PAGE_NAME: &'static str = "AuditLogPage";
    const PAGE_DESCRIPTION: &'static str = "A page of the audit log, newest first.";
    const COUNT_DESCRIPTION: &'static str = "Entries matching the filters, in all pages.";
}

fn role_label(value: &serde_json::Value) -> String {
    match value.as_str() {
        Some(name) => name
            .parse::<Role>()
            .map(|r| r.label().to_owned())
            .unwrap_or_else(|_| name.to_owned()),
        None => "?".to_owned(),
    }
}

fn protocol_label(protocol: &serde_json::Value) -> &'static str {
    match protocol.as_str() {
        Some("saml") => "SAML",
        Some("oidc") => "OpenID Connect",
        _ => "",
    }
}

/// An entry as one readable line (without its time): `admin@x.com changed bob@x.com from
/// Annotator to Reviewer`.
pub fn summarize(
    action: Action,
    actor: &ActorView,
    target: &TargetView,
    details: &serde_json::Value,
) -> String {
    let who = match actor.kind.as_str() {
        "cli" => "The command line".to_owned(),
        "system" => "The server".to_owned(),
        "sso" => "Single sign-on".to_owned(),
        "scim" => "Provisioning".to_owned(),
        _ if actor.email.is_empty() => "Someone".to_owned(),
        _ => actor.email.clone(),
    };
    let it = &target.label;
    let text = |key: &str| {
        details
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    match action {
        Action::OrganizationCreated => {
            format!("{who} created the organization \"{}\"", text("title"))
        }
        Action::OrganizationRenamed => {
            format!(
                "{who} renamed the organization from \"{}\" to \"{}\"",
                text("from"),
                text("to")
            )
        }
        Action::InviteLinkReset => format!("{who} reset the invite link"),
        Action::InvitationSent => format!("{who} invited {it} as {}", role_label(&details["role"])),
        Action::InvitationResent => format!("{who} re-sent the invitation to {it}"),
        Action::InvitationRevoked => format!("{who} revoked the invitation to {it}"),
        Action::InvitationAccepted => {
            format!(
                "{who} accepted the invitation and joined as {}",
                role_label(&details["role"])
            )
        }
        Action::MemberJoined => format!("{who} joined through the invite link (Pending)"),
        Action::MemberRoleChanged => format!(
            "{who} changed {it} from {} to {}",
            role_label(&details["from"]),
            role_label(&details["to"])
        ),
        Action::MemberDeactivated => format!("{who} deactivated {it}"),
        Action::MemberRestored => {
            format!("{who} restored {it} as {}", role_label(&details["to"]))
        }
        Action::MemberRemoved => format!("{who} removed {it} from the organization"),
        Action::OwnershipTransferred => {
            format!(
                "{who} transferred ownership from {} to {it}",
                text("from_email")
            )
        }
        Action::SeatsChanged => {
            let seats = |v: &serde_json::Value| {
                v.as_i64().map_or("unlimited".to_owned(), |n| n.to_string())
            };
            format!(
                "{who} changed the seats from {} to {}",
                seats(&details["from"]),
                seats(&details["to"])
            )
        }
        Action::PasswordResetRequested if actor.kind == "system" => {
            format!("A password reset link was requested for {it}")
        }
        Action::PasswordResetRequested if actor.user_id == target.id => {
            format!("{who} asked for a password reset link")
        }
        Action::PasswordResetRequested => format!("{who} sent {it} a password reset link"),
        Action::PasswordResetCompleted => format!("{who} set a new password with a reset link"),
        Action::PasswordChanged if actor.user_id == target.id => {
            format!("{who} changed their password")
        }
        Action::PasswordChanged => format!("{who} set a new password for {it}"),
        Action::ApiTokenReset => format!("{who} reset their API token"),
        Action::ApiTokenCreated => format!("{who} created a personal access token"),
        Action::ApiTokenRotated => format!("{who} rotated their personal access token"),
        Action::ApiTokenRevoked if actor.user_id == target.id => {
            format!("{who} revoked their personal access token")
        }
        Action::ApiTokenRevoked => format!("{who} revoked the personal access tokens of {it}"),
        Action::TokenSettingsChanged => {
            format!("{who} changed the organization's API token settings")
        }
        Action::SessionPolicyChanged => format!("{who} changed the organization's session policy"),
        Action::NameChanged => format!("{who} changed their name"),
        Action::SessionEnded => {
            let n = details["ended"].as_i64().unwrap_or(0);
            format!(
                "{who} signed out {n} other {}",
                if n == 1 { "session" } else { "sessions" }
            )
        }
        Action::SignedOut => format!("{who} signed out"),
        Action::EmailVerificationSent => format!("{who} asked for a new verification email"),
        Action::EmailVerified => format!("{who} verified their email address"),
        Action::EmailVerificationDisowned if details["deleted"] == true => format!(
            "Whoever reads the mail of {it} said they did not make this account: it was deleted"
        ),
        Action::EmailVerificationDisowned => format!(
            "Whoever reads the mail of {it} said they did not make this account: its sessions \
             were ended and its address stays unverified"
        ),
        Action::SignInSucceeded => format!("{who} signed in"),
        Action::SignInFailed => format!("Failed sign-in as {it} (wrong password)"),
        Action::SignInLockedOut => format!("Sign-in as {it} locked out after too many failures"),
        Action::SsoSettingsChanged if details["deleted"] == true => format!(
            "{who} removed the {} single sign-on settings",
            protocol_label(&details["protocol"])
        ),
        Action::SsoSettingsChanged => format!(
            "{who} changed the {} single sign-on settings",
            protocol_label(&details["protocol"])
        ),
        Action::SsoSignedIn => format!("{who} signed in through single sign-on"),
        Action::SsoSignInFailed => format!(
            "A single sign-on sign-in{} failed: {} (reference {})",
            if it.is_empty() {
                String::new()
            } else {
                format!(" as {it}")
            },
            text("reason"),
            text("reference")
        ),
        Action::SsoAccountCreated => format!(
            "Single sign-on made the account {it} as {}",
            role_label(&details["role"])
        ),
        Action::SsoAccountLinked => format!("{who} linked {it} to a single sign-on identity"),
        Action::SsoAccountUnlinked => {
            format!("{who} unlinked a single sign-on identity from {it}")
        }
        Action::ScimTokenCreated if details["replaced"] == true => {
            format!("{who} replaced the SCIM token")
        }
        Action::ScimTokenCreated => format!("{who} created a SCIM token"),
        Action::ScimTokenRevoked => format!("{who} revoked the SCIM token"),
        Action::ScimSettingsChanged => format!("{who} changed the SCIM role mappings"),
        Action::ScimUserCreated => format!(
            "The identity provider provisioned {it} as {}",
            role_label(&details["role"])
        ),
        Action::ScimUserUpdated => format!("The identity provider updated {it}"),
        Action::ScimGroupCreated => {
            format!(
                "The identity provider created the group \"{}\"",
                text("group")
            )
        }
        Action::ScimGroupChanged => {
            format!(
                "The identity provider changed the group \"{}\"",
                text("group")
            )
        }
        Action::ScimGroupDeleted => {
            format!(
                "The identity provider deleted the group \"{}\"",
                text("group")
            )
        }
        Action::TwoFactorEnabled => match details["factor"].as_str() {
            Some("authenticator_app") => format!("{who} set up an authenticator app"),
            Some("recovery_codes") => format!("{who} made new recovery codes"),
            _ => format!("{who} turned on two-factor authentication"),
        },
        Action::TwoFactorDisabled => match details["factor"].as_str() {
            Some("authenticator_app") => format!("{who} removed their authenticator app"),
            _ => format!("{who} turned off two-factor authentication"),
        },
        Action::TwoFactorRecoveryCodeUsed => format!("{who} signed in with a recovery code"),
        Action::TwoFactorReset => format!("{who} reset the second factors of {it}"),
        Action::PasskeyAdded => format!("{who} added the passkey \"{}\"", text("passkey")),
        Action::PasskeyRemoved => format!("{who} removed the passkey \"{}\"", text("passkey")),
        Action::TwoFactorPolicyChanged => {
            if details["required"].as_bool() == Some(true) {
                format!(
                    "{who} required two-factor authentication, with {} days of grace",
                    details["grace_period_days"]
                )
            } else {
                format!("{who} stopped requiring two-factor authentication")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_action_has_a_unique_dotted_name_that_parses_back() {
        let names: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        for a in Action::ALL {
            assert!(a.as_str().contains('.'), "{a}");
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
        assert!("member.nope".parse::<Action>().is_err());
    }

    #[test]
    fn a_role_change_reads_as_one_line() {
        let actor = ActorView {
            kind: "user".into(),
            user_id: Some(1),
            email: "admin@x.com".into(),
        };
        let target = TargetView {
            kind: "user".into(),
            id: Some(2),
            label: "bob@x.com".into(),
        };
        assert_eq!(
            summarize(
                Action::MemberRoleChanged,
                &actor,
                &target,
                &json!({"from": "ANNOTATOR", "to": "REVIEWER"})
            ),
            "admin@x.com changed bob@x.com from Annotator to Reviewer"
        );
        let cli = ActorView {
            kind: "cli".into(),
            user_id: None,
            email: String::new(),
        };
        assert_eq!(
            summarize(
                Action::SeatsChanged,
                &cli,
                &target,
                &json!({"from": null, "to": 10})
            ),
            "The command line changed the seats from unlimited to 10"
        );
    }
}
