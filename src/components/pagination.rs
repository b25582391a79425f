//! "Showing 21–40 of 45" with buttons to the pages before and after, under a list shown a page at
//! a time (members, pending invitations, the activity).

use leptos::prelude::*;

use crate::domain::Place;

/// Where the page shown stands in its list, and the buttons that move to the pages around it.
#[component]
pub fn Pagination(
    place: Place,
    set_page: WriteSignal<i64>,
    /// Names the navigation.
    #[prop(default = "Members pages")]
    label: &'static str,
    /// The test id of "Showing X–Y of N".
    #[prop(default = "members-range")]
    range_id: &'static str,
    /// The button to the page before.
    #[prop(default = "Previous")]
    previous: &'static str,
    /// The button to the page after.
    #[prop(default = "Next")]
    next: &'static str,
) -> impl IntoView {
    let Place {
        count,
        rows,
        has_previous,
        has_next,
    } = place;
    let showing = match rows {
        Some((first, last)) => format!("Showing {first}–{last} of {count}"),
        None => format!("Showing 0 of {count}"),
    };
    view! {
        <nav class="pagination" aria-label=label>
            <button type="button" disabled={!has_previous} on:click=move |_| set_page.update(|p| *p = (*p - 1).max(1))>
                {previous}
            </button>
            <span class="muted" data-testid=range_id>{showing}</span>
            <button type="button" disabled={!has_next} on:click=move |_| set_page.update(|p| *p += 1)>
                {next}
            </button>
        </nav>
    }
}
