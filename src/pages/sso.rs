//! The single sign-on page (`/organization/sso`): for SAML 2.0 and for OpenID Connect, what to
//! register at the identity provider, the settings, and the table that maps the provider's groups
//! to roles; then SCIM provisioning. The Owner changes them; Administrators see them.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::sso::{get_oidc_settings, get_saml_settings, SaveOidcSettings, SaveSamlSettings},
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        gate::Gate,
        load::load,
        mapping_table::MappingTable,
        scim::ScimCard,
    },
    domain::{AppError, Need, OidcSettings, Role, RoleGroup, SamlSettings},
};

#[component]
pub fn SsoPage() -> impl IntoView {
    view! {
        <Title text="Single sign-on" />
        <Gate
            need=Need::Admin
            render=|user| view! { <SsoPanel is_owner={user.role == Some(Role::Owner)} /> }.into_any()
        />
    }
}

#[component]
fn SsoPanel(is_owner: bool) -> impl IntoView {
    let saml = load(|| (), |_| get_saml_settings());
    let oidc = load(|| (), |_| get_oidc_settings());
    let save_saml = ServerAction::<SaveSamlSettings>::new();
    let save_oidc = ServerAction::<SaveOidcSettings>::new();
    on_success(save_saml, move |_| saml.refetch());
    on_success(save_oidc, move |_| oidc.refetch());
    view! {
        <p><A href="/organization">"← Organization"</A></p>
        <h1>"Single sign-on"</h1>
        <p class="hint">
            "People of your email domains sign in through your identity provider, with \"Continue \
             with SSO\" on the sign-in page; their groups there decide their role here. Set up \
             SAML or OpenID Connect, whichever your provider offers."
        </p>
        {(!is_owner).then(|| view! {
            <p class="hint">"Only the Owner changes these settings."</p>
        }.into_any())}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || saml.get().map(|result| match result {
                Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                Ok(current) => view! { <SamlCard current save=save_saml is_owner /> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || oidc.get().map(|result| match result {
                Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                Ok(current) => view! { <OidcCard current save=save_oidc is_owner /> }.into_any(),
            })}
        </Transition>
        <ScimCard is_owner />
    }
}

/// A read-only address to copy into the provider's settings.
#[component]
fn Address(id: &'static str, label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id class="token" readonly value=value />
        </div>
    }
}

/// "Test sign-in", once the protocol is set up.
#[component]
fn TestSignIn(login_url: String) -> impl IntoView {
    view! {
        <p>
            <a class="button" href=format!("{login_url}?test=1") target="_blank" rel="noopener" data-testid="sso-test">
                "Test sign-in"
            </a>
            " "
            <span class="hint">"Signs you in at the provider in a new tab and shows what it sent and the role it would give, without signing anyone in here."</span>
        </p>
    }
}

/// Whether a save just succeeded (with JavaScript, or coming back from a plain form post).
fn saved(
    pending: impl Fn() -> bool + Send + Sync + 'static,
    succeeded: impl Fn() -> Option<bool> + Send + Sync + 'static,
    done_without_js: bool,
) -> impl Fn() -> bool + Send + Sync + 'static {
    move || !pending() && succeeded().unwrap_or(done_without_js)
}

#[component]
fn SamlCard(
    current: SamlSettings,
    save: ServerAction<SaveSamlSettings>,
    is_owner: bool,
) -> impl IntoView {
    let value = save.value();
    let is_saved = saved(
        move || save.pending().get(),
        move || value.get().map(|r| r.is_ok()),
        done_without_js(<SaveSamlSettings as ServerFn>::PATH),
    );
    let error = Signal::derive(move || value.get().and_then(Result::err));
    let configured = !current.idp_entity_id.is_empty();
    let metadata_hint = if configured {
        format!("Stored: the metadata of {}. Paste new metadata to replace it, or leave this empty to keep it.", current.idp_entity_id)
    } else {
        "Paste the identity provider's metadata XML: it names the provider, its sign-in address and its signing certificate.".to_owned()
    };
    view! {
        <section class="card" data-testid="sso-saml">
            <h2>"SAML 2.0"</h2>
            <Address id="saml-entity-id" label="Entity id and metadata address (give it to the provider)" value=current.metadata_xml_url />
            <Address id="saml-acs-url" label="Assertion Consumer Service (HTTP-POST)" value=current.acs_url />
            {configured.then(|| view! { <TestSignIn login_url=current.login_url.clone() /> }.into_any())}
            <ActionForm action=save>
                <fieldset disabled=!is_owner class="plain">
                    <div class="field" class:has-error=move || error.get().and_then(|e| e.for_field("metadata_xml")).is_some()>
                        <label for="field-metadata_xml">"Identity provider metadata (XML)"</label>
                        <textarea id="field-metadata_xml" name="metadata_xml" rows="5" class="token" placeholder=metadata_hint></textarea>
                        <ErrorLine field=true message=move || error.get().and_then(|e| e.for_field("metadata_xml")) />
                    </div>
                    <CommonFields
                        prefix="saml-"
                        domain=current.domain
                        mapping_email=current.mapping_email
                        email_label="Attribute with the email address (empty: the NameID)"
                        mapping_groups=current.mapping_groups
                        roles_groups=current.roles_groups
                        default_role=current.default_role
                        manual_role_management=current.manual_role_management
                        link_existing_by_email=current.link_existing_by_email
                        sso_required=current.sso_required
                        error
                    />
                    <label class="check">
                        <input type="checkbox" name="allow_idp_initiated" value="on" checked=current.allow_idp_initiated />
                        " Accept sign-ins started at the provider (IdP-initiated)"
                    </label>
                    <ErrorLine message=form_error(move || value.get(), &["metadata_xml", "domain", "mapping_email", "mapping_groups", "roles_groups", "default_role"]) />
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || save.pending().get()>
                            {move || if save.pending().get() { "Saving…" } else { "Save SAML" }}
                        </button>
                        <span class="saved" role="status">{move || is_saved().then_some("Saved.")}</span>
                    </div>
                </fieldset>
            </ActionForm>
        </section>
    }
}

