//! The page for addresses that lead nowhere (404).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::set_status;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Page not found" />
        <section class="card notice">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Go to the home page"</A> "."</p>
        </section>
    }
}
