//! Single sign-on settings (`/api/saml/settings`, `/api/oidc/settings`), in Label Studio
//! Enterprise's shape (SPEC section 10): read by the Owner and Administrators, changed and removed
//! by the Owner.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{responses::*, ApiResult, Authorized, JsonBody};
use crate::{
    domain::{OidcSettings, Protocol, Role, RoleGroup, SamlSettings},
    server::{
        auth::{Admin, Owner},
        error::{ApiError, ErrorBody},
        sso::settings::{self, CommonChange, OidcChange, SamlChange},
        AppState,
    },
};

/// An organization's OpenID Connect settings. The client secret is never returned.
#[derive(Serialize, ToSchema)]
pub struct OidcSettingsView {
    /// The provider's issuer; `/.well-known/openid-configuration` under it describes the provider.
    issuer: String,
    client_id: String,
    /// Whether a client secret is stored.
    client_secret_set: bool,
    /// The scopes asked for, separated by spaces.
    scopes: String,
    /// The email domains that sign in through this provider, separated by commas.
    domain: String,
    /// The claim with the email address (default `email`; it must be verified).
    mapping_email: String,
    mapping_first_name: String,
    mapping_last_name: String,
    /// The claim with the groups (default `groups`).
    mapping_groups: String,
    /// `[role, group]` pairs, e.g. `[["Administrator", "label-admins"]]`.
    #[schema(value_type = Vec<Vec<String>>)]
    roles_groups: Vec<RoleGroup>,
    /// Whether groups decide the role only when the account is made.
    manual_role_management: bool,
    /// The role of a new account when no group is mapped.
    default_role: Role,
    /// Whether an identity is linked to the existing account of a member with its address.
    link_existing_by_email: bool,
    /// Whether members must sign in through the provider (the Owner keeps a password).
    sso_required: bool,
    /// The redirect address to register at the provider.
    redirect_url: String,
    /// Where a sign-in through the provider starts.
    login_url: String,
}

impl From<OidcSettings> for OidcSettingsView {
    fn from(s: OidcSettings) -> Self {
        Self {
            issuer: s.issuer,
            client_id: s.client_id,
            client_secret_set: s.client_secret_set,
            scopes: s.scopes,
            domain: s.domain,
            mapping_email: s.mapping_email,
            mapping_first_name: s.mapping_first_name,
            mapping_last_name: s.mapping_last_name,
            mapping_groups: s.mapping_groups,
            roles_groups: s.roles_groups,
            manual_role_management: s.manual_role_management,
            default_role: s.default_role,
            link_existing_by_email: s.link_existing_by_email,
            sso_required: s.sso_required,
            redirect_url: s.redirect_url,
            login_url: s.login_url,
        }
    }
}

/// The organization's OpenID Connect settings
///
/// With the redirect address to register at the provider. Defaults when none are saved. Owner or
/// Administrator only.
#[utoipa::path(get, path = "/oidc/settings", tag = "sso", operation_id = "getOidcSettings",
    responses(
        (status = 200, description = "The settings (never the client secret).", body = OidcSettingsView),
        AdminErrors,
    ))]
pub async fn get_oidc(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<OidcSettingsView> {
    Ok(Json(settings::oidc_settings(&state, &me).await?.into()))
}

/// A change to the OpenID Connect settings; a field left out keeps its value. The first one
/// names the issuer and the client id.
#[derive(ToSchema)]
pub struct OidcSettingsBody {
    /// An https address (plain http only on the loopback), exactly as the provider's tokens name it.
    issuer: Option<String>,
    client_id: Option<String>,
    /// Write-only; an empty string removes it (a public client, PKCE alone).
    client_secret: Option<String>,
    /// Separated by spaces; `openid` is always asked for.
    scopes: Option<String>,
    /// Email domains, separated by commas; each signs in through one organization only.
    domain: Option<String>,
    mapping_email: Option<String>,
    mapping_first_name: Option<String>,
    mapping_last_name: Option<String>,
    mapping_groups: Option<String>,
    /// `[role, group]` pairs: roles Administrator, Manager, Reviewer or Annotator (any case, or
    /// their codes); group names as the provider sends them (case-sensitive).
    #[schema(value_type = Option<Vec<Vec<String>>>)]
    roles_groups: Option<Vec<RoleGroup>>,
    manual_role_management: Option<bool>,
    /// NOT_ACTIVATED (Pending, the default), ADMINISTRATOR, MANAGER, REVIEWER or ANNOTATOR.
    default_role: Option<Role>,
    link_existing_by_email: Option<bool>,
    sso_required: Option<bool>,
}

impl<'de> Deserialize<'de> for OidcSettingsBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            issuer: Option<String>,
            client_id: Option<String>,
            client_secret: Option<String>,
            scopes: Option<String>,
            domain: Option<String>,
            mapping_email: Option<String>,
            mapping_first_name: Option<String>,
            mapping_last_name: Option<String>,
            mapping_groups: Option<String>,
            roles_groups: Option<Vec<RoleGroup>>,
            manual_role_management: Option<bool>,
            default_role: Option<Role>,
            link_existing_by_email: Option<bool>,
            sso_required: Option<bool>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            issuer: f.issuer,
            client_id: f.client_id,
            client_secret: f.client_secret,
            scopes: f.scopes,
            domain: f.domain,
            mapping_email: f.mapping_email,
            mapping_first_name: f.mapping_first_name,
            mapping_last_name: f.mapping_last_name,
            mapping_groups: f.mapping_groups,
            roles_groups: f.roles_groups,
            manual_role_management: f.manual_role_management,
            default_role: f.default_role,
            link_existing_by_email: f.link_existing_by_email,
            sso_required: f.sso_required,
        })
    }
}

