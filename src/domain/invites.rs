//! Invitations as the pages and the REST API show them.

use serde::{Deserialize, Serialize};

use super::{Paged, Role};

/// The organization's invite link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InviteLink {
    /// `<origin>/user/signup?token=<token>`
    pub invite_url: String,
    /// The link's secret (prefix `ghl_`).
    pub token: String,
}

/// What happened to one address of an email invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Invited,
    Resent,
    AlreadyMember,
    InvalidAddress,
    NoFreeSeat,
    /// Not sent now: the organization's daily quota is used up, or this address was invited less
    /// than a minute ago.
    RateLimited,
}

impl InviteStatus {
    pub fn label(self) -> &'static str {
        match self {
            InviteStatus::Invited => "Invited",
            InviteStatus::Resent => "Re-sent",
            InviteStatus::AlreadyMember => "Already a member",
            InviteStatus::InvalidAddress => "Invalid address",
            InviteStatus::NoFreeSeat => "No free seat",
            InviteStatus::RateLimited => "Not sent yet",
        }
    }

    /// Whether the address was refused for now, and may be sent again later as it is.
    pub fn is_refusal(self) -> bool {
        matches!(self, InviteStatus::NoFreeSeat | InviteStatus::RateLimited)
    }

    pub fn is_success(self) -> bool {
        matches!(self, InviteStatus::Invited | InviteStatus::Resent)
    }
}

/// What happened to one address of an invitation request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InviteOutcome {
    pub email: String,
    pub status: InviteStatus,
    pub detail: String,
}

/// Longest list of invitation results, in JSON, that a page address carries (without JavaScript
/// the results come back to the page in its query).
const RESULTS_IN_QUERY_MAX: usize = 2000;

impl InviteOutcome {
    /// The results as a query value: JSON, as many of the first as fit in a page address.
    pub fn to_query(outcomes: &[InviteOutcome]) -> String {
        let mut json = String::from("[");
        for outcome in outcomes {
            let Ok(one) = serde_json::to_string(outcome) else {
                continue;
            };
            if json.len() + one.len() + 2 > RESULTS_IN_QUERY_MAX {
                break;
            }
            if json.len() > 1 {
                json.push(',');
            }
            json.push_str(&one);
        }
        json.push(']');
        json
    }

    /// The results a query value carries; none when it is not a list of them.
    pub fn from_query(text: &str) -> Vec<InviteOutcome> {
        serde_json::from_slice(text.as_bytes()).unwrap_or_default()
    }
}

/// An email invitation not yet accepted or revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub expired: bool,
}

/// A page of the open invitations (newest first) and how many match in all.
pub type PendingInvitations = Paged<PendingInvitation>;

/// What the signup page shows for an invite token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InviteInfo {
    /// The organization's shared link: the new member waits for a role.
    Link { organization_title: String },
    /// A personal invitation: the address is fixed and the role given at once.
    Email {
        organization_title: String,
        email: String,
        role: Role,
        /// The address already has an account (removed from its organization): it accepts by
        /// logging in, not by signing up.
        has_account: bool,
    },
}

/// The roles an invitation may give.
pub const INVITABLE_ROLES: [Role; 4] = [
    Role::Administrator,
    Role::Manager,
    Role::Reviewer,
    Role::Annotator,
];

/// A JSON Schema (ECMA-262) pattern that an entry of an address list matches when it holds at
/// least one address: a character that is not a separator of [`split_email_list`].
pub const EMAIL_LIST_ENTRY_PATTERN: &str =
    "[^,;\\t\\n\\x0b\\x0c\\r\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// Splits a list of addresses separated by commas, semicolons, spaces or new lines; drops empty
/// entries and repeats (compared without regard to case), keeping the first spelling and order.
pub fn split_email_list(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter(|s| seen.insert(s.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_split_on_commas_semicolons_spaces_and_new_lines() {
        assert_eq!(
            split_email_list("a@x.io, b@x.io;c@x.io\nd@x.io\te@x.io  ,, ;\n"),
            vec!["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"]
        );
    }

    #[test]
    fn repeated_addresses_are_kept_once() {
        assert_eq!(
            split_email_list("A@x.io a@x.io b@x.io A@X.IO"),
            vec!["A@x.io", "b@x.io"]
        );
    }

    #[test]
    fn owner_pending_and_deactivated_are_not_invitable() {
        for role in [Role::Owner, Role::NotActivated, Role::Deactivated] {
            assert!(!INVITABLE_ROLES.contains(&role));
        }
    }
}
