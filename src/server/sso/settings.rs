//! An organization's single sign-on settings (SPEC section 10): read by its Owner and
//! Administrators, changed by its Owner under the organization's lock and logged. The email
//! domains they list are claimed in `sso_domains`, one organization per domain.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::{
    check_role_groups, AppError, OidcSettings, Protocol, Role, RoleGroup, SamlSettings,
};
use crate::server::{
    audit::Event,
    auth::{Admin, Owner},
    change::Change,
    db,
    error::{is_unique_violation, OrInternal},
    AppState,
};

/// What both protocols keep: who signs in here, and how their role is decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Common {
    pub domains: Vec<String>,
    pub mapping_email: String,
    pub mapping_first_name: String,
    pub mapping_last_name: String,
    pub mapping_groups: String,
    pub roles_groups: Vec<RoleGroup>,
    pub manual_role_management: bool,
    pub default_role: Role,
    pub link_existing_by_email: bool,
    pub sso_required: bool,
}

impl Common {
    /// What the groups decide for a member with role `current` (`None`: a new member).
    pub fn decide(&self, groups: &[String], current: Option<Role>) -> crate::domain::Mapped {
        crate::domain::role_from_groups(
            &self.roles_groups,
            groups,
            current,
            self.manual_role_management,
            self.default_role,
        )
    }
}

/// The OpenID Connect settings as stored (the secret included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOidc {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: String,
    #[serde(flatten)]
    pub common: Common,
}

/// The SAML settings as stored: the IdP's metadata as pasted (or fetched once from its address).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSaml {
    pub metadata_xml: String,
    pub metadata_url: String,
    /// Whether responses that answer no request of ours are taken (IdP-initiated sign-in).
    pub allow_idp_initiated: bool,
    #[serde(flatten)]
    pub common: Common,
}

/// A change to the SAML settings; a field left out keeps its value (the first change must give
/// the metadata, as XML or as an address to fetch it from once).
#[derive(Clone, Debug, Default)]
pub struct SamlChange {
    pub metadata_xml: Option<String>,
    pub metadata_url: Option<String>,
    pub allow_idp_initiated: Option<bool>,
    pub common: CommonChange,
}

/// A change to what both protocols keep; a field left out keeps its value.
#[derive(Clone, Debug, Default)]
pub struct CommonChange {
    pub domain: Option<String>,
    pub mapping_email: Option<String>,
    pub mapping_first_name: Option<String>,
    pub mapping_last_name: Option<String>,
    pub mapping_groups: Option<String>,
    pub roles_groups: Option<Vec<RoleGroup>>,
    pub manual_role_management: Option<bool>,
    pub default_role: Option<Role>,
    pub link_existing_by_email: Option<bool>,
    pub sso_required: Option<bool>,
}

/// A change to the OpenID Connect settings; a field left out keeps its value (the first change
/// must name the issuer and the client).
#[derive(Clone, Debug, Default)]
pub struct OidcChange {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<String>,
    pub common: CommonChange,
}

pub const DEFAULT_SCOPES: &str = "openid email profile groups";

/// The organization's OpenID Connect settings, if it has any.
pub async fn oidc(
    ex: impl sqlx::AnyExecutor<'_>,
    organization_id: i64,
) -> Result<Option<StoredOidc>, AppError> {
    let Some(text) = db::sso::settings(ex, organization_id, Protocol::Oidc)
        .await
        .or_internal("reading the SSO settings")?
    else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("the stored OIDC settings cannot be read: {e}")))
}

/// What a member of an organization that requires single sign-on is told when they try a
/// password.
pub const SSO_REQUIRED: &str = "Your organization signs in through single sign-on: use \"Continue with SSO\" on the sign-in page.";

/// Whether a member with `role` must sign in through single sign-on: the organization requires
/// it, and they are not its Owner (who keeps a password for when the provider fails).
pub async fn sso_required_for(
    ex: impl sqlx::AnyExecutor<'_>,
    organization_id: i64,
    role: Option<Role>,
) -> Result<bool, AppError> {
    if role == Some(Role::Owner) {
        return Ok(false);
    }
    let all = db::sso::all_settings(ex, organization_id)
        .await
        .or_internal("reading the SSO settings")?;
    Ok(all.iter().any(|text| {
        serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|settings| settings["sso_required"] == true)
    }))
}

