//! gatehouse: organization signup, invitations and member roles.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: fetches the wasm chunk of the page being shown, hydrates the
/// server-rendered page, then marks the body so that tests (and people) know the page is
/// interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::document;

    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// The paths of every server function the app registers (for the authorization matrix test).
#[cfg(feature = "ssr")]
pub fn server_fn_paths() -> impl Iterator<Item = String> {
    leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned())
}
