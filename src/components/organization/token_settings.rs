//! The organization's API token settings: whether legacy tokens and personal access tokens
//! work, and how long a new personal access token lives.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::tokens::{get_token_settings, SaveTokenSettings},
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        load::load,
    },
    domain::TokenSettings,
};

#[component]
pub fn TokenSettingsForm() -> impl IntoView {
    let settings = load(|| (), |_| get_token_settings());
    let save = ServerAction::<SaveTokenSettings>::new();
    let value = save.value();
    on_success(save, move |_| settings.refetch());
    let done = done_without_js(<SaveTokenSettings as ServerFn>::PATH);
    let saved = move || {
        !save.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    view! {
        <section class="card" data-testid="token-settings">
            <h2>"API tokens"</h2>
            <p class="hint">
                "How scripts and Label Studio's SDK may sign in as the organization's members."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || settings.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(current) => view! { <SettingsFields current save /> }.into_any(),
                })}
            </Transition>
            <ErrorLine message=form_error(move || value.get(), &["api_token_ttl_days"]) />
            <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
        </section>
    }
}

#[component]
fn SettingsFields(current: TokenSettings, save: ServerAction<SaveTokenSettings>) -> impl IntoView {
    let value = save.value();
    view! {
        <ActionForm action=save>
            <label class="check">
                <input type="checkbox" name="legacy_api_tokens_enabled" value="on"
                    checked=current.legacy_api_tokens_enabled data-testid="legacy-tokens" />
                " Personal API tokens (" <code>"Authorization: Token …"</code> ")"
            </label>
            <label class="check">
                <input type="checkbox" name="api_tokens_enabled" value="on"
                    checked=current.api_tokens_enabled data-testid="personal-access-tokens" />
                " Personal access tokens (" <code>"Authorization: Bearer …"</code> ", Label Studio's SDK)"
            </label>
            <Field label="Days a new personal access token lives" name="api_token_ttl_days" kind="number"
                value=current.api_token_ttl_days.to_string()
                error=Signal::derive(field_error(move || value.get(), "api_token_ttl_days")) />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save token settings" }}
                </button>
            </div>
        </ActionForm>
    }
}
