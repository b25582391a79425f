//! SCIM provisioning on the single sign-on page: the address to give the identity provider, the
//! organization's SCIM token (made, replaced and revoked by the Owner, shown once), and SCIM's own
//! table of roles from groups.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::scim::{get_scim_overview, CreateScimToken, RevokeScimToken, SaveScimSettings},
    components::{
        actions::{on_result, on_success},
        copy_button::CopyButton,
        done_without_js,
        error_line::ErrorLine,
        field::form_error,
        load::load,
        mapping_table::MappingTable,
        readable_time,
    },
    domain::ScimOverview,
};

#[component]
pub fn ScimCard(is_owner: bool) -> impl IntoView {
    let overview = load(|| (), |_| get_scim_overview());
    let create = ServerAction::<CreateScimToken>::new();
    let revoke = ServerAction::<RevokeScimToken>::new();
    let save = ServerAction::<SaveScimSettings>::new();
    on_result(create, move |_| overview.refetch());
    on_result(revoke, move |_| {
        // A revoked token is no longer worth copying.
        create.value().set(None);
        overview.refetch();
    });
    on_success(save, move |_| overview.refetch());
    view! {
        <section class="card" data-testid="scim">
            <h2>"SCIM provisioning"</h2>
            <p class="hint">
                "Your identity provider (Okta, Microsoft Entra ID…) adds, updates and deactivates \
                 members by itself over SCIM 2.0: give it this address and a token. Members it \
                 manages are marked on the Organization page; their groups decide their role by the \
                 table below (SCIM keeps its own, apart from single sign-on's)."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || overview.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(current) => view! {
                        <ScimToken current=current.clone() create revoke is_owner />
                        <ScimMappings current save is_owner />
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ScimToken(
    current: ScimOverview,
    create: ServerAction<CreateScimToken>,
    revoke: ServerAction<RevokeScimToken>,
    is_owner: bool,
) -> impl IntoView {
    let pending = move || create.pending().get() || revoke.pending().get();
    let new_token = move || create.value().get().and_then(Result::ok);
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| revoke.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    let live = current.token_created_at.is_some();
    let status = match (&current.token_created_at, &current.token_last_used_at) {
        (Some(made), Some(used)) => format!(
            "A token is live: made {}, last used {}.",
            readable_time(made),
            readable_time(used)
        ),
        (Some(made), None) => format!(
            "A token is live: made {}, not used yet.",
            readable_time(made)
        ),
        _ => "No token: the identity provider cannot provision members.".to_owned(),
    };
    view! {
        <div class="field">
            <label for="scim-base-url">"SCIM base address (give it to the provider)"</label>
            <input id="scim-base-url" class="token" readonly value=current.base_url />
        </div>
        <p class="muted" data-testid="scim-token-status">{status}</p>
        <Show when=move || new_token().is_some()>
            <p role="status">"The organization's new SCIM token. Copy it into the provider now: it will not be shown again."</p>
            <label for="scim-token" class="sr-only">"New SCIM token"</label>
            <input id="scim-token" class="token" readonly=true data-testid="new-scim-token"
                prop:value=move || new_token().unwrap_or_default() />
        </Show>
        {(live && is_owner).then(|| view! {
            <p class="hint">"Replacing or revoking the token stops the provider at once, until it is given the new one."</p>
        })}
        {is_owner.then(|| view! {
            <div class="actions">
                <Show when=move || new_token().is_some()>
                    <CopyButton label="Copy" text=Signal::derive(new_token) input="scim-token" primary=true />
                </Show>
                <button type="button" disabled=pending on:click=move |_| {
                    create.dispatch(CreateScimToken {});
                }>
                    {move || match (create.pending().get(), live) {
                        (true, _) => "Creating…",
                        (false, true) => "Replace token",
                        (false, false) => "Create token",
                    }}
                </button>
                {live.then(|| view! {
                    <button type="button" class="danger" disabled=pending on:click=move |_| {
                        revoke.dispatch(RevokeScimToken {});
                    }>
                        "Revoke token"
                    </button>
                })}
            </div>
        })}
        <ErrorLine message=error />
    }
}

#[component]
fn ScimMappings(
    current: ScimOverview,
    save: ServerAction<SaveScimSettings>,
    is_owner: bool,
) -> impl IntoView {
    let value = save.value();
    let saved_without_js = done_without_js(<SaveScimSettings as ServerFn>::PATH);
    let is_saved =
        move || !save.pending().get() && value.get().map(|r| r.is_ok()).unwrap_or(saved_without_js);
    view! {
        <h3>"Roles from SCIM groups"</h3>
        <p class="hint">
            "A member in mapped groups gets the most elevated of their roles; in none of them while \
             there are mappings, they are deactivated. New members start with the single sign-on \
             settings' default role (Annotator without them). Group names are case-sensitive; the \
             Owner's role never changes."
        </p>
        <ActionForm action=save>
            <fieldset disabled=!is_owner class="plain">
                <MappingTable prefix="scim-" roles_groups=current.roles_groups />
                <ErrorLine message=form_error(move || value.get(), &[]) />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save SCIM mappings" }}
                    </button>
                    <span class="saved" role="status">{move || is_saved().then_some("Saved.")}</span>
                </div>
            </fieldset>
        </ActionForm>
    }
}
