//! The one way an error line is shown: under a field, or above a form's button.

use leptos::prelude::*;

/// A line that announces an error (`role="alert"`); empty, and hidden by the stylesheet, while
/// there is none.
#[component]
pub fn ErrorLine(
    /// The message; `None` shows nothing. (A closure rather than a `Signal`: each page then
    /// carries its own copy of this small view, which keeps it out of the shared main module.)
    message: impl Fn() -> Option<String> + Send + Sync + 'static,
    /// The error belongs to one field and is shown under it (`field-error`), rather than to the
    /// whole form (`form-error`).
    #[prop(optional)]
    field: bool,
    /// For the field's `aria-describedby`.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    view! {
        <p class=if field { "field-error" } else { "form-error" } id=id role="alert">
            {message}
        </p>
    }
}
