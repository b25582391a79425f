//! Types shared by the server and the browser. Everything here compiles to WASM.

mod audit;
mod email;
mod error;
mod invites;
mod members;
mod paging;
mod password;
mod policy;
mod profile;
mod role;
mod sso;
mod time;
mod title;
mod tokens;
mod two_factor;
mod views;

pub use audit::{summarize, Action, ActorView, AuditEntryView, AuditPage, TargetView};
#[cfg(feature = "ssr")]
pub use email::readable as readable_email;
pub use email::EmailAddress;
pub use error::AppError;
pub use invites::{
    split_email_list, InviteInfo, InviteLink, InviteOutcome, InviteStatus, PendingInvitation,
    PendingInvitations, EMAIL_LIST_ENTRY_PATTERN, INVITABLE_ROLES,
};
pub use members::{MemberPage, MemberRow};
#[cfg(feature = "ssr")]
pub use paging::PagedRow;
pub use paging::{Page, Paged, Place, Search};
pub use password::Password;
pub use policy::{admits, Need, Refusal};
pub use profile::{FullName, PersonName, Profile, SessionView, SignInMethod};
pub use role::Role;
pub use sso::{
    check_role_groups, role_from_groups, IdentityView, Mapped, MappedRole, OidcSettings, Protocol,
    RoleGroup, SamlSettings, ScimOverview, SsoIdentities, SsoProblem, MAPPABLE_ROLES,
};
pub use time::{format_timestamp, parse_timestamp};
pub use title::{is_direction_control, OrgTitle, NAME_PATTERN};
pub use tokens::{NewPersonalToken, PersonalToken, SessionPolicy, TokenSettings};
pub use two_factor::{
    normalize_code, PasskeyAdded, PasskeyChallenge, PasskeyView, RecoveryCodes, TotpSetup,
    TwoFactorPolicy, TwoFactorPolicyChange, TwoFactorStatus, MAX_GRACE_DAYS, RECOVERY_CODES,
};
pub use views::{
    CurrentUser, EmailVerified, OrganizationView, OwnerView, SeatsView, VerificationDisowned,
    VerificationLink, Visit,
};