/// The organization's SAML settings, if it has any.
pub async fn saml(
    ex: impl sqlx::AnyExecutor<'_>,
    organization_id: i64,
) -> Result<Option<StoredSaml>, AppError> {
    let Some(text) = db::sso::settings(ex, organization_id, Protocol::Saml)
        .await
        .or_internal("reading the SSO settings")?
    else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("the stored SAML settings cannot be read: {e}")))
}

/// The addresses of the organization's SSO endpoints, on the server's public origin.
pub struct Addresses {
    pub base: String,
    pub key: String,
}

impl Addresses {
    /// The addresses of the organization with SSO key `key`, as reached at `origin`.
    pub fn at(origin: &crate::server::origin::RequestOrigin, key: &str) -> Self {
        Self {
            base: format!("{}/sso/{key}", origin.public),
            key: key.to_owned(),
        }
    }

    pub async fn of(state: &AppState, me: &Admin) -> Result<Self, AppError> {
        let key = db::sso::key_of(state.db.pool(), me.organization_id())
            .await
            .or_internal("reading the organization's SSO key")?
            .ok_or_else(crate::server::auth::organization_not_found)?;
        Ok(Self::at(me.origin(), &key))
    }

    pub fn saml_metadata(&self) -> String {
        format!("{}/saml/metadata", self.base)
    }

    pub fn saml_acs(&self) -> String {
        format!("{}/saml/acs", self.base)
    }

    pub fn saml_login(&self) -> String {
        format!("{}/saml/login", self.base)
    }

    pub fn oidc_login(&self) -> String {
        format!("{}/oidc/login", self.base)
    }

    pub fn oidc_callback(&self) -> String {
        format!("{}/oidc/callback", self.base)
    }
}

fn view(stored: &StoredOidc, at: &Addresses) -> OidcSettings {
    let c = &stored.common;
    OidcSettings {
        issuer: stored.issuer.clone(),
        client_id: stored.client_id.clone(),
        client_secret_set: !stored.client_secret.is_empty(),
        scopes: stored.scopes.clone(),
        domain: c.domains.join(", "),
        mapping_email: c.mapping_email.clone(),
        mapping_first_name: c.mapping_first_name.clone(),
        mapping_last_name: c.mapping_last_name.clone(),
        mapping_groups: c.mapping_groups.clone(),
        roles_groups: c.roles_groups.clone(),
        manual_role_management: c.manual_role_management,
        default_role: c.default_role,
        link_existing_by_email: c.link_existing_by_email,
        sso_required: c.sso_required,
        redirect_url: at.oidc_callback(),
        login_url: at.oidc_login(),
    }
}

/// The settings as shown, or the defaults (and the addresses to register) when there are none.
pub async fn oidc_settings(state: &AppState, me: &Admin) -> Result<OidcSettings, AppError> {
    let at = Addresses::of(state, me).await?;
    let stored = oidc(state.db.pool(), me.organization_id()).await?;
    Ok(match stored {
        Some(stored) => view(&stored, &at),
        None => view(&defaults(), &at),
    })
}

fn defaults() -> StoredOidc {
    StoredOidc {
        issuer: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        scopes: DEFAULT_SCOPES.into(),
        common: Common {
            domains: Vec::new(),
            mapping_email: "email".into(),
            mapping_first_name: "given_name".into(),
            mapping_last_name: "family_name".into(),
            mapping_groups: "groups".into(),
            roles_groups: Vec::new(),
            manual_role_management: false,
            default_role: Role::NotActivated,
            link_existing_by_email: false,
            sso_required: false,
        },
    }
}

