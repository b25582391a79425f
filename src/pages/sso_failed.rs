//! The page a single sign-on that did not sign anyone in ends on: why, what to do, and the
//! reference that finds the cause in the server's log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::domain::SsoProblem;

#[component]
pub fn SsoFailedPage() -> impl IntoView {
    let query = use_query_map().read_untracked();
    let problem = query
        .get("reason")
        .and_then(|code| SsoProblem::parse(&code))
        .unwrap_or(SsoProblem::Expired);
    // A reference is hex the server made; anything else is not shown.
    let reference = query
        .get("reference")
        .filter(|r| r.len() <= 32 && r.bytes().all(|b| b.is_ascii_hexdigit()));
    view! {
        <Title text="Single sign-on failed" />
        <section class="card notice" data-testid="sso-failed" data-reason=problem.code()>
            <h1>"You were not signed in"</h1>
            <p>{problem.message()}</p>
            {reference.map(|r| view! {
                <p class="muted">"Reference: " <code data-testid="sso-reference">{r}</code></p>
            }.into_any())}
            <p><A href="/user/login">"Back to the sign-in page"</A></p>
        </section>
    }
}
