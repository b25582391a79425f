//! The signup page: a new organization without an invitation, or joining through one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::{auth::SignUp, invites::get_invite_info},
    components::{
        actions::on_success_go_to,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        gate::{Notice, SignedInGoesToApp},
        load::load,
        set_status, Me,
    },
    domain::InviteInfo,
};

#[component]
pub fn SignupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").filter(|t| !t.trim().is_empty());
    let me = expect_context::<Me>().0;
    // What the invite token leads to; `None` without a token.
    let invite = load(token, |token| async move {
        match token {
            Some(token) => get_invite_info(token).await.map(Some),
            None => Ok(None),
        }
    });
    let signed_in_goes_to_app = query
        .read_untracked()
        .get("token")
        .is_none()
        .then(|| view! { <SignedInGoesToApp /> }.into_any());
    view! {
        <Title text="Sign up" />
        {signed_in_goes_to_app}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let disabled = me.await.map(|v| v.signup_without_link_disabled).unwrap_or(false);
                match (token(), invite.await) {
                    (_, Err(e)) => {
                        set_status(e.status_code());
                        view! {
                            <Notice title="This invite link can't be used" text=e.to_string() />
                            <p class="center"><A href="/user/login">"Already have an account? Log in"</A></p>
                        }
                        .into_any()
                    }
                    (Some(token), Ok(Some(InviteInfo::Email { organization_title, email, has_account: true, .. }))) => view! {
                        <section class="card auth">
                            <h1>{format!("Join {organization_title}")}</h1>
                            <p data-testid="signup-intro">
                                "You already have an account for " <strong>{email}</strong>
                                ". Log in to accept the invitation."
                            </p>
                            <A href=format!("/user/login?token={token}") attr:class="button primary">"Log in to accept"</A>
                        </section>
                    }
                    .into_any(),
                    (Some(token), Ok(Some(info))) => view! { <SignupForm invite=Some((token, info)) /> }.into_any(),
                    _ if disabled => view! {
                        <Notice
                            title="Signing up needs an invitation"
                            text="Signing up without an invitation is turned off on this server. Ask an administrator of your organization for an invite link, then open it to create your account.".into()
                        />
                        <p class="center"><A href="/user/login">"Already have an account? Log in"</A></p>
                    }
                    .into_any(),
                    _ => view! { <SignupForm invite=None /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The signup form: a new organization without an invitation, or joining the one that invited.
#[component]
fn SignupForm(
    /// The invite token and what it leads to.
    invite: Option<(String, InviteInfo)>,
) -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    on_success_go_to(action, "/");
    let (token, info) = invite.unzip();
    let (heading, intro, email) = match info {
        None => (
            "Create your account".to_owned(),
            "You will be the Owner of a new organization.".to_owned(),
            None,
        ),
        Some(InviteInfo::Link { organization_title }) => (
            format!("Join {organization_title}"),
            "After you sign up, an administrator of the organization will assign your role."
                .to_owned(),
            None,
        ),
        Some(InviteInfo::Email {
            organization_title,
            email,
            role,
            ..
        }) => (
            format!("Join {organization_title}"),
            format!("You are invited as {}.", role.label()),
            Some(email),
        ),
    };
    // An email invitation is for its address only.
    let readonly = email.is_some();
    view! {
        <section class="card auth">
            <h1>{heading}</h1>
            <p class="muted" data-testid="signup-intro">{intro}</p>
            <ActionForm action=action>
                <Field label="Email" name="email" kind="email" autocomplete="email"
                    value=Signal::stored(email.unwrap_or_default())
                    readonly
                    error=Signal::derive(field_error(move || value.get(), "email")) />
                <Field label="Password" name="password" kind="password" autocomplete="new-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <p class="hint">"At least 8 characters."</p>
                <Field label="First name (optional)" name="first_name" autocomplete="given-name" optional=true
                    error=Signal::derive(field_error(move || value.get(), "first_name")) />
                <Field label="Last name (optional)" name="last_name" autocomplete="family-name" optional=true
                    error=Signal::derive(field_error(move || value.get(), "last_name")) />
                {token.map(|t| view! { <input type="hidden" name="token" value=t /> }.into_any())}
                <ErrorLine message=form_error(move || value.get(), &["email", "password", "first_name", "last_name"]) />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="center"><A href="/user/login">"Already have an account? Log in"</A></p>
        </section>
    }
}
