//! The single sign-on settings as the SSO page reads and saves them.

// The settings form has a field per setting, and a server function takes them as arguments.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::domain::{AppError, OidcSettings, RoleGroup, SamlSettings};

/// The organization's OpenID Connect settings (Owner and Administrators), never the secret.
#[server(prefix = "/_sfn", endpoint = "sso/oidc_settings")]
pub async fn get_oidc_settings() -> Result<OidcSettings, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, sso::settings};
    authorized(|state, me: Admin| async move { settings::oidc_settings(&state, &me).await }).await
}

/// Saves the OpenID Connect settings (Owner only). The switches are checkboxes (sent when on);
/// an empty client secret keeps the stored one; the mappings are the table's rows
/// (`mapping_role[i]`, `mapping_group[i]`), blank ones left out.
#[server(prefix = "/_sfn", endpoint = "sso/save_oidc_settings")]
pub async fn save_oidc_settings(
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: String,
    domain: String,
    mapping_email: String,
    mapping_groups: String,
    default_role: String,
    link_existing_by_email: Option<String>,
    sso_required: Option<String>,
    manual_role_management: Option<String>,
    mapping_role: Option<Vec<String>>,
    mapping_group: Option<Vec<String>>,
) -> Result<OidcSettings, AppError> {
    use super::ssr::*;
    use crate::{
        domain::Role,
        server::{
            auth::Owner,
            sso::settings::{self, CommonChange, OidcChange},
        },
    };
    authorized(|state, me: Owner| async move {
        let mappings = table_rows(mapping_role, mapping_group)?;
        let change = OidcChange {
            issuer: Some(issuer),
            client_id: Some(client_id),
            client_secret: client_secret.filter(|s| !s.is_empty()),
            scopes: Some(scopes),
            common: CommonChange {
                domain: Some(domain),
                mapping_email: Some(mapping_email),
                mapping_groups: Some(mapping_groups),
                roles_groups: Some(mappings),
                default_role: Some(default_role.parse::<Role>()?),
                link_existing_by_email: Some(link_existing_by_email.is_some()),
                sso_required: Some(sso_required.is_some()),
                manual_role_management: Some(manual_role_management.is_some()),
                ..CommonChange::default()
            },
        };
        settings::change_oidc(&state, &me, change).await
    })
    .await
}

/// The signed-in account's single sign-on identities (the Account page).
#[server(prefix = "/_sfn", endpoint = "sso/identities")]
pub async fn list_identities() -> Result<crate::domain::SsoIdentities, AppError> {
    use super::ssr::*;
    use crate::server::{auth::SignedIn, sso::identities};
    authorized(|state, me: SignedIn| async move { identities::list(&state, &me).await }).await
}

/// Unlinks one of the signed-in account's identities (refused while it has no password).
#[server(prefix = "/_sfn", endpoint = "sso/unlink")]
pub async fn unlink_identity(id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::SignedIn, sso::identities};
    authorized(|state, me: SignedIn| async move { identities::unlink(&state, &me, id).await }).await
}

/// The mapping table's rows (`mapping_role[i]`, `mapping_group[i]`), blank ones left out.
pub fn table_rows(
    roles: Option<Vec<String>>,
    groups: Option<Vec<String>>,
) -> Result<Vec<RoleGroup>, AppError> {
    use crate::domain::{MappedRole, Role};
    let roles = roles.unwrap_or_default();
    let groups = groups.unwrap_or_default();
    let mut mappings = Vec::new();
    for (role, group) in roles.iter().zip(groups.iter()) {
        if group.trim().is_empty() {
            continue;
        }
        let role = role
            .parse::<Role>()
            .and_then(MappedRole::new)
            .map_err(|e| AppError::invalid("roles_groups", e.to_string()))?;
        mappings.push(RoleGroup(role, group.trim().to_owned()));
    }
    Ok(mappings)
}

/// The organization's SAML settings (Owner and Administrators).
#[server(prefix = "/_sfn", endpoint = "sso/saml_settings")]
pub async fn get_saml_settings() -> Result<SamlSettings, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, sso::settings};
    authorized(|state, me: Admin| async move { settings::saml_settings(&state, &me).await }).await
}

/// Saves the SAML settings (Owner only): as the OpenID Connect ones; empty metadata keeps the
/// stored metadata.
#[server(prefix = "/_sfn", endpoint = "sso/save_saml_settings")]
pub async fn save_saml_settings(
    metadata_xml: String,
    domain: String,
    mapping_email: String,
    mapping_groups: String,
    default_role: String,
    link_existing_by_email: Option<String>,
    sso_required: Option<String>,
    manual_role_management: Option<String>,
    allow_idp_initiated: Option<String>,
    mapping_role: Option<Vec<String>>,
    mapping_group: Option<Vec<String>>,
) -> Result<SamlSettings, AppError> {
    use super::ssr::*;
    use crate::{
        domain::Role,
        server::{
            auth::Owner,
            sso::settings::{self, CommonChange, SamlChange},
        },
    };
    authorized(|state, me: Owner| async move {
        let change = SamlChange {
            metadata_xml: Some(metadata_xml).filter(|x| !x.trim().is_empty()),
            metadata_url: None,
            allow_idp_initiated: Some(allow_idp_initiated.is_some()),
            common: CommonChange {
                domain: Some(domain),
                mapping_email: Some(mapping_email),
                mapping_groups: Some(mapping_groups),
                roles_groups: Some(table_rows(mapping_role, mapping_group)?),
                default_role: Some(default_role.parse::<Role>()?),
                link_existing_by_email: Some(link_existing_by_email.is_some()),
                sso_required: Some(sso_required.is_some()),
                manual_role_management: Some(manual_role_management.is_some()),
                ..CommonChange::default()
            },
        };
        settings::change_saml(&state, &me, change).await
    })
    .await
}
