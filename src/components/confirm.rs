//! A button that asks before it acts, in a dialog.

use leptos::{html::Button, prelude::*};

use super::dialog::Dialog;

/// A click opens a dialog with the question, a confirming button and "Cancel" (which takes
/// focus); once it is answered, focus returns to the button.
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
    // The button that asked makes way for the dialog, so that only one button has its name.
    view! {
        <Show
            when=move || asking.get()
            fallback=move || view! {
                <button type="button" node_ref=ask_ref disabled=move || disabled.get() on:click=move |_| set_asking.set(true)>
                    {label}
                </button>
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
