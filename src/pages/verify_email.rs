//! `/user/verify-email?token=ghv_…`: the link from the verification mail. Opening it verifies
//! the address; nobody needs to be signed in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::components::load::load;
use crate::{api::verification::verify_email, components::set_status};

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = use_query_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let outcome = load(move || token.clone(), verify_email);
    view! {
        <Title text="Verify your email address" />
        <section class="card auth">
            <h1>"Verify your email address"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(done) => view! {
                            <p role="status" data-testid="email-verified">
                                {if done.already { "This address is already verified: " } else { "Thank you: your address is verified, " }}
                                <strong>{done.email}</strong>
                                "."
                            </p>
                            <p class="center"><A href="/">"Continue to Gatehouse"</A></p>
                        }
                        .into_any(),
                        Err(e) => {
                            set_status(400);
                            view! {
                                <p class="form-error" role="alert" data-testid="verify-error">{e.to_string()}</p>
                                <p class="center"><A href="/user/login">"Log in"</A></p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
