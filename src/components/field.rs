//! Form fields and the errors that belong to them.

use leptos::prelude::*;

use super::error_line::ErrorLine;
use crate::domain::AppError;

/// The message of the error that belongs to `field`, for showing next to it.
pub fn field_error<T>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
    field: &'static str,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        value()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(field))
    }
}

/// An error that belongs to no field, shown above the form's button.
pub fn form_error<T>(
    value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
    fields: &'static [&'static str],
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        value()
            .and_then(|r| r.err())
            .filter(|e| !fields.iter().any(|f| e.for_field(f).is_some()))
            .map(|e| e.to_string())
    }
}

/// A labelled input with its error message underneath.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional)] readonly: bool,
    /// May be left empty.
    #[prop(optional)]
    optional: bool,
    #[prop(into)] error: Signal<Option<String>>,
    /// Tells apart the ids of fields of the same name in two forms of one page.
    #[prop(optional)]
    id_prefix: &'static str,
) -> impl IntoView {
    let id = format!("field-{id_prefix}{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                readonly=readonly
                required=!optional
                value=move || value.get()
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <ErrorLine field=true id=error_id message=move || error.get() />
        </div>
    }
}
