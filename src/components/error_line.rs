//! The one way an error line is shown: under a field, or above a form's button.

use leptos::prelude::*;

/// A line that announces an error (`role="alert"`); empty, and hidden by the stylesheet, while
/// there is none.
#[component]
pub fn ErrorLine(
    /// The message; `None` shows nothing.
    #[prop(into)]
    message: Signal<Option<String>>,
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
            {move || message.get()}
        </p>
    }
}
