//! `/user/verify-email?token=ghv_…`: the link from the verification mail. Opening it changes
//! nothing (mail scanners open links too): the page names the account the link is for, and
//! "Confirm my address" verifies it, or "This wasn't me" disowns it. Nobody needs to be signed
//! in; both buttons are plain forms that also work without JavaScript.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::verification::{inspect_verification, DisownVerification, VerifyEmail};
use crate::components::set_status;
use crate::components::{done_without_js, error_line::ErrorLine, field::form_error, load::load};
use crate::domain::AppError;

/// Where a disowned link lands without JavaScript, by what happened to the account.
pub const DISOWNED_PARAM: &str = "disowned";

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let disowned_without_js = query.read_untracked().get(DISOWNED_PARAM);
    let confirmed_without_js = done_without_js(<VerifyEmail as ServerFn>::PATH);
    let confirm = ServerAction::<VerifyEmail>::new();
    let disown = ServerAction::<DisownVerification>::new();
    // Not asked after "This wasn't me" without JavaScript: the link is dead by then.
    let source = disowned_without_js.is_none().then(|| token.clone());
    let link = load(
        move || source.clone(),
        |token| async move {
            match token {
                Some(token) => inspect_verification(token).await,
                None => Err(AppError::BadRequest(String::new())),
            }
        },
    );
    let error = move || {
        form_error(move || confirm.value().get(), &[])()
            .or_else(form_error(move || disown.value().get(), &[]))
    };
    let pending = Signal::derive(move || confirm.pending().get() || disown.pending().get());
    view! {
        <Title text="Verify your email address" />
        <section class="card auth">
            <h1>"Verify your email address"</h1>
            {move || {
                if let Some(Ok(done)) = confirm.value().get() {
                    return verified(done.email, !done.already);
                }
                if let Some(Ok(done)) = disown.value().get() {
                    return disowned(Some(done.email), done.deleted);
                }
                if let Some(kind) = disowned_without_js.clone() {
                    return disowned(None, kind == "deleted");
                }
                let token = token.clone();
                view! {
                    <Suspense fallback=|| view! { <p class="muted">"Checking the link…"</p> }>
                        {move || {
                            let token = token.clone();
                            Suspend::new(async move {
                                match link.await {
                                    Ok(found) if found.already => {
                                        verified(found.email, confirmed_without_js)
                                    }
                                    Ok(found) => {
                                        let again = token.clone();
                                        view! {
                                        <p data-testid="verify-account">
                                            "This link confirms the address of the Gatehouse account "
                                            <strong>{found.email}</strong>
                                            {found.organization.map(|title| view! {
                                                ", a member of " <strong>{title}</strong>
                                            })}
                                            ". If you made this account, confirm your address."
                                        </p>
                                        <ActionForm action=confirm>
                                            <TokenButton token class="primary" label="Confirm my address" disabled=pending />
                                        </ActionForm>
                                        <p class="muted">
                                            "Didn't make it? Someone may have used your address. An account without a role is deleted; the administrators of an organization are told of one with a role."
                                        </p>
                                        <ActionForm action=disown>
                                            <TokenButton token=again class="danger" label="This wasn't me" disabled=pending />
                                        </ActionForm>
                                        <ErrorLine message=error />
                                        }
                                        .into_any()
                                    }
                                    Err(e) => {
                                        set_status(400);
                                        view! {
                                            <p class="form-error" role="alert" data-testid="verify-error">{e.to_string()}</p>
                                            <p class="center"><A href="/user/login">"Log in"</A></p>
                                        }
                                        .into_any()
                                    }
                                }
                            })
                        }}
                    </Suspense>
                }
                .into_any()
            }}
        </section>
    }
}

/// The content of a form that posts the link's token: its button.
#[component]
fn TokenButton(
    token: String,
    class: &'static str,
    label: &'static str,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <input type="hidden" name="token" value=token />
        <button type="submit" class=class disabled=disabled>{label}</button>
    }
}

/// The address is verified: just now (`now`), or before (the page was opened again).
fn verified(email: String, now: bool) -> AnyView {
    view! {
        <p role="status" data-testid="email-verified">
            {if now { "Thank you: your address is verified, " } else { "This address is already verified: " }}
            <strong>{email}</strong>
            "."
        </p>
        <p class="center"><A href="/">"Continue to Gatehouse"</A></p>
    }
    .into_any()
}

/// "This wasn't me" was done: the account was deleted, or reported to its organization.
fn disowned(email: Option<String>, deleted: bool) -> AnyView {
    let account = move || match email.clone() {
        Some(email) => view! { "The account made with " <strong>{email}</strong> }.into_any(),
        None => view! { "The account made with your address" }.into_any(),
    };
    view! {
        <p role="status" data-testid="verification-disowned">
            "Thank you. "
            {account}
            {if deleted {
                " is deleted, and its link no longer works. You can sign up with your address yourself."
            } else {
                " is signed out everywhere and stays unverified; its organization's administrators are told. The link no longer works."
            }}
        </p>
        <p class="center"><A href="/user/login">"Log in"</A></p>
    }
    .into_any()
}
