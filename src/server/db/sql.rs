//! SQL fragments that state one rule each, so that every statement applying the rule is built
//! from the same definition, and how enums are stored (TEXT, by name).

use std::sync::LazyLock;

use sqlx::{
    any::{AnyTypeInfo, AnyValueRef},
    encode::IsNull,
    error::BoxDynError,
    Any, Database, Decode, Encode, Type,
};

use super::outbox::MessageKind;
use crate::domain::Role;

/// The roles that take a seat, as a SQL list: `'OWNER', 'ADMINISTRATOR', …`.
pub static SEATED_ROLES: LazyLock<String> = LazyLock::new(|| role_list(Role::seated()));

/// The roles an Owner may hand the organization to: those that take a seat, but the Owner.
pub static ACTIVE_MEMBER_ROLES: LazyLock<String> =
    LazyLock::new(|| role_list(Role::seated().filter(|r| *r != Role::Owner)));

fn role_list(roles: impl Iterator<Item = Role>) -> String {
    roles
        .map(|r| format!("'{}'", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An invitation that is open: neither accepted nor revoked (it may have expired). `alias` is the
/// table's alias in the statement.
pub fn open_invitation(alias: &str) -> String {
    format!("{alias}.accepted_at IS NULL AND {alias}.revoked_at IS NULL")
}

/// An invitation that is open and unexpired at the time bound to `now_param` (`$2`): it holds a
/// seat and its link works.
pub fn live_invitation(alias: &str, now_param: &str) -> String {
    format!(
        "{} AND {alias}.expires_at > {now_param}",
        open_invitation(alias)
    )
}

/// The seats an organization (aliased `o`) uses at the time bound to `now_param`: members whose
/// role takes a seat, plus live invitations (they reserve theirs).
pub fn seats_used(now_param: &str) -> String {
    format!(
        "((SELECT COUNT(*) FROM memberships s WHERE s.organization_id = o.id AND s.role IN ({roles})) \
         + (SELECT COUNT(*) FROM invitations i WHERE i.organization_id = o.id AND {live}))",
        roles = *SEATED_ROLES,
        live = live_invitation("i", now_param),
    )
}

/// Stores an enum as TEXT by its name (`as_str`) and reads it back through `FromStr`, so rows
/// decode straight into the type and an unknown value is a decoding error, not a silent default.
macro_rules! stored_as_text {
    ($($ty:ty),+) => {$(
        impl Type<Any> for $ty {
            fn type_info() -> AnyTypeInfo {
                <str as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <str as Type<Any>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Any> for $ty {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<Any>>::decode(value)?;
                name.parse::<$ty>().map_err(|e| format!("unknown {} {name:?}: {e}", stringify!($ty)).into())
            }
        }

        impl<'q> Encode<'q, Any> for $ty {
            fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }
    )+};
}

stored_as_text!(Role, MessageKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seated_roles_are_the_five_working_roles() {
        assert_eq!(
            *SEATED_ROLES,
            "'OWNER', 'ADMINISTRATOR', 'MANAGER', 'REVIEWER', 'ANNOTATOR'"
        );
        assert_eq!(
            *ACTIVE_MEMBER_ROLES,
            "'ADMINISTRATOR', 'MANAGER', 'REVIEWER', 'ANNOTATOR'"
        );
    }

    #[test]
    fn a_live_invitation_is_open_and_unexpired() {
        assert_eq!(
            live_invitation("i", "$2"),
            "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2"
        );
    }
}
