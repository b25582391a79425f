//! The single sign-on identities the account signs in with: linked from here (the provider must
//! give this account's address), unlinked while a password remains another way in.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::sso::{list_identities, UnlinkIdentity},
    components::{actions::on_result, error_line::ErrorLine, load::load, readable_time},
    domain::SsoIdentities,
};

#[component]
pub fn SsoIdentityList() -> impl IntoView {
    let identities = load(|| (), |_| list_identities());
    let unlink = ServerAction::<UnlinkIdentity>::new();
    on_result(unlink, move |_| identities.refetch());
    let linked = use_query_map().read_untracked().get("linked").is_some();
    let error = move || {
        unlink
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <Transition fallback=|| ()>
            {move || identities.get().map(|result| match result {
                Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                Ok(found) => view! { <Identities found unlink linked /> }.into_any(),
            })}
        </Transition>
        <ErrorLine message=error />
    }
}

#[component]
fn Identities(
    found: SsoIdentities,
    unlink: ServerAction<UnlinkIdentity>,
    linked: bool,
) -> impl IntoView {
    // Nothing to show or do: no identity, and no provider to link one from.
    if found.identities.is_empty() && found.link_url.is_none() {
        return ().into_any();
    }
    let can_unlink = found.has_password;
    // One identity per provider: the link is offered until there is one.
    let linked_any = !found.identities.is_empty();
    view! {
        <section class="card" data-testid="sso-identities">
            <h2>"Single sign-on"</h2>
            {linked.then(|| view! { <p class="saved" role="status">"Linked."</p> }.into_any())}
            {if found.identities.is_empty() {
                view! { <p class="muted">"No identity provider is linked to this account."</p> }.into_any()
            } else {
                view! {
                    <ul class="sessions">
                        {found.identities.into_iter().map(|identity| {
                            let id = identity.id;
                            let last = identity
                                .last_sign_in_at
                                .as_deref()
                                .map(|t| format!("last used {}", readable_time(t)))
                                .unwrap_or_else(|| "never used".to_owned());
                            view! {
                                <li>
                                    <div>
                                        <strong>{identity.protocol.label()}</strong>
                                        " · " <code>{identity.issuer}</code>
                                        <div class="muted">{identity.email} " · linked " {readable_time(&identity.linked_at)} " · " {last}</div>
                                    </div>
                                    <ActionForm action=unlink>
                                        <input type="hidden" name="id" value=id.to_string() />
                                        <button type="submit" disabled=move || !can_unlink || unlink.pending().get()>"Unlink"</button>
                                    </ActionForm>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(!can_unlink).then(|| view! {
                        <p class="hint">"Single sign-on is this account's only way in: set a password before unlinking."</p>
                    }.into_any())}
                }.into_any()
            }}
            {found.link_url.filter(|_| !linked_any).map(|url| view! {
                <p><a class="button" href=url rel="external">"Link your identity provider"</a></p>
            }.into_any())}
        </section>
    }
    .into_any()
}