#[component]
fn OidcCard(
    current: OidcSettings,
    save: ServerAction<SaveOidcSettings>,
    is_owner: bool,
) -> impl IntoView {
    let value = save.value();
    let is_saved = saved(
        move || save.pending().get(),
        move || value.get().map(|r| r.is_ok()),
        done_without_js(<SaveOidcSettings as ServerFn>::PATH),
    );
    let error = Signal::derive(move || value.get().and_then(Result::err));
    let field = move |name| Signal::derive(field_error(move || value.get(), name));
    let configured = !current.issuer.is_empty();
    let secret_hint = if current.client_secret_set {
        "A secret is stored; leave this empty to keep it."
    } else {
        "Empty for a public client (PKCE alone)."
    };
    view! {
        <section class="card" data-testid="sso-oidc">
            <h2>"OpenID Connect"</h2>
            <p class="hint">
                "Register this application as a client (authorization code flow with PKCE) with \
                 this redirect address, and release the email, email_verified and groups claims \
                 in the ID token."
            </p>
            <Address id="sso-redirect-url" label="Redirect address" value=current.redirect_url />
            <Address id="sso-login-url" label="Sign-in address (for the provider's app launcher)" value=current.login_url.clone() />
            {configured.then(|| view! { <TestSignIn login_url=current.login_url.clone() /> }.into_any())}
            <ActionForm action=save>
                <fieldset disabled=!is_owner class="plain">
                    <Field label="Issuer" name="issuer" kind="url" value=current.issuer error=field("issuer") />
                    <Field label="Client id" name="client_id" value=current.client_id error=field("client_id") />
                    <div class="field" class:has-error=move || field("client_secret").get().is_some()>
                        <label for="field-client_secret">"Client secret"</label>
                        <input id="field-client_secret" name="client_secret" type="password"
                            autocomplete="off" placeholder=secret_hint />
                        <ErrorLine field=true message=move || field("client_secret").get() />
                    </div>
                    <Field label="Scopes" name="scopes" value=current.scopes error=field("scopes") />
                    <CommonFields
                        prefix="oidc-"
                        domain=current.domain
                        mapping_email=current.mapping_email
                        email_label="Claim with the email address"
                        mapping_groups=current.mapping_groups
                        roles_groups=current.roles_groups
                        default_role=current.default_role
                        manual_role_management=current.manual_role_management
                        link_existing_by_email=current.link_existing_by_email
                        sso_required=current.sso_required
                        error
                    />
                    <ErrorLine message=form_error(move || value.get(), &["issuer", "client_id", "client_secret", "scopes", "domain", "mapping_email", "mapping_groups", "roles_groups", "default_role"]) />
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || save.pending().get()>
                            {move || if save.pending().get() { "Saving…" } else { "Save OpenID Connect" }}
                        </button>
                        <span class="saved" role="status">{move || is_saved().then_some("Saved.")}</span>
                    </div>
                </fieldset>
            </ActionForm>
        </section>
    }
}

/// What both protocols keep: the domains, where the address and the groups are read, the table
/// of roles from groups, and the switches.
#[component]
#[allow(clippy::too_many_arguments)]
fn CommonFields(
    prefix: &'static str,
    domain: String,
    mapping_email: String,
    email_label: &'static str,
    mapping_groups: String,
    roles_groups: Vec<RoleGroup>,
    default_role: Role,
    manual_role_management: bool,
    link_existing_by_email: bool,
    sso_required: bool,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let field = move |name: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.for_field(name)))
    };
    let default_id = format!("{prefix}default-role");
    view! {
        <Field label="Email domains (comma separated)" name="domain" optional=true value=domain error=field("domain") id_prefix=prefix />
        <Field label=email_label name="mapping_email" optional=true value=mapping_email error=field("mapping_email") id_prefix=prefix />
        <Field label="Where the groups are (attribute or claim)" name="mapping_groups" optional=true value=mapping_groups error=field("mapping_groups") id_prefix=prefix />
        <h3>"Roles from groups"</h3>
        <p class="hint">
            "The most elevated role among a person's mapped groups is theirs at every sign-in; in \
             none of them, they are deactivated. Group names are case-sensitive. The Owner's role \
             never changes."
        </p>
        <MappingTable prefix roles_groups />
        <ErrorLine message=move || field("roles_groups").get() />
        <div class="field">
            <label for=default_id.clone()>"Role of a new account when no group is mapped"</label>
            <select id=default_id name="default_role">
                {[Role::NotActivated, Role::Annotator, Role::Reviewer, Role::Manager, Role::Administrator].map(|r| view! {
                    <option value=r.as_str() selected=r == default_role>{r.label()}</option>
                })}
            </select>
        </div>
        <label class="check">
            <input type="checkbox" name="manual_role_management" value="on" checked=manual_role_management />
            " Groups decide the role only when the account is made (roles are managed here afterwards)"
        </label>
        <label class="check">
            <input type="checkbox" name="link_existing_by_email" value="on" checked=link_existing_by_email />
            " Link a member's existing account when the provider gives its address"
        </label>
        <label class="check">
            <input type="checkbox" name="sso_required" value="on" checked=sso_required />
            " Require single sign-on (members cannot use passwords; the Owner keeps one)"
        </label>
    }
}
