//! The Account page: who the user is, their name, password and sessions, and their personal API
//! token.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::account::{api_token_accepted, get_api_token, ResetApiToken},
    components::passkey_script::PasskeyScript,
    components::{
        account::{
            identities::SsoIdentityList, name::NameForm, password::PasswordForm,
            personal_tokens::PersonalTokens, sessions::SessionList, two_factor::TwoFactor,
        },
        copy_button::CopyButton,
        error_line::ErrorLine,
        gate::Gate,
        load::load,
    },
    domain::Need,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Account" />
        <PasskeyScript />
        <Gate need=Need::SignedIn render=|user| {
            // The API is for members who may use the organization.
            let active = user.allows(Need::Active).is_ok();
            // Bumped when a password change may have replaced the token: it is read again.
            let token_version = RwSignal::new(0_u32);
            view! {
                <section class="card">
                    <h1>"Your account"</h1>
                    <dl class="facts">
                        <dt>"Email"</dt>
                        <dd data-testid="account-email">{user.email.clone()}</dd>
                        <dt>"Role"</dt>
                        <dd data-testid="account-role">{user.role_label()}</dd>
                        <dt>"Organization"</dt>
                        <dd>{if user.organization_title.is_empty() { "—".to_owned() } else { user.organization_title.clone() }}</dd>
                    </dl>
                </section>
                <NameForm />
                <PasswordForm token_changed=Callback::new(move |()| token_version.update(|v| *v += 1)) />
                <TwoFactor />
                <SessionList />
                <SsoIdentityList />
                <Show when=move || active>
                    <ApiToken version=token_version />
                    <PersonalTokens />
                </Show>
            }
            .into_any()
        } />
    }
}

/// The token, read again whenever `version` changes.
#[component]
fn ApiToken(version: RwSignal<u32>) -> impl IntoView {
    let token = load(move || version.get(), |_| get_api_token());
    let accepted = load(|| (), |_| api_token_accepted());
    let reset = ServerAction::<ResetApiToken>::new();
    // The version the last reset was made at: a later read of the token is newer than it.
    let reset_at = RwSignal::new(0_u32);
    let shown = move || match reset.value().get() {
        Some(Ok(new)) if reset_at.get() == version.get() => Some(Ok(new)),
        _ => token.get(),
    };
    view! {
        <section class="card">
            <h2>"Personal API token"</h2>
            <p class="muted">
                "Scripts use it as " <code>"Authorization: Token <token>"</code>
                ". Keep it secret; reset it if it leaks."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || match accepted.get() {
                    Some(Ok(false)) => view! {
                        <p class="waiting" role="note" data-testid="api-token-refused">
                            "Your organization has turned these tokens off: requests made with one are refused. Use a personal access token instead."
                        </p>
                    }.into_any(),
                    _ => ().into_any(),
                }}
                {move || match shown() {
                    Some(Ok(t)) => view! {
                        <label for="api-token" class="sr-only">"API token"</label>
                        <input id="api-token" class="token" readonly=true data-testid="api-token" prop:value=t />
                    }.into_any(),
                    Some(Err(e)) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    None => ().into_any(),
                }}
                // Inside the Suspense, so that the server renders Copy enabled once the token is in.
                <div class="actions">
                    <CopyButton label="Copy" text=Signal::derive(move || shown().and_then(Result::ok)) input="api-token" />
                    <button type="button" disabled=move || reset.pending().get() on:click=move |_| {
                        reset_at.set(version.get_untracked());
                        reset.dispatch(ResetApiToken {});
                    }>
                        "Reset token"
                    </button>
                    <span role="status" class="saved">
                        {move || match reset.value().get() {
                            Some(Ok(_)) => Some("New token created. The old one no longer works.".to_owned()),
                            Some(Err(e)) => Some(e.to_string()),
                            None => None,
                        }}
                    </span>
                </div>
            </Suspense>
        </section>
    }
}
