//! The header: a menu in the upper left with the pages the user may open.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use super::{actions::on_success_go_to, Me, RenamedTitle};
use crate::{
    api::auth::LogOut,
    domain::{CurrentUser, Need},
};

#[component]
pub fn AppMenu() -> impl IntoView {
    let me = expect_context::<Me>().0;
    view! {
        <header class="topbar">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await.map(|visit| visit.user) {
                        Ok(Some(user)) => view! { <SignedInMenu user /> }.into_any(),
                        _ => view! { <span class="brand">"Gatehouse"</span> }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn SignedInMenu(user: CurrentUser) -> impl IntoView {
    let (open, set_open) = signal(false);
    let location = use_location();
    // On every change of page: close the menu, and read the user's role afresh, so that a
    // member deactivated meanwhile sees so on their next navigation.
    let me = expect_context::<Me>().0;
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        set_open.set(false);
        if previous.is_some_and(|p| p != path) {
            me.refetch();
        }
        path
    });
    let log_out = ServerAction::<LogOut>::new();
    on_success_go_to(log_out, "/user/login");
    let renamed = expect_context::<RenamedTitle>().0;
    let title = user.organization_title.clone();
    let active = user.allows(Need::Active).is_ok();
    let admin = user.allows(Need::Admin).is_ok();
    let own_account = user.allows(Need::SignedIn).is_ok();
    view! {
        <div class="menu">
            <button
                type="button"
                class="menu-button"
                aria-haspopup="true"
                aria-expanded=move || open.get().to_string()
                aria-controls="main-menu"
                on:click=move |_| set_open.update(|o| *o = !*o)
            >
                <span aria-hidden="true">"☰"</span>
                " Menu"
            </button>
            <nav id="main-menu" aria-label="Main" class="menu-panel" class:open=open hidden={move || !open.get()}>
                <ul>
                    <Show when=move || active>
                        <li><A href="/">"Home"</A></li>
                    </Show>
                    <Show when=move || admin>
                        <li>
                            {if user.pending_members > 0 {
                                let n = user.pending_members;
                                view! {
                                    <A href="/organization?role=NOT_ACTIVATED" attr:aria-label=format!("Organization, {n} waiting for a role")>
                                        "Organization " <span class="count" aria-hidden="true">{n}</span>
                                    </A>
                                }
                                .into_any()
                            } else {
                                view! { <A href="/organization">"Organization"</A> }.into_any()
                            }}
                        </li>
                        <li><A href="/organization/activity">"Activity"</A></li>
                    </Show>
                    <Show when=move || own_account>
                        <li><A href="/user/account">"Account"</A></li>
                    </Show>
                    <li>
                        <ActionForm action=log_out>
                            <button type="submit" class="link">"Log out"</button>
                        </ActionForm>
                    </li>
                </ul>
            </nav>
        </div>
        <span class="brand">
            {move || renamed.get().unwrap_or_else(|| title.clone())}
        </span>
        <span class="whoami" data-testid="whoami">
            {user.email.clone()}
            " · "
            {user.role_label()}
        </span>
    }
}
