//! `/user/forgot-password`: asks for a reset link; every address is answered alike.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::password_reset::RequestPasswordReset,
    components::{
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
    },
};

/// What every address is told.
const SENT: &str = "If an account exists for that address, we sent a link.";

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let value = action.value();
    let sent_without_js = done_without_js(<RequestPasswordReset as ServerFn>::PATH);
    let sent = move || sent_without_js || matches!(value.get(), Some(Ok(())));
    view! {
        <Title text="Forgot password" />
        <section class="card auth">
            <h1>"Forgot password?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="muted">"Enter the email address of your account and we will send you a link to choose a new password."</p>
                    <ActionForm action=action>
                        <Field label="Email" name="email" kind="email" autocomplete="username"
                            error=Signal::derive(field_error(move || value.get(), "email")) />
                        <ErrorLine message=form_error(move || value.get(), &["email"]) />
                        <button type="submit" class="primary" disabled=move || action.pending().get()>
                            {move || if action.pending().get() { "Sending…" } else { "Send reset link" }}
                        </button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="reset-requested">{SENT}</p>
                <p class="muted">"The link works once, for an hour. Didn't get it? Check your spam folder, or ask again."</p>
            </Show>
            <p class="center"><A href="/user/login">"Back to log in"</A></p>
        </section>
    }
}
