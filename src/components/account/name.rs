//! The user's first and last name, shown in the members table.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::profile::{get_profile, RenameMe},
    components::{
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        load::load,
    },
};

#[component]
pub fn NameForm() -> impl IntoView {
    let profile = load(|| (), |_| get_profile());
    let rename = ServerAction::<RenameMe>::new();
    let value = rename.value();
    // Without JavaScript the page comes back marked done.
    let done = done_without_js(<RenameMe as ServerFn>::PATH);
    let saved = move || {
        !rename.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    // The name as last saved: the answer to the last rename, else as loaded.
    let shown = move |pick: fn(&crate::domain::Profile) -> String| {
        Signal::derive(move || match value.get() {
            Some(Ok(p)) => pick(&p),
            _ => profile
                .get()
                .and_then(Result::ok)
                .map(|p| pick(&p))
                .unwrap_or_default(),
        })
    };
    view! {
        <section class="card">
            <h2>"Your name"</h2>
            <p class="muted">"Shown to the administrators of your organization in the members list."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || profile.get().map(|_| view! {
                    <ActionForm action=rename>
                        <Field label="First name" name="first_name" autocomplete="given-name" optional=true
                            value=shown(|p| p.first_name.clone())
                            error=Signal::derive(field_error(move || value.get(), "first_name")) />
                        <Field label="Last name" name="last_name" autocomplete="family-name" optional=true
                            value=shown(|p| p.last_name.clone())
                            error=Signal::derive(field_error(move || value.get(), "last_name")) />
                        <ErrorLine message=form_error(move || value.get(), &["first_name", "last_name"]) />
                        <div class="actions">
                            <button type="submit" class="primary" disabled=move || rename.pending().get()>
                                {move || if rename.pending().get() { "Saving…" } else { "Save name" }}
                            </button>
                            <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
                        </div>
                    </ActionForm>
                })}
            </Suspense>
        </section>
    }
}