/// Changes the OpenID Connect settings (Owner only; logged without the secret's value).
pub async fn change_oidc(
    state: &AppState,
    me: &Owner,
    change: OidcChange,
) -> Result<OidcSettings, AppError> {
    let organization_id = me.organization_id();
    let mut unit = Change::by(state, me).await?;
    let before = oidc(&mut **unit.tx(), organization_id).await?;
    let mut after = before.clone().unwrap_or_else(defaults);
    let mut changed: Vec<&str> = Vec::new();
    let set = |changed: &mut Vec<&str>,
               field: &'static str,
               target: &mut String,
               value: Option<String>| {
        if let Some(value) = value {
            if *target != value {
                *target = value;
                changed.push(field);
            }
        }
    };
    set(
        &mut changed,
        "issuer",
        &mut after.issuer,
        change.issuer.map(|i| check_issuer(&i)).transpose()?,
    );
    set(
        &mut changed,
        "client_id",
        &mut after.client_id,
        change
            .client_id
            .map(|c| check_text("client_id", &c, 255))
            .transpose()?,
    );
    set(
        &mut changed,
        "client_secret",
        &mut after.client_secret,
        change.client_secret.map(|c| check_secret(&c)).transpose()?,
    );
    set(
        &mut changed,
        "scopes",
        &mut after.scopes,
        change.scopes.map(|s| check_scopes(&s)).transpose()?,
    );
    apply_common(&mut after.common, change.common, &mut changed, true)?;
    if after.issuer.is_empty() {
        return Err(AppError::invalid(
            "issuer",
            "Give the identity provider's issuer, for example https://login.example.com/realms/staff.",
        ));
    }
    if after.client_id.is_empty() {
        return Err(AppError::invalid(
            "client_id",
            "Give the client id the identity provider gave this application.",
        ));
    }
    let admin = me.admin();
    let at = Addresses::of(state, &admin).await?;
    if before.as_ref() == Some(&after) {
        return Ok(view(&after, &at));
    }
    let created = before.is_none();
    save(
        unit,
        me,
        Protocol::Oidc,
        &after,
        &after.common.domains,
        created,
        &changed,
    )
    .await?;
    tracing::info!(
        organization_id,
        by = me.user_id(),
        ?changed,
        "changed the OIDC settings"
    );
    Ok(view(&after, &at))
}

/// Removes the settings of `protocol`: its members sign in with passwords again (their
/// identities stay, for when it is set up again).
pub async fn delete(state: &AppState, me: &Owner, protocol: Protocol) -> Result<(), AppError> {
    let organization_id = me.organization_id();
    let mut unit = Change::by(state, me).await?;
    if !db::sso::delete_settings(&mut **unit.tx(), organization_id, protocol)
        .await
        .or_internal("deleting the SSO settings")?
    {
        return Ok(());
    }
    let organization = unit.organization_target(organization_id);
    unit.record(
        Event::by(me, crate::domain::Action::SsoSettingsChanged, organization).details(json!({
            "protocol": protocol.as_str(),
            "deleted": true,
        })),
    );
    unit.commit().await
}

fn saml_view(stored: &StoredSaml, at: &Addresses) -> SamlSettings {
    let c = &stored.common;
    SamlSettings {
        idp_entity_id: super::saml::idp(&stored.metadata_xml)
            .map(|idp| idp.entity_id)
            .unwrap_or_default(),
        metadata_xml: stored.metadata_xml.clone(),
        metadata_url: stored.metadata_url.clone(),
        domain: c.domains.join(", "),
        mapping_email: c.mapping_email.clone(),
        mapping_first_name: c.mapping_first_name.clone(),
        mapping_last_name: c.mapping_last_name.clone(),
        mapping_groups: c.mapping_groups.clone(),
        roles_groups: c.roles_groups.clone(),
        manual_role_management: c.manual_role_management,
        default_role: c.default_role,
        link_existing_by_email: c.link_existing_by_email,
        sso_required: c.sso_required,
        allow_idp_initiated: stored.allow_idp_initiated,
        acs_url: at.saml_acs(),
        login_url: at.saml_login(),
        metadata_xml_url: at.saml_metadata(),
        token: at.key.clone(),
    }
}

fn saml_defaults() -> StoredSaml {
    StoredSaml {
        metadata_xml: String::new(),
        metadata_url: String::new(),
        allow_idp_initiated: false,
        common: Common {
            // Empty: the NameID, when its format is an email address.
            mapping_email: String::new(),
            mapping_first_name: "firstName".into(),
            mapping_last_name: "lastName".into(),
            mapping_groups: "groups".into(),
            ..defaults().common
        },
    }
}

