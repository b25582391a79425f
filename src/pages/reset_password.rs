//! `/user/reset-password?token=ghr_…`: choosing a new password with the link from the mail.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::password_reset::ConfirmPasswordReset,
    components::{
        actions::on_success_go_where,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
    },
};

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ConfirmPasswordReset>::new();
    let value = action.value();
    on_success_go_where(action);
    let token = use_query_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    // A dead link is told to ask for a new one, with the way to do it.
    let link_error = field_error(move || value.get(), "token");
    view! {
        <Title text="Choose a new password" />
        <section class="card auth">
            <h1>"Choose a new password"</h1>
            <p class="muted">"Setting it signs you out everywhere else and replaces your personal API token: scripts that use the old one need the new one from your Account page."</p>
            <ActionForm action=action>
                <input type="hidden" name="token" value=token />
                <Field label="New password" name="password" kind="password" autocomplete="new-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <p class="hint">"At least 8 characters."</p>
                <ErrorLine message=link_error />
                <ErrorLine message=form_error(move || value.get(), &["password", "token"]) />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Set new password" }}
                </button>
            </ActionForm>
            <p class="center"><A href="/user/forgot-password">"Request a new link"</A></p>
        </section>
    }
}
