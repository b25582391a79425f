//! The login page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_location, use_query_map},
};

use crate::{
    api::auth::LogIn,
    components::passkey_script::PasskeyScript,
    components::{
        actions::on_success_go_where,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        gate::SignedInGoesToApp,
        Me,
    },
};

/// `/user/login`, or its second step at `/user/login/two-factor` (one chunk for both).
#[component]
pub fn LoginPage() -> impl IntoView {
    if use_location()
        .pathname
        .get_untracked()
        .ends_with("/two-factor")
    {
        return view! { <super::two_factor::TwoFactorPage /> }.into_any();
    }
    view! { <PasswordLogin /> }.into_any()
}

#[component]
fn PasswordLogin() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let value = action.value();
    on_success_go_where(action);
    let me = expect_context::<Me>().0;
    // An invite token: an account in no organization joins the inviting one as it logs in.
    let token = use_query_map()
        .read_untracked()
        .get("token")
        .filter(|t| !t.trim().is_empty());
    // With an invite token, an account in no organization logs in to join: no redirect then.
    let signed_in_goes_to_app = token
        .is_none()
        .then(|| view! { <SignedInGoesToApp /> }.into_any());
    view! {
        <Title text="Log in" />
        <PasskeyScript />
        {signed_in_goes_to_app}
        <section class="card auth">
            <h1>"Log in"</h1>
            {token.is_some().then(|| view! {
                <p class="muted" data-testid="login-intro">"Log in to accept the invitation."</p>
            }.into_any())}
            <ActionForm action=action>
                {token.map(|t| view! { <input type="hidden" name="token" value=t /> }.into_any())}
                <Field label="Email" name="email" kind="email" autocomplete="username"
                    error=Signal::derive(field_error(move || value.get(), "email")) />
                <Field label="Password" name="password" kind="password" autocomplete="current-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <ErrorLine message=form_error(move || value.get(), &["email", "password"]) />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="center"><A href="/user/forgot-password">"Forgot password?"</A></p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    if !me.await.map(|v| v.passkeys_available).unwrap_or(false) {
                        return ().into_any();
                    }
                    view! {
                        <div class="passkey-sign-in" data-passkey-box="">
                            <button type="button" data-passkey="sign-in" data-testid="passkey-sign-in">"Sign in with a passkey"</button>
                            <p class="error" role="alert" data-passkey-error=""></p>
                        </div>
                    }.into_any()
                })}
            </Suspense>
            // A plain form: the server finds the organization by the address's domain and sends
            // the browser on to its identity provider.
            <form method="get" action="/sso/start" class="sso-start" data-testid="sso-start">
                <h2>"Single sign-on"</h2>
                <label>
                    <span>"Work address"</span>
                    <input type="email" name="email" required autocomplete="username" />
                </label>
                <button type="submit">"Continue with SSO"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let disabled = me.await.map(|v| v.signup_without_link_disabled).unwrap_or(false);
                    if disabled {
                        return ().into_any();
                    }
                    view! { <p class="center">"New here? " <A href="/user/signup">"Sign up"</A></p> }.into_any()
                })}
            </Suspense>
        </section>
    }
}
