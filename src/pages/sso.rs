//! The single sign-on page (`/organization/sso`): what to register at the identity provider, the
//! OpenID Connect settings, and the table that maps the provider's groups to roles. The Owner
//! changes them; Administrators see them.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::sso::{get_oidc_settings, SaveOidcSettings},
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        gate::Gate,
        load::load,
    },
    domain::{Need, OidcSettings, Role, MAPPABLE_ROLES},
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
    let settings = load(|| (), |_| get_oidc_settings());
    let save = ServerAction::<SaveOidcSettings>::new();
    on_success(save, move |_| settings.refetch());
    view! {
        <p><A href="/organization">"← Organization"</A></p>
        <h1>"Single sign-on"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || settings.get().map(|result| match result {
                Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                Ok(current) => view! {
                    <Register current=current.clone() />
                    <OidcForm current save is_owner />
                }.into_any(),
            })}
        </Transition>
    }
}

/// What the provider needs to know of this application.
#[component]
fn Register(current: OidcSettings) -> impl IntoView {
    let test_url = format!("{}?test=1", current.login_url);
    let configured = !current.issuer.is_empty();
    view! {
        <section class="card" data-testid="sso-register">
            <h2>"At your identity provider"</h2>
            <p class="hint">
                "Register this application as an OpenID Connect client (authorization code flow \
                 with PKCE) with this redirect address, and release the email, email_verified and \
                 groups claims in the ID token."
            </p>
            <div class="field">
                <label for="sso-redirect-url">"Redirect address"</label>
                <input id="sso-redirect-url" class="token" readonly value=current.redirect_url />
            </div>
            <div class="field">
                <label for="sso-login-url">"Sign-in address (for the provider's app launcher)"</label>
                <input id="sso-login-url" class="token" readonly value=current.login_url />
            </div>
            {configured.then(|| view! {
                <p>
                    <a class="button" href=test_url target="_blank" rel="noopener" data-testid="sso-test">
                        "Test sign-in"
                    </a>
                    " "
                    <span class="hint">"Signs you in at the provider in a new tab and shows what it sent and the role it would give, without signing anyone in here."</span>
                </p>
            }.into_any())}
        </section>
    }
}

/// A mapping row: its role and group.
type Row = (Role, String);

#[component]
fn OidcForm(
    current: OidcSettings,
    save: ServerAction<SaveOidcSettings>,
    is_owner: bool,
) -> impl IntoView {
    let value = save.value();
    let done = done_without_js(<SaveOidcSettings as ServerFn>::PATH);
    let saved = move || {
        !save.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    // The saved mappings and two blank rows (to fill in without JavaScript too).
    let mut initial: Vec<Row> = current
        .roles_groups
        .iter()
        .map(|m| (m.role(), m.group().to_owned()))
        .collect();
    initial.extend([
        (Role::Annotator, String::new()),
        (Role::Annotator, String::new()),
    ]);
    let rows = RwSignal::new(initial);
    let error = move |field| Signal::derive(field_error(move || value.get(), field));
    let secret_hint = if current.client_secret_set {
        "A secret is stored; leave this empty to keep it."
    } else {
        "Empty for a public client (PKCE alone)."
    };
    let default_role = current.default_role;
    view! {
        <section class="card" data-testid="sso-oidc">
            <h2>"OpenID Connect"</h2>
            {(!is_owner).then(|| view! {
                <p class="hint">"Only the Owner changes these settings."</p>
            }.into_any())}
            <ActionForm action=save>
                <fieldset disabled=!is_owner class="plain">
                    <Field label="Issuer" name="issuer" kind="url" value=current.issuer error=error("issuer") />
                    <Field label="Client id" name="client_id" value=current.client_id error=error("client_id") />
                    <div class="field" class:has-error=move || error("client_secret").get().is_some()>
                        <label for="field-client_secret">"Client secret"</label>
                        <input id="field-client_secret" name="client_secret" type="password"
                            autocomplete="off" placeholder=secret_hint />
                        <ErrorLine field=true message=move || error("client_secret").get() />
                    </div>
                    <Field label="Scopes" name="scopes" value=current.scopes error=error("scopes") />
                    <Field label="Email domains (comma separated)" name="domain" optional=true
                        value=current.domain error=error("domain") />
                    <Field label="Claim with the email address" name="mapping_email"
                        value=current.mapping_email error=error("mapping_email") />
                    <Field label="Claim with the groups" name="mapping_groups" optional=true
                        value=current.mapping_groups error=error("mapping_groups") />
                    <h3>"Roles from groups"</h3>
                    <p class="hint">
                        "The most elevated role among a person's mapped groups is theirs at every \
                         sign-in; in none of them, they are deactivated. Group names are \
                         case-sensitive. The Owner's role never changes."
                    </p>
                    <table class="mappings" data-testid="sso-mappings">
                        <thead><tr><th scope="col">"Role"</th><th scope="col">"Group at the provider"</th></tr></thead>
                        <tbody>
                            <For
                                each={move || rows.get().into_iter().enumerate().collect::<Vec<_>>()}
                                key={|row: &(usize, Row)| row.0}
                                children={move |(i, (role, group)): (usize, Row)| view! {
                                    <tr>
                                        <td>
                                            <select name=format!("mapping_role[{i}]") aria-label="Role">
                                                {MAPPABLE_ROLES.map(|r| view! {
                                                    <option value=r.as_str() selected=r == role>{r.label()}</option>
                                                })}
                                            </select>
                                        </td>
                                        <td>
                                            <input name=format!("mapping_group[{i}]") value=group
                                                aria-label="Group" placeholder="group name" />
                                        </td>
                                    </tr>
                                }}
                            />
                        </tbody>
                    </table>
                    <p>
                        <button type="button" on:click=move |_| rows.update(|r| r.push((Role::Annotator, String::new())))>
                            "Add a row"
                        </button>
                    </p>
                    <ErrorLine message=move || error("roles_groups").get() />
                    <div class="field">
                        <label for="sso-default-role">"Role of a new account when no group is mapped"</label>
                        <select id="sso-default-role" name="default_role">
                            {[Role::NotActivated, Role::Annotator, Role::Reviewer, Role::Manager, Role::Administrator].map(|r| view! {
                                <option value=r.as_str() selected=r == default_role>{r.label()}</option>
                            })}
                        </select>
                    </div>
                    <label class="check">
                        <input type="checkbox" name="manual_role_management" value="on" checked=current.manual_role_management />
                        " Groups decide the role only when the account is made (roles are managed here afterwards)"
                    </label>
                    <label class="check">
                        <input type="checkbox" name="link_existing_by_email" value="on" checked=current.link_existing_by_email />
                        " Link a member's existing account when the provider gives its address"
                    </label>
                    <label class="check">
                        <input type="checkbox" name="sso_required" value="on" checked=current.sso_required />
                        " Require single sign-on (members cannot use passwords; the Owner keeps one)"
                    </label>
                    <ErrorLine message=form_error(move || value.get(), &["issuer", "client_id", "client_secret", "scopes", "domain", "mapping_email", "mapping_groups", "roles_groups"]) />
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || save.pending().get()>
                            {move || if save.pending().get() { "Saving…" } else { "Save single sign-on" }}
                        </button>
                        <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
                    </div>
                </fieldset>
            </ActionForm>
        </section>
    }
}