/// The SAML settings as shown, or the defaults (and the addresses for the IdP) when there are none.
pub async fn saml_settings(state: &AppState, me: &Admin) -> Result<SamlSettings, AppError> {
    let at = Addresses::of(state, me).await?;
    let stored = saml(state.db.pool(), me.organization_id()).await?;
    Ok(saml_view(&stored.unwrap_or_else(saml_defaults), &at))
}

/// Changes the SAML settings (Owner only; logged). The metadata must name the IdP, its
/// HTTP-Redirect sign-in address and a signing certificate; given as an address, it is fetched
/// once, now.
pub async fn change_saml(
    state: &AppState,
    me: &Owner,
    change: SamlChange,
) -> Result<SamlSettings, AppError> {
    let organization_id = me.organization_id();
    // Fetched before the change takes the organization's lock (it may take 10 s).
    let fetched = match change.metadata_url.as_deref().map(str::trim) {
        Some(url)
            if !url.is_empty() && change.metadata_xml.as_deref().is_none_or(str::is_empty) =>
        {
            let url = check_metadata_url(url)?;
            let xml = state.sso.fetch_text(&url).await.map_err(|why| {
                AppError::invalid(
                    "metadata_url",
                    format!("The metadata could not be fetched from {url}: {why}."),
                )
            })?;
            Some((url, xml))
        }
        _ => None,
    };
    let mut unit = Change::by(state, me).await?;
    let before = saml(&mut **unit.tx(), organization_id).await?;
    let mut after = before.clone().unwrap_or_else(saml_defaults);
    let mut changed: Vec<&'static str> = Vec::new();
    let new_xml = match fetched {
        Some((url, xml)) => {
            if after.metadata_url != url {
                after.metadata_url = url;
                changed.push("metadata_url");
            }
            Some(xml)
        }
        None => change.metadata_xml.filter(|x| !x.trim().is_empty()),
    };
    if let Some(xml) = new_xml {
        if xml.len() > 1_000_000 {
            return Err(AppError::invalid(
                "metadata_xml",
                "The metadata is larger than 1 MB.",
            ));
        }
        super::saml::idp(&xml).map_err(|why| {
            AppError::invalid(
                "metadata_xml",
                format!("The identity provider's metadata cannot be used: {why}."),
            )
        })?;
        if after.metadata_xml != xml {
            after.metadata_xml = xml;
            changed.push("metadata_xml");
        }
    }
    if let Some(allow) = change
        .allow_idp_initiated
        .filter(|a| *a != after.allow_idp_initiated)
    {
        after.allow_idp_initiated = allow;
        changed.push("allow_idp_initiated");
    }
    apply_common(&mut after.common, change.common, &mut changed, false)?;
    if after.metadata_xml.is_empty() {
        return Err(AppError::invalid(
            "metadata_xml",
            "Paste the identity provider's metadata XML (or give metadata_url, its address).",
        ));
    }
    let admin = me.admin();
    let at = Addresses::of(state, &admin).await?;
    if before.as_ref() == Some(&after) {
        return Ok(saml_view(&after, &at));
    }
    let created = before.is_none();
    save(
        unit,
        me,
        Protocol::Saml,
        &after,
        &after.common.domains,
        created,
        &changed,
    )
    .await?;
    tracing::info!(
        organization_id,
        by = me.user_id(),
        ?changed,
        "changed the SAML settings"
    );
    Ok(saml_view(&after, &at))
}

/// An https address to fetch metadata from (plain http only on the loopback).
fn check_metadata_url(url: &str) -> Result<String, AppError> {
    check_issuer(url).map_err(|_| {
        AppError::invalid(
            "metadata_url",
            "The metadata address must be an https address (for example https://idp.example.com/metadata).",
        )
    })
}

/// Saves the settings of `protocol` as `stored`, claims their domains and logs the change, which
/// it commits.
#[allow(clippy::too_many_arguments)]
async fn save(
    mut unit: Change<'_>,
    me: &Owner,
    protocol: Protocol,
    stored: &impl Serialize,
    domains: &[String],
    created: bool,
    changed: &[&str],
) -> Result<(), AppError> {
    let organization_id = me.organization_id();
    let now = unit.now();
    let text = serde_json::to_string(stored).or_internal("writing the SSO settings")?;
    db::sso::save_settings(&mut **unit.tx(), organization_id, protocol, &text, now)
        .await
        .or_internal("saving the SSO settings")?;
    claim_domains(&mut unit, organization_id, protocol, domains).await?;
    let organization = unit.organization_target(organization_id);
    unit.record(
        Event::by(me, crate::domain::Action::SsoSettingsChanged, organization).details(json!({
            "protocol": protocol.as_str(),
            "created": created,
            "changed": changed,
        })),
    );
    unit.commit().await
}

