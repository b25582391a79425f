//! Invite tokens: the organization's shared link (`ghl_…`) and personal email invitations
//! (`ghi_…`). A token is parsed once, here; this module owns what an unusable one is told.

use super::{
    auth::{
        keys::{INVITATION_PREFIX, INVITE_LINK_PREFIX},
        secrets,
    },
    db::{self, invitations::InvitationRecord},
    error::OrInternal,
};
use crate::domain::AppError;

pub const INVALID_INVITE: &str =
    "This invite link is invalid or has been reset. Ask your administrator for a new one.";
pub const EXPIRED_INVITATION: &str =
    "This invitation has expired. Ask your administrator to send it again.";

/// A parsed invite token. It holds only the hash the database knows it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteToken {
    /// The organization's shared link: whoever signs up waits as Pending.
    Link([u8; 32]),
    /// A personal invitation: for one address, once, with its role.
    Invitation([u8; 32]),
}

/// The invite-token error of the `token` field.
pub fn invalid() -> AppError {
    AppError::invalid("token", INVALID_INVITE)
}

fn expired() -> AppError {
    AppError::invalid("token", EXPIRED_INVITATION)
}

impl InviteToken {
    /// Reads a token as given in a link (surrounding spaces are ignored).
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let raw = raw.trim();
        let kind = |prefix: &str| {
            raw.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty())
        };
        if kind(INVITE_LINK_PREFIX) {
            Ok(InviteToken::Link(secrets::hash(raw)))
        } else if kind(INVITATION_PREFIX) {
            Ok(InviteToken::Invitation(secrets::hash(raw)))
        } else {
            Err(invalid())
        }
    }

    /// How a token waiting for a second factor is kept: its kind and hash.
    pub fn stored(&self) -> (&'static str, &[u8]) {
        match self {
            InviteToken::Link(hash) => ("link", hash),
            InviteToken::Invitation(hash) => ("invitation", hash),
        }
    }

    /// A token kept by [`InviteToken::stored`].
    pub fn from_stored(kind: &str, hash: &[u8]) -> Option<Self> {
        let hash = <[u8; 32]>::try_from(hash).ok()?;
        match kind {
            "link" => Some(InviteToken::Link(hash)),
            "invitation" => Some(InviteToken::Invitation(hash)),
            _ => None,
        }
    }

    /// What the token leads to at `now`; an unusable token is an error that tells the person
    /// what to do (all read the same, but for an expired invitation).
    pub async fn resolve<'e>(
        &self,
        ex: impl sqlx::AnyExecutor<'e>,
        now: i64,
    ) -> Result<Destination, AppError> {
        match self {
            InviteToken::Link(hash) => {
                let org = db::organizations::find_by_invite_hash(ex, hash)
                    .await
                    .or_internal("finding an invite link")?
                    .ok_or_else(invalid)?;
                Ok(Destination::Organization {
                    id: org.id,
                    title: org.title,
                })
            }
            InviteToken::Invitation(hash) => {
                let invitation = db::invitations::find_by_hash(ex, hash)
                    .await
                    .or_internal("finding an invitation")?
                    .filter(InvitationRecord::is_open)
                    .ok_or_else(invalid)?;
                if invitation.expires_at <= now {
                    return Err(expired());
                }
                Ok(Destination::Invitation(invitation))
            }
        }
    }
}

/// Where a usable token leads.
pub enum Destination {
    Organization { id: i64, title: String },
    Invitation(InvitationRecord),
}

impl Destination {
    /// The organization the token leads into.
    pub fn organization_id(&self) -> i64 {
        match self {
            Destination::Organization { id, .. } => *id,
            Destination::Invitation(invitation) => invitation.organization_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefix_gives_its_kind_of_token() {
        assert!(matches!(
            InviteToken::parse(" ghl_abc "),
            Ok(InviteToken::Link(_))
        ));
        assert!(matches!(
            InviteToken::parse("ghi_abc"),
            Ok(InviteToken::Invitation(_))
        ));
    }

    #[test]
    fn a_token_is_known_by_the_hash_of_its_trimmed_text() {
        assert_eq!(
            InviteToken::parse(" ghl_abc\n").unwrap(),
            InviteToken::Link(secrets::hash("ghl_abc"))
        );
    }

    #[test]
    fn anything_else_is_an_invalid_link() {
        for raw in ["", "ghl_", "ghi_", "ght_abc", "abc", "GHL_abc"] {
            let err = InviteToken::parse(raw).unwrap_err();
            assert_eq!(
                err.for_field("token").as_deref(),
                Some(INVALID_INVITE),
                "{raw:?}"
            );
        }
    }
}
