//! Shows a page only to whom it is for: signed-out visitors go to the login page, Pending and
//! Deactivated members see where they stand, and the wrong role sees a clear refusal (403), as
//! the policy table in `domain` decides.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

use super::{set_status, Me};
use crate::domain::{CurrentUser, Need, Refusal, Visit};

type Render = Arc<dyn Fn(CurrentUser) -> AnyView + Send + Sync>;

#[component]
pub fn Gate(
    /// Who may see the page: active members unless it says otherwise.
    #[prop(default = Need::Active)]
    need: Need,
    render: impl Fn(CurrentUser) -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    let me = expect_context::<Me>().0;
    let render: Render = Arc::new(render);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match me.await.map(|visit| visit.user) {
                        Err(e) => view! { <Notice title="Something went wrong" text=e.to_string() /> }.into_any(),
                        Ok(None) => view! { <Redirect path="/user/login" /> }.into_any(),
                        Ok(Some(user)) => {
                            match user.allows(need) {
                                Ok(()) => render(user),
                                // Their organization requires a second factor they have not
                                // added: the Account page, where they add one, is all they see.
                                Err(Refusal::TwoFactorRequired) => {
                                    view! { <Redirect path="/user/account" /> }.into_any()
                                }
                                Err(refusal) => {
                                    set_status(403);
                                    // Pending members and accounts without an organization
                                    // still look after their own account.
                                    let own_account = user.allows(Need::SignedIn).is_ok();
                                    view! {
                                        <Notice
                                            title=refusal.page_title()
                                            text=refusal.page_text(&user.organization_title)
                                        />
                                        <Show when=move || own_account>
                                            <p class="center"><A href="/user/account">"Your account"</A></p>
                                        </Show>
                                    }
                                    .into_any()
                                }
                            }
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// On the login and signup pages: a signed-in user goes to the app instead (the server answers
/// the page with a redirect, the hydrated app navigates).
#[component]
pub fn SignedInGoesToApp() -> impl IntoView {
    let me = expect_context::<Me>().0;
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if matches!(me.await, Ok(Visit { user: Some(_), .. })) {
                    view! { <Redirect path="/" /> }.into_any()
                } else {
                    ().into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Notice(title: &'static str, text: String) -> impl IntoView {
    view! {
        <section class="card notice" role="status">
            <h1>{title}</h1>
            <p>{text}</p>
        </section>
    }
}