/// Applies a change to what both protocols keep, naming each field that changed.
/// `mapping_email` may be empty only for SAML (the NameID is the address then).
fn apply_common(
    c: &mut Common,
    change: CommonChange,
    changed: &mut Vec<&'static str>,
    email_required: bool,
) -> Result<(), AppError> {
    for (field, target, value) in [
        ("mapping_email", &mut c.mapping_email, change.mapping_email),
        (
            "mapping_first_name",
            &mut c.mapping_first_name,
            change.mapping_first_name,
        ),
        (
            "mapping_last_name",
            &mut c.mapping_last_name,
            change.mapping_last_name,
        ),
        (
            "mapping_groups",
            &mut c.mapping_groups,
            change.mapping_groups,
        ),
    ] {
        if let Some(value) = value {
            let value = check_claim(field, &value, email_required)?;
            if *target != value {
                *target = value;
                changed.push(field);
            }
        }
    }
    if let Some(domain) = change.domain {
        let domains = parse_domains(&domain)?;
        if domains != c.domains {
            c.domains = domains;
            changed.push("domain");
        }
    }
    if let Some(mappings) = change.roles_groups {
        check_role_groups(&mappings)?;
        if mappings != c.roles_groups {
            c.roles_groups = mappings;
            changed.push("roles_groups");
        }
    }
    if let Some(role) = change.default_role {
        if matches!(role, Role::Owner | Role::Deactivated) {
            return Err(AppError::invalid(
                "default_role",
                "A new account's role is Pending (NOT_ACTIVATED), Administrator, Manager, Reviewer or Annotator.",
            ));
        }
        if role != c.default_role {
            c.default_role = role;
            changed.push("default_role");
        }
    }
    for (field, target, value) in [
        (
            "manual_role_management",
            &mut c.manual_role_management,
            change.manual_role_management,
        ),
        (
            "link_existing_by_email",
            &mut c.link_existing_by_email,
            change.link_existing_by_email,
        ),
        ("sso_required", &mut c.sso_required, change.sso_required),
    ] {
        if let Some(value) = value.filter(|v| v != target) {
            *target = value;
            changed.push(field);
        }
    }
    Ok(())
}

/// Claims the listed domains for the organization's `protocol`, in place of those it claimed.
async fn claim_domains(
    unit: &mut Change<'_>,
    organization_id: i64,
    protocol: Protocol,
    domains: &[String],
) -> Result<(), AppError> {
    let tx = unit.tx();
    db::sso::forget_domains(&mut **tx, organization_id, protocol)
        .await
        .or_internal("releasing the SSO domains")?;
    for domain in domains {
        let taken = || {
            AppError::invalid(
                "domain",
                format!("{domain} already signs in through another identity provider: remove it there first, or leave it out."),
            )
        };
        if db::sso::domain_owner(&mut **tx, domain)
            .await
            .or_internal("reading the SSO domains")?
            .is_some()
        {
            return Err(taken());
        }
        match db::sso::claim_domain(&mut **tx, domain, organization_id, protocol).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => return Err(taken()),
            Err(e) => return Err(e).or_internal("claiming an SSO domain"),
        }
    }
    Ok(())
}

/// How many email domains one organization may list.
const MAX_DOMAINS: usize = 50;

