//! SCIM's own group → role mappings (`/api/scim/settings`), as Label Studio Enterprise keeps them
//! apart from single sign-on's (SPEC section 11): read by the Owner and Administrators, changed
//! by the Owner.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{responses::*, ApiResult, Authorized, JsonBody};
use crate::{
    domain::RoleGroup,
    server::{
        auth::{Admin, Owner},
        error::ErrorBody,
        scim::token,
        AppState,
    },
};

/// SCIM's settings.
#[derive(Serialize, ToSchema)]
pub struct ScimSettingsView {
    /// `[role, group]` pairs, e.g. `[["Administrator", "label-admins"]]`: members of a SCIM
    /// group get its role (the most elevated wins; in no mapped group while there are mappings,
    /// Deactivated).
    #[schema(value_type = Vec<Vec<String>>)]
    roles_groups: Vec<RoleGroup>,
}

/// A change to SCIM's settings; a field left out keeps its value.
#[derive(ToSchema)]
pub struct ScimSettingsBody {
    /// `[role, group]` pairs; roles by name (`"Administrator"`, `"ANNOTATOR"`) or code; never
    /// the Owner.
    #[schema(value_type = Option<Vec<Vec<String>>>)]
    roles_groups: Option<Vec<RoleGroup>>,
}

impl<'de> Deserialize<'de> for ScimSettingsBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            roles_groups: Option<Vec<RoleGroup>>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            roles_groups: f.roles_groups,
        })
    }
}

/// The organization's SCIM settings
///
/// Owner or Administrator only.
#[utoipa::path(get, path = "/scim/settings", tag = "sso", operation_id = "getScimSettings",
    responses(
        (status = 200, description = "SCIM's group → role mappings.", body = ScimSettingsView),
        AdminErrors,
    ))]
pub async fn get_settings(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<ScimSettingsView> {
    Ok(Json(ScimSettingsView {
        roles_groups: token::settings(&state, &me).await?,
    }))
}

/// Change the organization's SCIM settings
///
/// Owner only; logged. Members' roles follow new mappings at the next change the identity
/// provider sends about them or their groups.
#[utoipa::path(post, path = "/scim/settings", tag = "sso", operation_id = "changeScimSettings",
    request_body = ScimSettingsBody,
    responses(
        (status = 200, description = "The settings as saved.", body = ScimSettingsView),
        (status = 400, description = "A body that cannot be read, or a mapping that is not valid.", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_settings(
    State(state): State<AppState>,
    Authorized(me): Authorized<Owner>,
    JsonBody(body): JsonBody<ScimSettingsBody>,
) -> ApiResult<ScimSettingsView> {
    let roles_groups = match body.roles_groups {
        Some(mappings) => token::save_settings(&state, &me, mappings).await?,
        None => token::settings(&state, &me.admin()).await?,
    };
    Ok(Json(ScimSettingsView { roles_groups }))
}
