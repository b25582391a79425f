//! A button that asks before it acts, in a dialog (or, without JavaScript, in the page).

use leptos::{html::Button, prelude::*};
use leptos_router::hooks::{use_location, use_query_map};

use super::dialog::Dialog;
use crate::api::{CONFIRM_PARAM, DONE_PARAM};

/// A click opens a dialog with the question, a confirming button and "Cancel" (which takes
/// focus); once it is answered, focus returns to the button.
///
/// Without JavaScript (or before the app is interactive) the button opens the same page with
/// `?confirm=<key>`, where the question is asked in place of the button: the confirming button
/// posts `fields` to the server function at `action`, "Cancel" goes back.
#[component]
pub fn ConfirmButton(
    /// The button that asks ("Reset Link").
    label: &'static str,
    /// The question ("Reset the link? …"), which titles the dialog.
    #[prop(into)]
    question: String,
    /// The button that does it ("Reset link").
    confirm_label: &'static str,
    on_confirm: Callback<()>,
    #[prop(optional, into)] disabled: Signal<bool>,
    /// Styles the confirming button as dangerous.
    #[prop(optional)]
    danger: bool,
    /// Names this question in the page's address (`?confirm=<key>`); unique in the page.
    #[prop(into)]
    key: String,
    /// The path of the server function that the confirming button posts to without JavaScript.
    action: &'static str,
    /// The fields it posts.
    #[prop(optional)]
    fields: Vec<(&'static str, String)>,
) -> impl IntoView {
    let (asking, set_asking) = signal(false);
    let ask_ref = NodeRef::<Button>::new();
    // Set when the question is answered, so that focus returns to the button that asked.
    let answered = StoredValue::new(false);
    Effect::new(move |_| {
        // Waits until the button is back and enabled again (while the action runs it may not be).
        if let Some(ask) = ask_ref.get() {
            if answered.get_value() && !disabled.get() {
                answered.set_value(false);
                let _ = ask.focus();
            }
        }
    });
    let answer = move |confirmed: bool| {
        answered.set_value(true);
        set_asking.set(false);
        if confirmed {
            on_confirm.run(());
        }
    };
    // The page's query, but for what a previous form answer or question added.
    let mut kept = use_query_map().get_untracked();
    for added in [CONFIRM_PARAM, DONE_PARAM, "__path", "__err"] {
        kept.remove(added);
    }
    let confirming = use_query_map()
        .read_untracked()
        .get(CONFIRM_PARAM)
        .is_some_and(|k| k == key);
    let cancel = format!(
        "{}{}",
        use_location().pathname.get_untracked(),
        kept.to_query_string()
    );
    let kept: Vec<(String, String)> = kept.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
    let no_js_question = question.clone();
    // The button that asked makes way for the dialog, so that only one button has its name.
    view! {
        <Show
            when=move || asking.get()
            fallback=move || {
                if confirming {
                    view! {
                        <div class="confirm-step" role="group" aria-label=no_js_question.clone()>
                            <p>{no_js_question.clone()}</p>
                            <form class="inline" method="post" action=action>
                                {fields
                                    .iter()
                                    .map(|(name, value)| view! { <input type="hidden" name=*name value=value.clone() /> })
                                    .collect_view()}
                                <button type="submit" class:danger=danger>{confirm_label}</button>
                            </form>
                            <a href=cancel.clone() class="button">"Cancel"</a>
                        </div>
                    }
                    .into_any()
                } else {
                    view! {
                        <form class="inline" method="get">
                            {kept
                                .iter()
                                .map(|(name, value)| view! { <input type="hidden" name=name.clone() value=value.clone() /> })
                                .collect_view()}
                            <input type="hidden" name=CONFIRM_PARAM value=key.clone() />
                            <button
                                type="submit"
                                node_ref=ask_ref
                                disabled=move || disabled.get()
                                on:click=move |ev| {
                                    ev.prevent_default();
                                    set_asking.set(true);
                                }
                            >
                                {label}
                            </button>
                        </form>
                    }
                    .into_any()
                }
            }
        >
            <Dialog title=question.clone() on_close=Callback::new(move |()| answer(false)) class="confirm-dialog">
                <div class="actions">
                    <button type="button" class:danger=danger on:click=move |_| answer(true)>{confirm_label}</button>
                    <button type="button" data-autofocus="" on:click=move |_| answer(false)>"Cancel"</button>
                </div>
            </Dialog>
        </Show>
    }
}
