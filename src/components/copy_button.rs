//! A button that copies a text to the clipboard and says whether that worked.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    label: &'static str,
    /// What to copy; the button is disabled while there is nothing.
    text: Signal<Option<String>>,
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
        let secure = window.is_secure_context();
        if secure {
            let _ = window.navigator().clipboard().write_text(&text);
        }
        set_outcome.set(Some(secure));
    };
    view! {
        <button type="button" class:primary=primary disabled=move || text.with(Option::is_none) on:click=copy>
            {label}
        </button>
        <span class="saved" class:failed=move || outcome.get() == Some(false) role="status">
            {move || outcome.get().map(|copied| {
                if copied { "Copied!" } else { "The browser allows copying only over HTTPS: select the text and copy it." }
            })}
        </span>
    }
}