/// The email domains of a comma- (or space-) separated list, lower case and in ASCII (IDNA).
pub fn parse_domains(list: &str) -> Result<Vec<String>, AppError> {
    let invalid = |message: String| AppError::invalid("domain", message);
    let mut domains: Vec<String> = Vec::new();
    for raw in list
        .split([',', ' ', '\n', '\t', ';'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let raw = raw.trim_start_matches('@');
        let ascii = idna::domain_to_ascii(raw)
            .ok()
            .filter(|d| is_domain(d))
            .ok_or_else(|| {
                invalid(format!(
                    "\"{raw}\" is not an email domain: write domains like example.com, separated by commas."
                ))
            })?;
        if !domains.contains(&ascii) {
            domains.push(ascii);
        }
    }
    if domains.len() > MAX_DOMAINS {
        return Err(invalid(format!("List at most {MAX_DOMAINS} domains.")));
    }
    Ok(domains)
}

fn is_domain(d: &str) -> bool {
    (3..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// An issuer: an `https` URL (plain `http` only on this machine's loopback), without query or
/// fragment; kept exactly as written, since the provider's tokens must name it so.
fn check_issuer(issuer: &str) -> Result<String, AppError> {
    let issuer = issuer.trim();
    let invalid = |why: &str| {
        AppError::invalid(
            "issuer",
            format!("The issuer must be the identity provider's https address, as its tokens name it (for example https://login.example.com/realms/staff): {why}."),
        )
    };
    let url = url::Url::parse(issuer).map_err(|_| invalid("this is not an address"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid("it must start with https://")),
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has no host, or has a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry a user name or password"));
    }
    if issuer.len() > 2000 {
        return Err(invalid("it is too long"));
    }
    Ok(issuer.to_owned())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("{field} must be 1 to {max} characters, without control characters."),
        ));
    }
    Ok(value.to_owned())
}

/// The client secret; empty for a public client (PKCE alone).
fn check_secret(value: &str) -> Result<String, AppError> {
    if value.chars().count() > 1024 || value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "client_secret",
            "The client secret must be at most 1024 characters, without control characters.",
        ));
    }
    Ok(value.to_owned())
}

/// Scopes separated by spaces (or commas); `openid` is always among them.
fn check_scopes(value: &str) -> Result<String, AppError> {
    let mut scopes = vec!["openid".to_owned()];
    for scope in value.split([' ', ',']).filter(|s| !s.is_empty()) {
        if scope.len() > 100
            || !scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err(AppError::invalid(
                "scopes",
                format!("\"{scope}\" is not a scope: scopes are words like openid, email or groups, separated by spaces."),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.len() > 30 {
        return Err(AppError::invalid("scopes", "Ask for at most 30 scopes."));
    }
    Ok(scopes.join(" "))
}

/// The name of a claim or attribute; an empty one is allowed for names (not read).
fn check_claim(field: &str, value: &str, email_required: bool) -> Result<String, AppError> {
    let value = value.trim();
    let required = field == "mapping_email" && email_required;
    if (required && value.is_empty())
        || value.chars().count() > 200
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::invalid(
            field,
            format!(
                "{field} names the claim that carries it (at most 200 characters, no spaces{}).",
                if required { ", required" } else { "" }
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_listed_once_in_lower_case_ascii() {
        assert_eq!(
            parse_domains("Example.com, @staff.example.org;example.com bücher.de").unwrap(),
            vec!["example.com", "staff.example.org", "xn--bcher-kva.de"]
        );
        assert_eq!(parse_domains(" ").unwrap(), Vec::<String>::new());
        for bad in ["localhost", "a@b.com", "-x.com", "x..com", "exa mple"] {
            if let Ok(d) = parse_domains(bad) {
                assert!(d.len() != 1 || bad.split(' ').count() > 1, "{bad}: {d:?}");
            }
        }
        assert!(parse_domains("localhost").is_err());
        assert!(parse_domains("a@b.com").is_err());
        assert!(parse_domains("-x.com").is_err());
    }

    #[test]
    fn issuers_are_https_except_on_the_loopback() {
        assert!(check_issuer("https://login.example.com/realms/a").is_ok());
        assert!(check_issuer("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer("http://localhost:4000/").is_ok());
        assert!(check_issuer("http://login.example.com").is_err());
        assert!(check_issuer("https://login.example.com/?x=1").is_err());
        assert!(check_issuer("ftp://x.com").is_err());
        assert!(check_issuer("not a url").is_err());
    }

    #[test]
    fn openid_is_always_a_scope() {
        assert_eq!(check_scopes("email groups").unwrap(), "openid email groups");
        assert_eq!(check_scopes("openid,email").unwrap(), "openid email");
        assert!(check_scopes("a\"b").is_err());
    }
}
