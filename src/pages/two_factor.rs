//! `/user/login/two-factor`: the second step of signing in, for an account with a second factor.
//! A code from the authenticator app, a recovery code (both work without JavaScript), or a
//! security key.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::two_factor::VerifySecondFactor,
    components::passkey_script::PasskeyScript,
    components::{
        actions::on_success_go_where,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        Me,
    },
};

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let with_code = ServerAction::<VerifySecondFactor>::new();
    let with_recovery = ServerAction::<VerifySecondFactor>::new();
    on_success_go_where(with_code);
    on_success_go_where(with_recovery);
    let (code_value, recovery_value) = (with_code.value(), with_recovery.value());
    let me = expect_context::<Me>().0;
    view! {
        <Title text="Two-factor authentication" />
        <PasskeyScript />
        <section class="card auth" data-passkey-box="">
            <h1>"Two-factor authentication"</h1>
            <p class="muted">"Your password was right. Now prove it is you with your second factor; this sign-in waits 5 minutes."</p>
            <ActionForm action=with_code attr:data-testid="two-factor-code">
                <Field label="Code from your authenticator app" name="code" kind="text" autocomplete="one-time-code"
                    id_prefix="app-"
                    error=Signal::derive(field_error(move || code_value.get(), "code")) />
                <ErrorLine message=form_error(move || code_value.get(), &["code"]) />
                <button type="submit" class="primary" disabled=move || with_code.pending().get()>
                    {move || if with_code.pending().get() { "Checking…" } else { "Verify" }}
                </button>
            </ActionForm>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    if !me.await.map(|v| v.passkeys_available).unwrap_or(false) {
                        return ().into_any();
                    }
                    view! {
                        <div class="passkey-step">
                            <button type="button" data-passkey="second-factor" data-testid="use-security-key">"Use a security key or passkey"</button>
                            <p class="error" role="alert" data-passkey-error=""></p>
                        </div>
                    }.into_any()
                })}
            </Suspense>
            <details class="recovery">
                <summary>"Lost your device? Use a recovery code"</summary>
                <ActionForm action=with_recovery attr:data-testid="two-factor-recovery">
                    <Field label="Recovery code" name="code" kind="text" autocomplete="off"
                        id_prefix="recovery-"
                        error=Signal::derive(field_error(move || recovery_value.get(), "code")) />
                    <p class="hint">"Each recovery code works once. Using one is mailed to you."</p>
                    <ErrorLine message=form_error(move || recovery_value.get(), &["code"]) />
                    <button type="submit" disabled=move || with_recovery.pending().get()>"Use recovery code"</button>
                </ActionForm>
            </details>
            <p class="center"><A href="/user/login">"Start over"</A></p>
        </section>
    }
}
