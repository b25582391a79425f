//! Personal access tokens: the live one (when it was made, expires and was last used), "Create
//! token" (shown once, with Copy) and "Revoke".

use leptos::prelude::*;

use crate::{
    api::tokens::{list_personal_tokens, CreatePersonalToken, RevokePersonalToken},
    components::{
        actions::on_result, copy_button::CopyButton, error_line::ErrorLine, load::load,
        readable_time,
    },
    domain::PersonalToken,
};

#[component]
pub fn PersonalTokens() -> impl IntoView {
    let tokens = load(|| (), |_| list_personal_tokens());
    let create = ServerAction::<CreatePersonalToken>::new();
    let revoke = ServerAction::<RevokePersonalToken>::new();
    on_result(create, move |_| tokens.refetch());
    on_result(revoke, move |_| {
        // A revoked token is no longer worth copying.
        create.value().set(None);
        tokens.refetch();
    });
    let pending = move || create.pending().get() || revoke.pending().get();
    // One live token at a time: a new one is made after revoking it.
    let holds_one = move || {
        tokens
            .get()
            .and_then(Result::ok)
            .is_some_and(|list| !list.is_empty())
    };
    let new_token = move || create.value().get().and_then(Result::ok).map(|t| t.token);
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| revoke.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    view! {
        <section class="card" data-testid="personal-tokens">
            <h2>"Personal access tokens"</h2>
            <p class="muted">
                "For Label Studio's SDK and scripts: a token that lasts (a JWT refresh token), exchanged at "
                <code>"POST /api/token/refresh/"</code> " for access tokens that last 5 minutes, sent as "
                <code>"Authorization: Bearer <access token>"</code> ". You hold one at a time; it is shown once."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || tokens.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-personal-token">"You have no personal access token."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="sessions">
                            {list.into_iter().map(|t| view! {
                                <TokenItem token=t pending=Signal::derive(pending) on_revoke=Callback::new(move |id| {
                                    revoke.dispatch(RevokePersonalToken { id });
                                }) />
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
            <Show when=move || new_token().is_some()>
                <p role="status">"Your new token. Copy it now: it will not be shown again."</p>
                <label for="personal-token" class="sr-only">"New personal access token"</label>
                <input id="personal-token" class="token" readonly=true data-testid="new-personal-token"
                    prop:value=move || new_token().unwrap_or_default() />
            </Show>
            <div class="actions">
                <Show when=move || new_token().is_some()>
                    <CopyButton label="Copy" text=Signal::derive(new_token) input="personal-token" primary=true />
                </Show>
                <button type="button" disabled=move || pending() || holds_one() on:click=move |_| {
                    create.dispatch(CreatePersonalToken {});
                }>
                    {move || if create.pending().get() { "Creating…" } else { "Create token" }}
                </button>
                <Show when=move || holds_one() && new_token().is_none()>
                    <span class="muted">"Revoke it to make a new one."</span>
                </Show>
            </div>
            <ErrorLine message=error />
        </section>
    }
}

#[component]
fn TokenItem(
    token: PersonalToken,
    pending: Signal<bool>,
    on_revoke: Callback<String>,
) -> impl IntoView {
    let id = token.id.clone();
    view! {
        <li class="session" data-testid="personal-token">
            <div class="session-what">
                <strong>"Personal access token"</strong>
                <div class="muted">
                    "created " {readable_time(&token.created_at)}
                    " · expires " {readable_time(&token.expires_at)}
                    " · " {match &token.last_used_at {
                        Some(t) => format!("last used {}", readable_time(t)),
                        None => "never used".to_owned(),
                    }}
                </div>
            </div>
            <button type="button" aria-label="Revoke the personal access token" disabled=move || pending.get()
                on:click=move |_| on_revoke.run(id.clone())>
                "Revoke"
            </button>
        </li>
    }
}
