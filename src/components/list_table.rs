//! A table of a list's rows (members, pending invitations): a heading per column and a last
//! column of actions.

use leptos::prelude::*;

/// The table around `children`, its rows: `columns` head them, then the actions' column.
#[component]
pub fn ListTable(
    /// Names the table for assistive technology.
    caption: &'static str,
    test_id: &'static str,
    columns: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=test_id>
                <caption class="sr-only">{caption}</caption>
                <thead>
                    <tr>
                        {columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
