//! Roles and the statuses that stand in for one.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

use super::AppError;

/// A member's role, or the status that stands in for one: `NOT_ACTIVATED` is a Pending member
/// (no role assigned yet), `DEACTIVATED` a deactivated one. Only OWNER, ADMINISTRATOR, MANAGER,
/// REVIEWER and ANNOTATOR take a seat and may use the API.
///
/// Read from its name or from Label Studio's two-letter code (`OW`, `AD`, `MA`, `RE`, `AN`, `NO`,
/// `DI`): in JSON exactly as written here, in a query without regard to case or surrounding
/// spaces; written as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Owner,
    Administrator,
    Manager,
    Reviewer,
    Annotator,
    NotActivated,
    Deactivated,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Owner,
        Role::Administrator,
        Role::Manager,
        Role::Reviewer,
        Role::Annotator,
        Role::NotActivated,
        Role::Deactivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Administrator => "ADMINISTRATOR",
            Role::Manager => "MANAGER",
            Role::Reviewer => "REVIEWER",
            Role::Annotator => "ANNOTATOR",
            Role::NotActivated => "NOT_ACTIVATED",
            Role::Deactivated => "DEACTIVATED",
        }
    }

    /// Label Studio's code for the role on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::Owner => "OW",
            Role::Administrator => "AD",
            Role::Manager => "MA",
            Role::Reviewer => "RE",
            Role::Annotator => "AN",
            Role::NotActivated => "NO",
            Role::Deactivated => "DI",
        }
    }

    /// How the role is shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Administrator => "Administrator",
            Role::Manager => "Manager",
            Role::Reviewer => "Reviewer",
            Role::Annotator => "Annotator",
            Role::NotActivated => "Pending",
            Role::Deactivated => "Deactivated",
        }
    }

    /// Whether a member with this role takes one of the organization's seats: the one place this
    /// rule is written (the SQL that counts seats is built from it).
    pub fn counts_seat(self) -> bool {
        !matches!(self, Role::NotActivated | Role::Deactivated)
    }

    /// The roles that take a seat.
    pub fn seated() -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(|r| r.counts_seat())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s) || r.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                AppError::invalid(
                    "role",
                    format!(
                        "Unknown role \"{s}\". Use one of: {} (or Label Studio's codes {}).",
                        Role::ALL.map(Role::as_str).join(", "),
                        Role::ALL.map(Role::code).join(", ")
                    ),
                )
            })
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == name || r.code() == name)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown role {name:?}; use one of {} or Label Studio's codes {}",
                    Role::ALL.map(Role::as_str).join(", "),
                    Role::ALL.map(Role::code).join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn role_names_are_parsed_without_regard_to_case_or_spaces() {
        assert_eq!(" reviewer ".parse::<Role>().unwrap(), Role::Reviewer);
        assert_eq!("not_activated".parse::<Role>().unwrap(), Role::NotActivated);
    }

    #[test]
    fn unknown_role_is_rejected_with_the_list_of_valid_ones() {
        let err = "SUPERUSER".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("ADMINISTRATOR"), "{err}");
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "role"));
    }

    #[test]
    fn label_studio_codes_name_the_same_roles() {
        let codes = ["OW", "AD", "MA", "RE", "AN", "NO", "DI"];
        for (role, code) in Role::ALL.into_iter().zip(codes) {
            assert_eq!(code.parse::<Role>().unwrap(), role);
            assert_eq!(code.to_lowercase().parse::<Role>().unwrap(), role);
            assert_eq!(
                serde_json::from_str::<Role>(&format!("\"{code}\"")).unwrap(),
                role
            );
        }
        assert!(serde_json::from_str::<Role>("\"XX\"").is_err());
        assert!(
            serde_json::from_str::<Role>("\"re\"").is_err(),
            "JSON takes them as written"
        );
        assert!(serde_json::from_str::<Role>("3").is_err());
    }

    #[test]
    fn pending_and_deactivated_take_no_seat() {
        assert_eq!(
            Role::seated().collect::<Vec<_>>(),
            vec![
                Role::Owner,
                Role::Administrator,
                Role::Manager,
                Role::Reviewer,
                Role::Annotator
            ]
        );
    }

    #[test]
    fn roles_serialize_as_their_api_names() {
        assert_eq!(
            serde_json::to_string(&Role::NotActivated).unwrap(),
            "\"NOT_ACTIVATED\""
        );
        assert_eq!(
            serde_json::from_str::<Role>("\"OWNER\"").unwrap(),
            Role::Owner
        );
    }
}
