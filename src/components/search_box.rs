//! What is typed in a search box, applied as the search once typing pauses, or at once on Enter,
//! and the form that holds it.

use std::time::Duration;

use leptos::{ev::Event, prelude::*};

/// How long typing must pause before the search is applied.
const SEARCH_DELAY: Duration = Duration::from_millis(300);

/// A search box's text and its pending timer. Applying it hands the trimmed text to `apply_to`
/// when it differs from the search in force (`current`).
#[derive(Clone, Copy)]
pub struct SearchBox {
    /// What is in the box (its `prop:value`).
    pub typed: ReadSignal<String>,
    set_typed: WriteSignal<String>,
    waiting: StoredValue<Option<TimeoutHandle>>,
    current: Signal<String>,
    apply_to: Callback<String>,
}

impl SearchBox {
    pub fn new(
        current: impl Into<Signal<String>>,
        apply_to: impl Fn(String) + Send + Sync + 'static,
    ) -> Self {
        let current = current.into();
        let (typed, set_typed) = signal(current.get_untracked());
        let search = Self {
            typed,
            set_typed,
            waiting: StoredValue::new(None),
            current,
            apply_to: Callback::new(apply_to),
        };
        on_cleanup(move || search.stop_waiting());
        search
    }

    fn stop_waiting(self) {
        if let Some(handle) = self.waiting.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }

    /// Applies what is typed now (Enter).
    pub fn apply(self) {
        self.stop_waiting();
        let text = self.typed.get_untracked().trim().to_owned();
        if text != self.current.get_untracked() {
            self.apply_to.run(text);
        }
    }

    /// Takes what was typed and applies it once typing pauses.
    pub fn on_input(self, ev: Event) {
        self.set_typed.set(event_target_value(&ev));
        self.stop_waiting();
        if let Ok(handle) = set_timeout_with_handle(move || self.apply(), SEARCH_DELAY) {
            self.waiting.set_value(Some(handle));
        }
    }
}

/// A search form: its search box, labelled `label`, and the list's other filters (its children).
#[component]
pub fn SearchForm(
    search: SearchBox,
    /// Names the form for assistive technology.
    name: &'static str,
    /// The search box's id.
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <form class="filters" role="search" aria-label=name
            on:submit=move |ev| {
                ev.prevent_default();
                search.apply();
            }
        >
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="search" placeholder=placeholder autocomplete="off"
                    prop:value=move || search.typed.get() on:input=move |ev| search.on_input(ev) />
            </div>
            {children.map(|children| children())}
        </form>
    }
}
