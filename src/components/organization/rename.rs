//! Renaming the organization; the card and the header follow the new title.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::organization::RenameOrganization,
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        RenamedTitle,
    },
    domain::OrganizationView,
};

#[component]
pub fn RenameForm(
    /// The organization as last saved.
    current: ReadSignal<OrganizationView>,
    /// Takes the organization as the rename returns it.
    set_current: WriteSignal<OrganizationView>,
) -> impl IntoView {
    let renamed = expect_context::<RenamedTitle>().0;
    let rename = ServerAction::<RenameOrganization>::new();
    let value = rename.value();
    on_success(rename, move |updated| {
        renamed.set(Some(updated.title.clone()));
        set_current.set(updated);
    });
    // Without JavaScript the page comes back marked done.
    let done = done_without_js(<RenameOrganization as ServerFn>::PATH);
    let saved = move || {
        !rename.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    view! {
        <section class="card">
            <h2>"Rename the organization"</h2>
            <ActionForm action=rename>
                <Field label="Title" name="title" autocomplete="organization"
                    value=Signal::derive(move || current.read().title.clone())
                    error=Signal::derive(field_error(move || value.get(), "title")) />
                <ErrorLine message=form_error(move || value.get(), &["title"]) />
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
