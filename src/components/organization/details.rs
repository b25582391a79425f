//! The organization's card (title, Owner, creation, seats), which follows a rename.

use leptos::prelude::*;

use super::rename::RenameForm;
use crate::{components::readable_time, domain::OrganizationView};

#[component]
pub fn OrganizationDetails(org: OrganizationView) -> impl IntoView {
    let (current, set_current) = signal(org);
    let seats = move || {
        let s = current.read().seats.clone();
        format!(
            "Seats: {} / {}",
            s.used,
            s.limit.map_or("unlimited".to_owned(), |l| l.to_string())
        )
    };
    view! {
        <section class="card">
            <h1 data-testid="org-title">{move || current.read().title.clone()}</h1>
            <dl class="facts">
                <dt>"Owner"</dt>
                <dd>{move || current.read().owner.email.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{move || readable_time(&current.read().created_at)}</dd>
                <dt>"License"</dt>
                <dd data-testid="seats">{seats}</dd>
            </dl>
        </section>
        <RenameForm current set_current />
    }
}