/// Change the organization's OpenID Connect settings
///
/// Owner only; logged (never the secret's value). A domain another organization signs in
/// already is refused with 400.
#[utoipa::path(post, path = "/oidc/settings", tag = "sso", operation_id = "changeOidcSettings",
    request_body = OidcSettingsBody,
    responses(
        (status = 200, description = "The settings as saved.", body = OidcSettingsView),
        (status = 400, description = "A body that cannot be read, or a value that is not valid (the field is named).", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_oidc(
    State(state): State<AppState>,
    Authorized(me): Authorized<Owner>,
    JsonBody(body): JsonBody<OidcSettingsBody>,
) -> ApiResult<OidcSettingsView> {
    let change = OidcChange {
        issuer: body.issuer,
        client_id: body.client_id,
        client_secret: body.client_secret,
        scopes: body.scopes,
        common: CommonChange {
            domain: body.domain,
            mapping_email: body.mapping_email,
            mapping_first_name: body.mapping_first_name,
            mapping_last_name: body.mapping_last_name,
            mapping_groups: body.mapping_groups,
            roles_groups: body.roles_groups,
            manual_role_management: body.manual_role_management,
            default_role: body.default_role,
            link_existing_by_email: body.link_existing_by_email,
            sso_required: body.sso_required,
        },
    };
    Ok(Json(
        settings::change_oidc(&state, &me, change).await?.into(),
    ))
}

/// Remove the organization's OpenID Connect settings
///
/// Owner only; logged. Members sign in with passwords again; identities already linked are kept
/// for when it is set up again.
#[utoipa::path(delete, path = "/oidc/settings", tag = "sso", operation_id = "deleteOidcSettings",
    responses(
        (status = 204, description = "Removed (or there were none)."),
        AdminErrors,
    ))]
pub async fn delete_oidc(
    State(state): State<AppState>,
    Authorized(me): Authorized<Owner>,
) -> Result<StatusCode, ApiError> {
    settings::delete(&state, &me, Protocol::Oidc).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organization's SAML settings, with the addresses to give the identity provider.
#[derive(Serialize, ToSchema)]
pub struct SamlSettingsView {
    /// The identity provider's metadata (an EntityDescriptor).
    metadata_xml: String,
    /// Where the metadata was fetched from, once, if it was.
    metadata_url: String,
    /// The identity provider's entity id, from its metadata.
    idp_entity_id: String,
    /// The email domains that sign in through this provider, separated by commas.
    domain: String,
    /// The attribute with the email address; empty: the NameID (in the email address format).
    mapping_email: String,
    mapping_first_name: String,
    mapping_last_name: String,
    /// The attribute with the groups (default `groups`).
    mapping_groups: String,
    /// `[role, group]` pairs, e.g. `[["Administrator", "label-admins"]]`.
    #[schema(value_type = Vec<Vec<String>>)]
    roles_groups: Vec<RoleGroup>,
    manual_role_management: bool,
    default_role: Role,
    link_existing_by_email: bool,
    sso_required: bool,
    /// Whether responses that answer no request of ours are taken (IdP-initiated sign-in).
    allow_idp_initiated: bool,
    /// The Assertion Consumer Service (HTTP-POST) to register at the provider.
    acs_url: String,
    /// Where a sign-in through the provider starts.
    login_url: String,
    /// Our metadata; its address is also our entity id (the Audience).
    metadata_xml_url: String,
    /// The organization's key in these addresses.
    token: String,
}

impl From<SamlSettings> for SamlSettingsView {
    fn from(s: SamlSettings) -> Self {
        Self {
            metadata_xml: s.metadata_xml,
            metadata_url: s.metadata_url,
            idp_entity_id: s.idp_entity_id,
            domain: s.domain,
            mapping_email: s.mapping_email,
            mapping_first_name: s.mapping_first_name,
            mapping_last_name: s.mapping_last_name,
            mapping_groups: s.mapping_groups,
            roles_groups: s.roles_groups,
            manual_role_management: s.manual_role_management,
            default_role: s.default_role,
            link_existing_by_email: s.link_existing_by_email,
            sso_required: s.sso_required,
            allow_idp_initiated: s.allow_idp_initiated,
            acs_url: s.acs_url,
            login_url: s.login_url,
            metadata_xml_url: s.metadata_xml_url,
            token: s.token,
        }
    }
}

/// The organization's SAML settings
///
/// With the addresses to register at the identity provider (ACS, our metadata and entity id).
/// Defaults when none are saved. Owner or Administrator only.
#[utoipa::path(get, path = "/saml/settings", tag = "sso", operation_id = "getSamlSettings",
    responses(
        (status = 200, description = "The settings.", body = SamlSettingsView),
        AdminErrors,
    ))]
