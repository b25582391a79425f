//! The members table with search, a role filter and pages.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::{
        members::{list_members, ChangeMemberRole, RemoveMember},
        password_reset::SendPasswordReset,
    },
    components::{
        done_without_js,
        error_line::ErrorLine,
        error_without_js,
        load::load,
        member_table::MemberTable,
        pagination::Pagination,
        search_box::{SearchBox, SearchForm},
        RefreshMembers,
    },
    domain::Role,
};

/// Rows per page of the members table.
const MEMBERS_PER_PAGE: i64 = 50;

/// Search, role filter and pages over the members table.
#[component]
pub fn Members(
    me: i64,
    /// The role filter, which the page may set too (to show who waits for a role).
    role: RwSignal<Option<Role>>,
) -> impl IntoView {
    let (page, set_page) = signal(1_i64);
    let set_role = role.write_only();
    let (search, set_search) = signal(String::new());
    let members = load(
        move || (page.get(), role.get(), search.get()),
        |(page, role, search)| list_members(page, MEMBERS_PER_PAGE, role, search),
    );
    provide_context(RefreshMembers(Callback::new(move |()| members.refetch())));
    // A new filter starts at the first page.
    Effect::new(move |previous: Option<Option<Role>>| {
        let now = role.get();
        if previous.is_some_and(|p| p != now) {
            set_page.set(1);
        }
        now
    });
    // Searches once typing pauses, or at once on Enter; a new search starts at the first page.
    let search_box = SearchBox::new(search, move |text| {
        set_page.set(1);
        set_search.set(text);
    });
    let on_role = move |ev| set_role.set(event_target_value(&ev).parse::<Role>().ok());
    // What a change made without JavaScript in a row of the table came back with.
    let row_paths = [
        (<ChangeMemberRole as ServerFn>::PATH, "Role saved."),
        (<RemoveMember as ServerFn>::PATH, "Member removed."),
        (
            <SendPasswordReset as ServerFn>::PATH,
            "Password reset link sent.",
        ),
    ];
    let done = row_paths
        .iter()
        .find(|(path, _)| done_without_js(path))
        .map(|(_, message)| *message);
    let failed = row_paths
        .iter()
        .find_map(|(path, _)| error_without_js(path))
        .map(|e| e.to_string());
    view! {
        {done.map(|message| view! { <p class="saved" role="status" data-testid="members-outcome">{message}</p> }.into_any())}
        <ErrorLine message=move || failed.clone() />
        <SearchForm search=search_box name="Search members" id="member-search" label="Search" placeholder="Email or name">
            <div class="field">
                <label for="member-role">"Filter by role"</label>
                <select id="member-role" on:change=on_role>
                    <option value="" selected=move || role.get().is_none()>"All roles"</option>
                    {Role::ALL
                        .into_iter()
                        .map(|r| view! {
                            <option value=r.as_str() selected={move || role.get() == Some(r)}>{r.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
        </SearchForm>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(members) => {
                        let place = members.place();
                        view! {
                            <MemberTable members me />
                            {(place.count > 0).then(|| view! { <Pagination place set_page /> }.into_any())}
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                }
            })}
        </Transition>
    }
}
