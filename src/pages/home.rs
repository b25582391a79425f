//! The home page of a signed-in member.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{components::gate::Gate, domain::Need};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <Gate render=|user| {
            let admin = user.allows(Need::Admin).is_ok();
            view! {
                <section class="card">
                    <h1>"Welcome to " {user.organization_title.clone()}</h1>
                    <p>"You are signed in as " <strong>{user.email.clone()}</strong> ", " {user.role_label()} "."</p>
                    <Show when=move || admin>
                        <p>
                            <A href="/organization">"Manage the organization"</A>
                            ": rename it and see its seats."
                        </p>
                    </Show>
                    <p><A href="/user/account">"Your account and API token"</A></p>
                </section>
            }
            .into_any()
        } />
    }
}
