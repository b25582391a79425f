use serde::{Deserialize, Serialize};

use super::Role;

/// The signed-in user, as the app shell needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub organization_id: i64,
    pub organization_title: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerView {
    pub id: i64,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsView {
    pub used: i64,
    /// `None` when the license puts no limit on seats.
    pub limit: Option<i64>,
}

/// An organization as `GET /api/organization/` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationView {
    pub id: i64,
    pub title: String,
    pub created_at: String,
    pub owner: OwnerView,
    pub seats: SeatsView,
}

/// What the signup page needs to know before it is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupSettings {
    /// Signup without an invite link is turned off on this instance.
    pub signup_without_link_disabled: bool,
}
