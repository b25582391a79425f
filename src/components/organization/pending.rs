//! The Pending invitations card: email invitations not yet accepted, 20 a page with a search by
//! address, with Resend and Revoke.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::invites::{ResendInvitation, RevokeInvitation},
    components::{
        actions::on_result,
        confirm::ConfirmButton,
        done_without_js,
        error_line::ErrorLine,
        list_table::ListTable,
        load::Loaded,
        member_table::RolePill,
        pagination::Pagination,
        readable_date, readable_time,
        search_box::{SearchBox, SearchForm},
        RefreshOrganization,
    },
    domain::{PendingInvitation, PendingInvitations},
};

/// Email invitations not yet accepted, with Resend and Revoke.
#[component]
pub fn PendingInvitationList(
    invitations: Loaded<PendingInvitations>,
    /// The page shown, from 1.
    page: RwSignal<i64>,
    /// The search by address, as applied.
    search: RwSignal<String>,
) -> impl IntoView {
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    // The address of the last invitation acted on, for the message.
    let target = StoredValue::new(String::new());
    // Without JavaScript the page comes back marked done, or with the error.
    let answered_without_js = if done_without_js(<ResendInvitation as ServerFn>::PATH) {
        Some(Ok("Invitation re-sent.".to_owned()))
    } else if done_without_js(<RevokeInvitation as ServerFn>::PATH) {
        Some(Ok("Invitation revoked.".to_owned()))
    } else {
        resend
            .value()
            .get_untracked()
            .or_else(|| revoke.value().get_untracked())
            .and_then(Result::err)
            .map(|e| Err(e.to_string()))
    };
    let (outcome, set_outcome) = signal(answered_without_js);
    let refresh_seats = use_context::<RefreshOrganization>();
    on_result(resend, move |result| {
        let email = target.get_value();
        set_outcome.set(Some(
            result
                .map(|()| format!("Invitation re-sent to {email}."))
                .map_err(|e| e.to_string()),
        ));
        invitations.refetch();
        if let Some(RefreshOrganization(refresh)) = refresh_seats {
            refresh.run(()); // a resend may take a seat again, or free it when the address joined
        }
    });
    on_result(revoke, move |result| {
        let email = target.get_value();
        set_outcome.set(Some(
            result
                .map(|()| format!("Invitation for {email} revoked."))
                .map_err(|e| e.to_string()),
        ));
        invitations.refetch();
        if let Some(RefreshOrganization(refresh)) = refresh_seats {
            refresh.run(()); // a revoked invitation frees its seat
        }
    });
    let busy = Signal::derive(move || resend.pending().get() || revoke.pending().get());
    let on_resend = Callback::new(move |(id, email): (i64, String)| {
        target.set_value(email);
        set_outcome.set(None);
        resend.dispatch(ResendInvitation { id });
    });
    let on_revoke = Callback::new(move |(id, email): (i64, String)| {
        target.set_value(email);
        set_outcome.set(None);
        revoke.dispatch(RevokeInvitation { id });
    });
    // Searches once typing pauses, or at once on Enter; a new search starts at the first page.
    let search_box = SearchBox::new(search, move |text| {
        page.set(1);
        search.set(text);
    });
    view! {
        <section class="card" data-testid="pending-invitations" aria-labelledby="pending-invitations-title">
            <h2 id="pending-invitations-title">"Pending invitations"</h2>
            <p class="saved" class:failed=move || matches!(outcome.get(), Some(Err(_))) role="status">
                {move || outcome.get().map(|o| o.unwrap_or_else(|e| e))}
            </p>
            <SearchForm search=search_box name="Filter pending invitations" id="invitation-search" label="Filter by email" placeholder="Email" />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match invitations.await {
                        Ok(list) if list.count == 0 && search.get_untracked().is_empty() => {
                            view! { <p class="empty">"No pending invitations."</p> }.into_any()
                        }
                        Ok(list) if list.results.is_empty() && list.page == 1 => {
                            view! { <p class="empty">"No pending invitations match."</p> }.into_any()
                        }
                        Ok(list) => {
                        let place = list.place();
                        view! {
                            <ListTable caption="Pending invitations" test_id="invitations-table" columns={&["Email", "Role", "Invited by", "Expires"]}>
                                {list
                                    .results
                                    .into_iter()
                                    .map(|i| view! { <InvitationRow invitation=i busy on_resend on_revoke /> })
                                    .collect_view()}
                            </ListTable>
                            <Pagination place set_page=page.write_only()
                                label="Pending invitations pages" range_id="invitations-range" />
                        }
                        .into_any()
                        }
                        Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn InvitationRow(
    invitation: PendingInvitation,
    busy: Signal<bool>,
    on_resend: Callback<(i64, String)>,
    on_revoke: Callback<(i64, String)>,
) -> impl IntoView {
    let PendingInvitation {
        id,
        email,
        role,
        invited_by,
        expires_at,
        expired,
        ..
    } = invitation;
    let question = format!("Revoke invitation for {email}?");
    let for_resend = email.clone();
    let for_revoke = email.clone();
    view! {
        <tr class:expired=expired>
            <td class="email">{email}</td>
            <td><RolePill role /></td>
            <td>{invited_by}</td>
            <td>
                <time datetime=expires_at.clone() title=readable_time(&expires_at)>{readable_date(&expires_at)}</time>
                {expired.then(|| view! { " " <span class="pill expired">"Expired"</span> }.into_any())}
            </td>
            <td class="row-actions">
                // Posts the form itself without JavaScript; the app sends it in the page.
                <form class="inline" method="post" action={<ResendInvitation as ServerFn>::PATH}>
                    <input type="hidden" name="id" value=id.to_string() />
                    <button type="submit" disabled=move || busy.get() on:click=move |ev| {
                        ev.prevent_default();
                        on_resend.run((id, for_resend.clone()));
                    }>
                        "Resend"
                    </button>
                </form>
                <ConfirmButton
                    label="Revoke"
                    question
                    confirm_label="Revoke"
                    danger=true
                    disabled=busy
                    on_confirm=Callback::new(move |()| on_revoke.run((id, for_revoke.clone())))
                    key=format!("revoke-{id}")
                    action={<RevokeInvitation as ServerFn>::PATH}
                    fields=vec![("id", id.to_string())]
                />
            </td>
        </tr>
    }
}
