//! The modal dialog: named by its title, focus trapped inside, Escape closes it.

use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::{html::Div, prelude::*};
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

/// Numbers the dialogs' titles, so that each dialog's `aria-labelledby` points at its own.
static NEXT_TITLE: AtomicUsize = AtomicUsize::new(0);

/// A modal dialog over the page. Focus goes to the element inside marked `data-autofocus`, or
/// else to the first control; it returns to the element that had it when the dialog closes (if
/// that element is still in the page).
#[component]
pub fn Dialog(
    /// The heading, which names the dialog.
    #[prop(into)]
    title: String,
    /// Closes the dialog (Escape, and the "Close" button if there is one).
    on_close: Callback<()>,
    /// Shows a "Close" button beside the title.
    #[prop(optional)]
    close_button: bool,
    /// Where "Close" goes without JavaScript (a dialog the page opened from its address).
    #[prop(optional)]
    close_to: Option<&'static str>,
    /// A class added to the dialog box ("confirm-dialog").
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let title_id = format!(
        "dialog-title-{}",
        NEXT_TITLE.fetch_add(1, Ordering::Relaxed)
    );
    let labelled_by = title_id.clone();
    let dialog_ref = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let opener = StoredValue::new_local(document().active_element());
        dialog_ref.on_load(|dialog| focus_first_when_mounted(dialog.into(), 20));
        on_cleanup(move || {
            if let Some(Some(opener)) = opener.try_get_value() {
                request_animation_frame(move || {
                    if let (true, Ok(opener)) = (
                        opener.is_connected(),
                        opener.dyn_into::<web_sys::HtmlElement>(),
                    ) {
                        let _ = opener.focus();
                    }
                });
            }
        });
    }
    // Keys are heard on the whole window, so that they work even where focus has fallen out of
    // the dialog (a focused button that becomes disabled drops it to the page's body). Only the
    // innermost open dialog answers: one inside another closes alone.
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| {
            let Some(dialog) = dialog_ref.get_untracked() else {
                return;
            };
            if dialog
                .query_selector("[role=dialog]")
                .ok()
                .flatten()
                .is_some()
            {
                return;
            }
            match ev.key().as_str() {
                "Escape" => {
                    ev.prevent_default();
                    on_close.run(());
                }
                "Tab" => trap_focus(&dialog, &ev),
                _ => {}
            }
        });
        on_cleanup(move || listener.remove());
    }
    view! {
        <div class="modal-backdrop">
            <div
                class=if class.is_empty() { "modal".to_owned() } else { format!("modal {class}") }
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                node_ref=dialog_ref
            >
                <div class="modal-header">
                    <h2 id=title_id>{title}</h2>
                    {close_button.then(|| view! {
                        <form class="inline" method="get" action=close_to>
                            <button
                                type=if close_to.is_some() { "submit" } else { "button" }
                                class="close"
                                on:click=move |ev| {
                                    ev.prevent_default();
                                    on_close.run(());
                                }
                            >
                                "Close"
                            </button>
                        </form>
                    }.into_any())}
                </div>
                {children()}
            </div>
        </div>
    }
}

/// Focuses the dialog's `data-autofocus` element, or its first control, as soon as the dialog is
/// in the document (not merely created), checking once a frame.
#[cfg(feature = "hydrate")]
fn focus_first_when_mounted(dialog: web_sys::Element, frames_left: u32) {
    request_animation_frame(move || {
        if !dialog.is_connected() {
            if frames_left > 0 {
                focus_first_when_mounted(dialog, frames_left - 1);
            }
            return;
        }
        let marked = dialog
            .query_selector("[data-autofocus]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into().ok());
        if let Some(target) = marked.or_else(|| focusable_in(&dialog).into_iter().next()) {
            let _ = target.focus();
        }
    });
}

/// Keeps Tab and Shift+Tab inside `dialog`: from the last control to the first and back.
#[cfg(feature = "hydrate")]
fn trap_focus(dialog: &web_sys::Element, ev: &web_sys::KeyboardEvent) {
    let controls = focusable_in(dialog);
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        ev.prevent_default();
        return;
    };
    let active = document().active_element();
    let at = active.as_ref().and_then(|a| {
        controls
            .iter()
            .position(|c| AsRef::<web_sys::Element>::as_ref(c) == a)
    });
    let target = match (ev.shift_key(), at) {
        (true, Some(0)) | (true, None) => last,
        (false, Some(i)) if i + 1 == controls.len() => first,
        (false, None) => first,
        _ => return,
    };
    ev.prevent_default();
    let _ = target.focus();
}

#[cfg(feature = "hydrate")]
/// The controls inside `root` that Tab reaches, in document order (hidden subtrees skipped).
fn focusable_in(root: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    fn walk(parent: &web_sys::Element, found: &mut Vec<web_sys::HtmlElement>) {
        let mut child = parent.first_element_child();
        while let Some(element) = child {
            if !element.has_attribute("hidden") {
                if is_focusable(&element) {
                    if let Ok(html) = element.clone().dyn_into::<web_sys::HtmlElement>() {
                        found.push(html);
                    }
                }
                walk(&element, found);
            }
            child = element.next_element_sibling();
        }
    }
    let mut found = Vec::new();
    walk(root, &mut found);
    found
}

#[cfg(feature = "hydrate")]
fn is_focusable(element: &web_sys::Element) -> bool {
    let tabindex = element
        .get_attribute("tabindex")
        .and_then(|t| t.trim().parse::<i32>().ok());
    if element.has_attribute("disabled") || tabindex.is_some_and(|t| t < 0) {
        return false;
    }
    let natively = match element.tag_name().to_ascii_uppercase().as_str() {
        "BUTTON" | "SELECT" | "TEXTAREA" => true,
        "INPUT" => !element
            .get_attribute("type")
            .is_some_and(|t| t.eq_ignore_ascii_case("hidden")),
        "A" => element.has_attribute("href"),
        _ => false,
    };
    natively || tabindex.is_some()
}
