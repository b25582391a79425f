//! What the app shell and the organization endpoints show.

use serde::{Deserialize, Serialize};

use super::Role;

/// The signed-in user, as the app shell needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    /// Their role, or `None` for an account that belongs to no organization (removed from it).
    pub role: Option<Role>,
    pub organization_id: Option<i64>,
    /// Empty without an organization.
    pub organization_title: String,
    /// For the Owner and Administrators: members waiting for a role (0 for everyone else).
    pub pending_members: i64,
    /// Whether they proved their address (by an email invitation or the verification link).
    pub email_verified: bool,
    /// Whether their organization requires a second factor they have not added, past the grace
    /// period: until they add one they may look after their own account only.
    #[serde(default)]
    pub two_factor_required: bool,
}

impl CurrentUser {
    /// Whether they meet `need`, and if not, why (see [`Role::allows`]).
    pub fn allows(&self, need: super::Need) -> Result<(), super::Refusal> {
        super::admits(self.role, need)?;
        if self.two_factor_required && need != super::Need::SignedIn {
            return Err(super::Refusal::TwoFactorRequired);
        }
        Ok(())
    }

    /// Their role as the menu shows it.
    pub fn role_label(&self) -> &'static str {
        self.role.map_or("No organization", Role::label)
    }
}

/// What opening an email-verification link did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerified {
    /// The address it verified.
    pub email: String,
    /// The link had been used already (the page was reloaded): nothing changed.
    pub already: bool,
}

/// What the page of an email-verification link shows before anything is done (opening the page
/// changes nothing): whose account the link is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationLink {
    /// The account's address.
    pub email: String,
    /// The title of the organization the account belongs to, if any.
    pub organization: Option<String>,
    /// The address was verified with this link already: nothing is left to do.
    pub already: bool,
}

/// What "This wasn't me" did with the account made with the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationDisowned {
    /// The address.
    pub email: String,
    /// The account was deleted (it was Pending or in no organization); otherwise its sessions
    /// ended and the organization's admins find the report in the activity log.
    pub deleted: bool,
}

/// The organization's Owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = Owner))]
pub struct OwnerView {
    /// The Owner's user id.
    pub id: i64,
    pub email: String,
}

/// The organization's seats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = Seats))]
pub struct SeatsView {
    /// Seats in use: members whose role takes a seat (Owner, Administrator, Manager, Reviewer and
    /// Annotator; not Pending or Deactivated), plus open, unexpired email invitations.
    pub used: i64,
    /// The number of seats the license allows; `null` means unlimited.
    pub limit: Option<i64>,
}

/// An organization as `GET /api/organization/` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = Organization))]
pub struct OrganizationView {
    pub id: i64,
    pub title: String,
    /// When the organization was created, RFC 3339 in UTC to the second, e.g. `2024-05-01T12:00:00Z`.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    pub owner: OwnerView,
    pub seats: SeatsView,
    /// Members waiting for a role (Pending, `NOT_ACTIVATED`).
    pub pending_members: i64,
}

/// What every page learns once about who is visiting: the signed-in user, and what the login and
/// signup pages offer a visitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The signed-in user, or `None`.
    pub user: Option<CurrentUser>,
    /// Signup without an invite link is turned off on this instance.
    pub signup_without_link_disabled: bool,
    /// Passkeys work where the browser opened the app (the public address, or localhost).
    #[serde(default)]
    pub passkeys_available: bool,
}
