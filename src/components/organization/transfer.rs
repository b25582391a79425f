//! The Owner hands the organization to an active member, confirming with their password.

use leptos::prelude::*;

use crate::{
    api::members::TransferOwnership,
    components::{
        actions::on_success_go_to,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
    },
};

#[component]
pub fn OwnershipTransfer() -> impl IntoView {
    let transfer = ServerAction::<TransferOwnership>::new();
    let value = transfer.value();
    // Everything the page shows depends on the role: load it afresh.
    on_success_go_to(transfer, "/organization");
    view! {
        <section class="card">
            <h2>"Transfer ownership"</h2>
            <p class="muted">
                "Make an active member the Owner of this organization. You will become an Administrator."
            </p>
            <ActionForm action=transfer>
                <Field label="New Owner's email" name="email" kind="email"
                    error=Signal::derive(field_error(move || value.get(), "email")) />
                <Field label="Your password" name="password" kind="password" autocomplete="current-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <ErrorLine message=form_error(move || value.get(), &["email", "password"]) />
                <button type="submit" class="danger" disabled=move || transfer.pending().get()>
                    "Transfer ownership"
                </button>
            </ActionForm>
        </section>
    }
}
