//! The Activity page's log: filters (action, actor, dates), the entries newest first, one line
//! each under the day they happened, and pages of 50.

use leptos::prelude::*;

use super::{error_line::ErrorLine, load::load, pagination::Pagination, readable_time};
use crate::{
    api::audit::list_audit_log,
    domain::{Action, AuditEntryView, AuditPage},
};

/// The filters as applied (the form's fields take effect on "Apply").
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    action: String,
    actor: String,
    since: String,
    until: String,
}

impl Filters {
    /// The query string of the CSV export with these filters.
    fn export_query(&self) -> String {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn ActivityLog(organization_id: i64) -> impl IntoView {
    let (page, set_page) = signal(1_i64);
    let (applied, set_applied) = signal(Filters::default());
    let (typed, set_typed) = signal(Filters::default());
    let entries = load(
        move || (page.get(), applied.get()),
        |(page, f)| {
            list_audit_log(
                page,
                (!f.action.is_empty()).then_some(f.action),
                f.actor,
                f.since,
                f.until,
            )
        },
    );
    let apply = move || {
        set_page.set(1);
        set_applied.set(typed.get_untracked());
    };
    let export = move || {
        let query = applied.read().export_query();
        let base = format!("/api/organizations/{organization_id}/audit-log.csv");
        if query.is_empty() {
            base
        } else {
            format!("{base}?{query}")
        }
    };
    view! {
        <form class="filters" role="search" aria-label="Filter the activity"
            on:submit=move |ev| {
                ev.prevent_default();
                apply();
            }
        >
            <div class="field">
                <label for="activity-action">"Action"</label>
                <select id="activity-action" on:change=move |ev| {
                    let value = event_target_value(&ev);
                    set_typed.update(|f| f.action = value);
                    apply();
                }>
                    <option value="">"All actions"</option>
                    {Action::ALL
                        .into_iter()
                        .map(|a| view! { <option value=a.as_str()>{a.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="activity-actor">"Actor"</label>
                <input id="activity-actor" type="search" placeholder="Email, cli or system" autocomplete="off"
                    prop:value=move || typed.read().actor.clone()
                    on:input=move |ev| { let v = event_target_value(&ev); set_typed.update(|f| f.actor = v); } />
            </div>
            <div class="field">
                <label for="activity-since">"From"</label>
                <input id="activity-since" type="date"
                    prop:value=move || typed.read().since.clone()
                    on:input=move |ev| { let v = event_target_value(&ev); set_typed.update(|f| f.since = v); } />
            </div>
            <div class="field">
                <label for="activity-until">"To"</label>
                <input id="activity-until" type="date"
                    prop:value=move || typed.read().until.clone()
                    on:input=move |ev| { let v = event_target_value(&ev); set_typed.update(|f| f.until = v); } />
            </div>
            <div class="filter-actions">
                <button type="submit">"Apply"</button>
                <a class="button-link" href=export download="">"Download CSV"</a>
            </div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(found) => view! { <Entries found set_page /> }.into_any(),
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The clock time of an RFC 3339 UTC timestamp: `14:02`.
fn clock(timestamp: &str) -> String {
    timestamp.get(11..16).unwrap_or(timestamp).to_owned()
}

/// The entries of one page, grouped by day (UTC), and the page buttons.
#[component]
fn Entries(found: AuditPage, set_page: WriteSignal<i64>) -> impl IntoView {
    if found.results.is_empty() {
        return view! { <p class="empty">"No activity matches."</p> }.into_any();
    }
    let place = found.place();
    let mut days: Vec<(String, Vec<AuditEntryView>)> = Vec::new();
    for entry in found.results {
        let day = entry.created_at.get(..10).unwrap_or_default().to_owned();
        match days.last_mut() {
            Some((d, entries)) if *d == day => entries.push(entry),
            _ => days.push((day, vec![entry])),
        }
    }
    view! {
        <div class="activity" data-testid="activity">
            {days
                .into_iter()
                .map(|(day, entries)| view! {
                    <h3 class="activity-day">{day}</h3>
                    <ol class="activity-entries">
                        {entries
                            .into_iter()
                            .map(|e| {
                                let full = readable_time(&e.created_at);
                                let from = if e.client_address.is_empty() { String::new() } else { format!(" from {}", e.client_address) };
                                view! {
                                    <li class="activity-entry" data-action=e.action.clone()>
                                        <span class="summary">{e.summary.clone()}</span>
                                        " · "
                                        <time datetime=e.created_at.clone() title=format!("{full}{from}")>{clock(&e.created_at)}</time>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                })
                .collect_view()}
        </div>
        <Pagination place set_page label="Activity pages" range_id="activity-range" previous="Newer" next="Older" />
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_link_carries_the_filters_encoded() {
        let f = Filters {
            action: "member.role_changed".into(),
            actor: "a+b@x.com".into(),
            since: String::new(),
            until: "2026-11-01".into(),
        };
        assert_eq!(
            f.export_query(),
            "action=member.role_changed&actor=a%2Bb%40x.com&until=2026-11-01"
        );
    }
}
