//! Presentational pieces shared by the pages.
//!
//! What a `Suspend` shows is always an `AnyView` (`().into_any()` for nothing): every other type
//! builds Leptos' suspense machinery into the wasm once more, about 5 to 7 KB on the wire each.

pub mod account;
pub mod actions;
pub mod activity_log;
pub mod app_menu;
pub mod confirm;
pub mod copy_button;
pub mod dialog;
pub mod error_line;
pub mod field;
pub mod gate;
pub mod invite_modal;
pub mod list_table;
pub mod load;
pub mod mapping_table;
pub mod member_table;
pub mod organization;
pub mod pagination;
pub mod passkey_script;
pub mod password_reset_button;
pub mod scim;
pub mod search_box;
pub mod verify_banner;

use leptos::prelude::*;

use crate::domain::{AppError, Visit};

/// Who is visiting (the signed-in user, if any), loaded once per page load and shared through
/// context.
#[derive(Clone, Copy)]
pub struct Me(pub load::Loaded<Visit>);

/// The organization's title as last renamed in this page, so that the header follows a rename
/// without reloading the signed-in user (which would re-render the page).
#[derive(Clone, Copy)]
pub struct RenamedTitle(pub RwSignal<Option<String>>);

/// Reloads the organization card of the Organization page (its seats), for the pieces inside it.
#[derive(Clone, Copy)]
pub struct RefreshOrganization(pub Callback<()>);

/// Reloads the members table (after a member is removed from it).
#[derive(Clone, Copy)]
pub struct RefreshMembers(pub Callback<()>);

/// Sets the status of the server-rendered response (no-op in the browser).
pub fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(_code),
    ) {
        res.set_status(status);
    }
}

/// Whether this page was reached after a plain form post (without JavaScript) to the server
/// function at `path` succeeded: the page then says it was done, as the hydrated app does.
pub fn done_without_js(path: &str) -> bool {
    leptos_router::hooks::use_query_map()
        .read_untracked()
        .get(crate::api::DONE_PARAM)
        .is_some_and(|done| done == path)
}

/// The error a plain form post (without JavaScript) to the server function at `path` came back
/// to this page with.
pub fn error_without_js(path: &str) -> Option<AppError> {
    use leptos::server_fn::error::ServerFnUrlError;
    use_context::<leptos::server::ServerActionError>()
        .filter(|e| e.path() == path)
        .map(|e| ServerFnUrlError::<AppError>::decode_err(e.err()))
}

/// Loads a page afresh (after signing in or out, so that every part of the app sees it).
pub fn go_to(path: &str) {
    let _ = window().location().set_href(path);
}

/// An RFC 3339 UTC timestamp as people read it: `2026-11-22 08:03:20 UTC`.
pub fn readable_time(timestamp: &str) -> String {
    timestamp.replace('T', " ").replace('Z', " UTC")
}

/// The date of an RFC 3339 timestamp: `2026-11-22`.
pub fn readable_date(timestamp: &str) -> String {
    timestamp.split('T').next().unwrap_or(timestamp).to_owned()
}
