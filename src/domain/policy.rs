//! Who may do what: the policy table (`Need` × `Role`) and its refusal messages, read by the
//! server's witnesses and by the browser's page gate alike.

use serde::{Deserialize, Serialize};

use super::{AppError, Role};

/// What an action requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Need {
    /// A signed-in user whose account is not deactivated (Pending members pass).
    SignedIn,
    /// A member who may use the organization: any role that takes a seat.
    Active,
    /// The Owner or an Administrator.
    Admin,
    /// The Owner only.
    Owner,
}

/// Why a signed-in member may not do something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// The account belongs to no organization (its member was removed).
    NoOrganization,
    Deactivated,
    Pending,
    NotAdmin,
    NotOwner,
    /// The organization requires a second factor, the grace period is over, and the account has
    /// none.
    TwoFactorRequired,
}

impl Refusal {
    /// The message an API client or a form shows.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NoOrganization => {
                "You are not a member of any organization. Ask an administrator for an invitation."
            }
            Refusal::Deactivated => {
                "Your account has been deactivated. Ask an administrator of your organization to restore it."
            }
            Refusal::Pending => "An administrator must assign your role before you can use this organization.",
            Refusal::NotAdmin => "Only the Owner or an Administrator of the organization can do this.",
            Refusal::NotOwner => "Only the Owner of the organization can do this.",
            Refusal::TwoFactorRequired => "Your organization requires two-factor authentication. Add an authenticator app or a passkey on your Account page (/user/account), then try again.",
        }
    }

    /// The heading of the page that a refused member sees instead.
    pub fn page_title(self) -> &'static str {
        match self {
            Refusal::NoOrganization => "You are not a member of any organization",
            Refusal::Deactivated => "Your account has been deactivated",
            Refusal::Pending => "Waiting for your role",
            Refusal::NotAdmin | Refusal::NotOwner => "You don't have access to this page",
            Refusal::TwoFactorRequired => "Add a second factor to continue",
        }
    }

    /// The explanation under that heading.
    pub fn page_text(self, organization_title: &str) -> String {
        match self {
            Refusal::NoOrganization => "Ask an administrator for an invitation: once you accept it, you can use their organization.".into(),
            Refusal::Deactivated => {
                "An administrator of your organization deactivated your account. Ask them to restore it.".into()
            }
            Refusal::Pending => format!(
                "You have joined {organization_title}. An administrator must assign your role before you can start working; reload this page once they have."
            ),
            Refusal::NotAdmin => "Only the Owner and Administrators of the organization can open it.".into(),
            Refusal::NotOwner => "Only the Owner of the organization can open it.".into(),
            Refusal::TwoFactorRequired => format!(
                "{organization_title} requires two-factor authentication. Add an authenticator app or a passkey on your Account page; then you can use it again."
            ),
        }
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        AppError::Forbidden(refusal.message().into())
    }
}

/// Whether a signed-in account with this role (`None`: in no organization) meets `need`, and if
/// not, why. Without an organization an account is signed in, and nothing more.
pub fn admits(role: Option<Role>, need: Need) -> Result<(), Refusal> {
    match (role, need) {
        (Some(role), need) => role.allows(need),
        (None, Need::SignedIn) => Ok(()),
        (None, _) => Err(Refusal::NoOrganization),
    }
}

