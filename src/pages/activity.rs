//! The Activity page: who did what in the organization (Owner and Administrators only).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    components::{activity_log::ActivityLog, gate::Gate},
    domain::Need,
};

#[component]
pub fn ActivityPage() -> impl IntoView {
    view! {
        <Title text="Activity" />
        <Gate
            need=Need::Admin
            render=|user| view! {
                <section class="card">
                    <div class="card-header">
                        <h1>"Activity"</h1>
                        <A href="/organization">"Back to the organization"</A>
                    </div>
                    <p class="hint">
                        "Every change to the organization, its members and invitations, and every sign-in, newest first. "
                        "The log cannot be edited; an administrator of the server can prove it was not."
                    </p>
                    <ActivityLog organization_id=user.organization_id.unwrap_or_default() />
                </section>
            }.into_any()
        />
    }
}
