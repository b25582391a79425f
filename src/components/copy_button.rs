//! A button that copies a text to the clipboard and says whether that worked.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{js_sys::Promise, HtmlInputElement};

#[component]
pub fn CopyButton(
    label: &'static str,
    /// What to copy; the button is disabled while there is nothing.
    text: Signal<Option<String>>,
    /// The id of the input that shows the text: selected for the person to copy when the
    /// clipboard refuses it.
    input: &'static str,
    #[prop(optional)] primary: bool,
) -> impl IntoView {
    // Whether the last click copied the text; None before any click.
    let (outcome, set_outcome) = signal(None::<bool>);
    // A new text has not been copied yet.
    Effect::new(move |_| {
        text.track();
        set_outcome.set(None);
    });
    let copy = move |_| {
        let Some(text) = text.get_untracked() else {
            return;
        };
        // Browsers offer the clipboard only to secure pages (HTTPS, or localhost).
        let window = window();
        let written = window
            .is_secure_context()
            .then(|| window.navigator().clipboard().write_text(&text));
        leptos::task::spawn_local(async move {
            let copied = match written {
                Some(promise) => accepted(promise).await,
                None => false,
            };
            if !copied {
                select(input);
            }
            set_outcome.set(Some(copied));
        });
    };
    view! {
        <button type="button" class:primary=primary disabled=move || text.with(Option::is_none) on:click=copy>
            {label}
        </button>
        <span class="saved" class:failed={move || outcome.get() == Some(false)} role="status">
            {move || outcome.get().map(|copied| if copied { "Copied!" } else { "Press Ctrl+C to copy" })}
        </span>
    }
}

/// Whether the clipboard took the text (the promise of `writeText` resolved).
#[cfg(feature = "hydrate")]
async fn accepted(promise: Promise) -> bool {
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// The server never copies.
#[cfg(not(feature = "hydrate"))]
async fn accepted(_: Promise) -> bool {
    false
}

/// Focuses the input with this id and selects all its text.
fn select(id: &str) {
    let input = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
    if let Some(input) = input {
        let _ = input.focus();
        input.select();
    }
}