impl Role {
    /// Whether a member with this role meets `need`, and if not, why.
    pub fn allows(self, need: Need) -> Result<(), Refusal> {
        match (self, need) {
            (Role::Deactivated, _) => Err(Refusal::Deactivated),
            (Role::NotActivated, Need::SignedIn) => Ok(()),
            (Role::NotActivated, _) => Err(Refusal::Pending),
            (_, Need::SignedIn | Need::Active) => Ok(()),
            (Role::Owner | Role::Administrator, Need::Admin) => Ok(()),
            (_, Need::Admin) => Err(Refusal::NotAdmin),
            (Role::Owner, Need::Owner) => Ok(()),
            (_, Need::Owner) => Err(Refusal::NotOwner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! policy_cases {
        ($($name:ident: $role:expr, $need:expr => $expected:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!($role.allows($need), $expected);
                }
            )*
        };
    }

    // One case per role and need: the whole policy table.
    policy_cases! {
        owner_meets_signed_in: Role::Owner, Need::SignedIn => Ok(());
        owner_meets_active: Role::Owner, Need::Active => Ok(());
        owner_meets_admin: Role::Owner, Need::Admin => Ok(());
        owner_meets_owner: Role::Owner, Need::Owner => Ok(());
        administrator_meets_signed_in: Role::Administrator, Need::SignedIn => Ok(());
        administrator_meets_active: Role::Administrator, Need::Active => Ok(());
        administrator_meets_admin: Role::Administrator, Need::Admin => Ok(());
        administrator_fails_owner: Role::Administrator, Need::Owner => Err(Refusal::NotOwner);
        manager_meets_signed_in: Role::Manager, Need::SignedIn => Ok(());
        manager_meets_active: Role::Manager, Need::Active => Ok(());
        manager_fails_admin: Role::Manager, Need::Admin => Err(Refusal::NotAdmin);
        manager_fails_owner: Role::Manager, Need::Owner => Err(Refusal::NotOwner);
        reviewer_meets_signed_in: Role::Reviewer, Need::SignedIn => Ok(());
        reviewer_meets_active: Role::Reviewer, Need::Active => Ok(());
        reviewer_fails_admin: Role::Reviewer, Need::Admin => Err(Refusal::NotAdmin);
        reviewer_fails_owner: Role::Reviewer, Need::Owner => Err(Refusal::NotOwner);
        annotator_meets_signed_in: Role::Annotator, Need::SignedIn => Ok(());
        annotator_meets_active: Role::Annotator, Need::Active => Ok(());
        annotator_fails_admin: Role::Annotator, Need::Admin => Err(Refusal::NotAdmin);
        annotator_fails_owner: Role::Annotator, Need::Owner => Err(Refusal::NotOwner);
        pending_member_meets_signed_in: Role::NotActivated, Need::SignedIn => Ok(());
        pending_member_fails_active: Role::NotActivated, Need::Active => Err(Refusal::Pending);
        pending_member_fails_admin: Role::NotActivated, Need::Admin => Err(Refusal::Pending);
        pending_member_fails_owner: Role::NotActivated, Need::Owner => Err(Refusal::Pending);
        deactivated_member_fails_signed_in: Role::Deactivated, Need::SignedIn => Err(Refusal::Deactivated);
        deactivated_member_fails_active: Role::Deactivated, Need::Active => Err(Refusal::Deactivated);
        deactivated_member_fails_admin: Role::Deactivated, Need::Admin => Err(Refusal::Deactivated);
        deactivated_member_fails_owner: Role::Deactivated, Need::Owner => Err(Refusal::Deactivated);
    }

    #[test]
    fn without_an_organization_an_account_is_only_signed_in() {
        assert_eq!(admits(None, Need::SignedIn), Ok(()));
        for need in [Need::Active, Need::Admin, Need::Owner] {
            assert_eq!(admits(None, need), Err(Refusal::NoOrganization), "{need:?}");
        }
        assert_eq!(
            admits(Some(Role::Manager), Need::Admin),
            Err(Refusal::NotAdmin)
        );
    }

    #[test]
    fn active_means_taking_a_seat() {
        for role in Role::ALL {
            assert_eq!(
                role.allows(Need::Active).is_ok(),
                role.counts_seat(),
                "{role}"
            );
        }
    }

    #[test]
    fn refusals_become_403_with_their_message() {
        let e = AppError::from(Refusal::Pending);
        assert_eq!(e.status_code(), 403);
        assert!(e.to_string().contains("assign your role"));
    }
}
