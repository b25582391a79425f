use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::auth::{get_signup_settings, SignUp},
    components::{
        field::{field_error, form_error, Field},
        gate::Notice,
        go_to,
    },
};

#[component]
pub fn SignupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").filter(|t| !t.trim().is_empty());
    let settings = Resource::new(|| (), |_| get_signup_settings());
    view! {
        <Title text="Sign up" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let disabled = settings.await.map(|s| s.signup_without_link_disabled).unwrap_or(false);
                if disabled && token().is_none() {
                    view! {
                        <Notice
                            title="Signing up needs an invitation"
                            text="Signing up without an invitation is turned off on this server. Ask an administrator of your organization for an invite link, then open it to create your account.".into()
                        />
                        <p class="center"><A href="/user/login">"Already have an account? Log in"</A></p>
                    }
                    .into_any()
                } else {
                    view! { <SignupForm token=token() /> }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignupForm(token: Option<String>) -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = value.get() {
            go_to("/");
        }
    });
    let invited = token.is_some();
    view! {
        <section class="card auth">
            <h1>{if invited { "Join your organization" } else { "Create your account" }}</h1>
            <p class="muted">
                {if invited {
                    "Create an account to join the organization that invited you."
                } else {
                    "You will be the Owner of a new organization."
                }}
            </p>
            <ActionForm action=action>
                <Field label="Email" name="email" kind="email" autocomplete="email"
                    error=Signal::derive(field_error(move || value.get(), "email")) />
                <Field label="Password" name="password" kind="password" autocomplete="new-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <p class="hint">"At least 8 characters."</p>
                {token.map(|t| view! { <input type="hidden" name="token" value=t /> })}
                <p class="form-error" role="alert">{form_error(move || value.get(), &["email", "password"])}</p>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="center"><A href="/user/login">"Already have an account? Log in"</A></p>
        </section>
    }
}
