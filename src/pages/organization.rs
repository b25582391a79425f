use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::organization::{get_organization, RenameOrganization},
    components::{
        field::{field_error, form_error, Field},
        gate::Gate,
        RenamedTitle,
    },
    domain::OrganizationView,
};

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <Title text="Organization" />
        <Gate admin_only=true render=|_| view! { <OrganizationPanel /> }.into_any() />
    }
}

#[component]
fn OrganizationPanel() -> impl IntoView {
    let organization = Resource::new(|| (), |_| get_organization());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match organization.await {
                    Ok(org) => view! { <OrganizationDetails org /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrganizationDetails(org: OrganizationView) -> impl IntoView {
    let renamed = expect_context::<RenamedTitle>().0;
    let rename = ServerAction::<RenameOrganization>::new();
    let value = rename.value();
    let (current, set_current) = signal(org);
    Effect::new(move |_| {
        if let Some(Ok(updated)) = value.get() {
            renamed.set(Some(updated.title.clone()));
            set_current.set(updated);
        }
    });
    let seats = move || {
        let s = current.read().seats.clone();
        format!("Seats: {} / {}", s.used, s.limit.map_or("unlimited".to_owned(), |l| l.to_string()))
    };
    let saved = move || matches!(value.get(), Some(Ok(_))) && !rename.pending().get();
    view! {
        <section class="card">
            <h1 data-testid="org-title">{move || current.read().title.clone()}</h1>
            <dl class="facts">
                <dt>"Owner"</dt>
                <dd>{move || current.read().owner.email.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{move || current.read().created_at.replace('T', " ").replace('Z', " UTC")}</dd>
                <dt>"License"</dt>
                <dd data-testid="seats">{seats}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Rename the organization"</h2>
            <ActionForm action=rename>
                <Field label="Title" name="title" autocomplete="organization"
                    value=Signal::derive(move || current.read().title.clone())
                    error=Signal::derive(field_error(move || value.get(), "title")) />
                <p class="form-error" role="alert">{form_error(move || value.get(), &["title"])}</p>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || rename.pending().get()>
                        {move || if rename.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
                </div>
            </ActionForm>
        </section>
    }
}
