//! The error responses the REST endpoints share, documented once and referenced by name.

use std::collections::BTreeMap;

use utoipa::{
    openapi::{
        header::HeaderBuilder,
        response::{Response, ResponseBuilder},
        schema::{ObjectBuilder, Type},
        ContentBuilder, Ref, RefOr,
    },
    IntoResponses,
};

fn error_response(description: &str, status: u16, detail: &str) -> ResponseBuilder {
    let example =
        serde_json::json!({ "status_code": status, "detail": detail, "validation_errors": {} });
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .example(Some(example))
            .build(),
    )
}

macro_rules! shared_response {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T($build))
            }
        }
    };
}

shared_response!(
    /// 401.
    Unauthenticated => error_response(
        "No credentials (no `Authorization` header and no valid session cookie), an `Authorization` \
         header that is not `Token <token>`, or an unknown token.",
        401,
        "Invalid token. Copy your current token from the Account page.",
    )
    .header(
        "WWW-Authenticate",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("Always `Token`."))
            .build(),
    )
    .build()
);

shared_response!(
    /// 403 for members who may not use the organization.
    ForbiddenInactive => error_response(
        "The caller is a Pending or Deactivated member of the organization, or the request was \
         authenticated by the session cookie and came from another site.",
        403,
        "An administrator must assign your role before you can use this organization.",
    )
    .build()
);

shared_response!(
    /// 403 for what any signed-in account may do with itself.
    ForbiddenDeactivated => error_response(
        "The caller's account is deactivated, or the request was authenticated by the session \
         cookie and came from another site.",
        403,
        "Your account has been deactivated. Ask an administrator of your organization to restore it.",
    )
    .build()
);

shared_response!(
    /// 403 for endpoints of the Owner and Administrators.
    ForbiddenManage => error_response(
        "The caller's role may not do this (only the Owner or an Administrator may), the caller is \
         a Pending or Deactivated member, or the request was authenticated by the session cookie \
         and came from another site.",
        403,
        "Only the Owner or an Administrator of the organization can do this.",
    )
    .build()
);

shared_response!(
    /// 404 for an organization id that is not the caller's.
    OrganizationNotFound => error_response(
        "The id is not numeric, or is not the caller's organization.",
        404,
        "Organization not found.",
    )
    .build()
);

shared_response!(
    /// 413.
    PayloadTooLarge => error_response("The request body is over 256 KiB.", 413, "The request body is too large.").build()
);

shared_response!(
    /// 500.
    InternalError => error_response(
        "An unexpected failure on the server, such as an unreachable database. `detail` carries a \
         reference that finds the full cause in the server's log.",
        500,
        "Something went wrong on our side. Try again; if it keeps happening, give your administrator this reference: 1a2b3c4d",
    )
    .build()
);

fn by_name(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries
        .iter()
        .map(|(status, name)| {
            (
                status.to_string(),
                RefOr::Ref(Ref::from_response_name(*name)),
            )
        })
        .collect()
}

/// What every endpoint for active members may answer besides its own: 401, 403, 500.
pub struct ActiveErrors;

impl IntoResponses for ActiveErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        by_name(&[
            ("401", "Unauthenticated"),
            ("403", "ForbiddenInactive"),
            ("500", "InternalError"),
        ])
    }
}

/// What every endpoint for the caller's own account may answer besides its own: 401, 403, 500.
pub struct SignedInErrors;

impl IntoResponses for SignedInErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        by_name(&[
            ("401", "Unauthenticated"),
            ("403", "ForbiddenDeactivated"),
            ("500", "InternalError"),
        ])
    }
}

/// What every endpoint of the Owner and Administrators may answer besides its own: 401, 403, 500.
pub struct AdminErrors;

impl IntoResponses for AdminErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        by_name(&[
            ("401", "Unauthenticated"),
            ("403", "ForbiddenManage"),
            ("500", "InternalError"),
        ])
    }
}

/// What an endpoint that reads a body may answer besides its own: 413.
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        by_name(&[("413", "PayloadTooLarge")])
    }
}
