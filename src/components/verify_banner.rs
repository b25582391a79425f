//! The banner an account with an unverified address sees on every page, with the way to get the
//! verification link again.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_location;

use super::{done_without_js, error_without_js, Me};
use crate::api::verification::ResendVerification;

#[component]
pub fn VerifyBanner() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let location = use_location();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // The verification page tells the outcome itself.
                let on_verify_page = location.pathname.get_untracked() == "/user/verify-email";
                match me.await.map(|visit| visit.user) {
                    Ok(Some(user)) if !user.email_verified && !on_verify_page => {
                        view! { <Banner email=user.email /> }.into_any()
                    }
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Banner(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let value = resend.value();
    // Without JavaScript the page comes back marked done, or with the error.
    let path = <ResendVerification as ServerFn>::PATH;
    if done_without_js(path) {
        value.set(Some(Ok(())));
    } else if let Some(e) = error_without_js(path) {
        value.set(Some(Err(e)));
    }
    view! {
        <aside class="banner" role="region" aria-label="Email verification" data-testid="verify-banner">
            <p>
                "Please verify your email address: we sent a link to " <strong>{email}</strong> "."
            </p>
            {move || match value.get() {
                Some(Ok(())) => view! { <p role="status">"Sent. Check your inbox (and your spam folder)."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                None => ().into_any(),
            }}
            <ActionForm action=resend>
                <button type="submit" disabled=move || resend.pending().get()>
                    {move || if resend.pending().get() { "Sending…" } else { "Resend verification email" }}
                </button>
            </ActionForm>
        </aside>
    }
}