pub async fn get_saml(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<SamlSettingsView> {
    Ok(Json(settings::saml_settings(&state, &me).await?.into()))
}

/// A change to the SAML settings; a field left out keeps its value. The first one gives the
/// identity provider's metadata.
#[derive(ToSchema)]
pub struct SamlSettingsBody {
    /// The identity provider's metadata XML: its entity id, an HTTP-Redirect SingleSignOnService
    /// and a signing certificate.
    metadata_xml: Option<String>,
    /// Or the https address of that metadata, fetched once, now.
    metadata_url: Option<String>,
    /// Email domains, separated by commas; each signs in through one organization only.
    domain: Option<String>,
    mapping_email: Option<String>,
    mapping_first_name: Option<String>,
    mapping_last_name: Option<String>,
    mapping_groups: Option<String>,
    #[schema(value_type = Option<Vec<Vec<String>>>)]
    roles_groups: Option<Vec<RoleGroup>>,
    manual_role_management: Option<bool>,
    default_role: Option<Role>,
    link_existing_by_email: Option<bool>,
    sso_required: Option<bool>,
    allow_idp_initiated: Option<bool>,
}

impl<'de> Deserialize<'de> for SamlSettingsBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            metadata_xml: Option<String>,
            metadata_url: Option<String>,
            domain: Option<String>,
            mapping_email: Option<String>,
            mapping_first_name: Option<String>,
            mapping_last_name: Option<String>,
            mapping_groups: Option<String>,
            roles_groups: Option<Vec<RoleGroup>>,
            manual_role_management: Option<bool>,
            default_role: Option<Role>,
            link_existing_by_email: Option<bool>,
            sso_required: Option<bool>,
            allow_idp_initiated: Option<bool>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            metadata_xml: f.metadata_xml,
            metadata_url: f.metadata_url,
            domain: f.domain,
            mapping_email: f.mapping_email,
            mapping_first_name: f.mapping_first_name,
            mapping_last_name: f.mapping_last_name,
            mapping_groups: f.mapping_groups,
            roles_groups: f.roles_groups,
            manual_role_management: f.manual_role_management,
            default_role: f.default_role,
            link_existing_by_email: f.link_existing_by_email,
            sso_required: f.sso_required,
            allow_idp_initiated: f.allow_idp_initiated,
        })
    }
}

/// Change the organization's SAML settings
///
/// Owner only; logged. Metadata that names no entity id, no HTTP-Redirect sign-in address or no
/// signing certificate is refused with 400, and so is a domain another organization signs in.
#[utoipa::path(post, path = "/saml/settings", tag = "sso", operation_id = "changeSamlSettings",
    request_body = SamlSettingsBody,
    responses(
        (status = 200, description = "The settings as saved.", body = SamlSettingsView),
        (status = 400, description = "A body that cannot be read, or a value that is not valid (the field is named).", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_saml(
    State(state): State<AppState>,
    Authorized(me): Authorized<Owner>,
    JsonBody(body): JsonBody<SamlSettingsBody>,
) -> ApiResult<SamlSettingsView> {
    let change = SamlChange {
        metadata_xml: body.metadata_xml,
        metadata_url: body.metadata_url,
        allow_idp_initiated: body.allow_idp_initiated,
        common: CommonChange {
            domain: body.domain,
            mapping_email: body.mapping_email,
            mapping_first_name: body.mapping_first_name,
            mapping_last_name: body.mapping_last_name,
            mapping_groups: body.mapping_groups,
            roles_groups: body.roles_groups,
            manual_role_management: body.manual_role_management,
            default_role: body.default_role,
            link_existing_by_email: body.link_existing_by_email,
            sso_required: body.sso_required,
        },
    };
    Ok(Json(
        settings::change_saml(&state, &me, change).await?.into(),
    ))
}

/// Remove the organization's SAML settings
///
/// Owner only; logged. Identities already linked are kept for when it is set up again.
#[utoipa::path(delete, path = "/saml/settings", tag = "sso", operation_id = "deleteSamlSettings",
    responses(
        (status = 204, description = "Removed (or there were none)."),
        AdminErrors,
    ))]
pub async fn delete_saml(
    State(state): State<AppState>,
    Authorized(me): Authorized<Owner>,
) -> Result<StatusCode, ApiError> {
    settings::delete(&state, &me, Protocol::Saml).await?;
    Ok(StatusCode::NO_CONTENT)
}
