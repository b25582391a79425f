use std::time::Duration;

use leptos::{html::Button, prelude::*};
use leptos_meta::Title;

use crate::{
    api::{
        invites::{list_invitations, list_members, ResendInvitation, RevokeInvitation, TransferOwnership},
        organization::{get_organization, RenameOrganization},
    },
    components::{
        confirm::ConfirmButton,
        field::{field_error, form_error, Field},
        gate::Gate,
        go_to,
        invite_modal::InviteModal,
        member_table::{MemberTable, Pagination, RolePill},
        readable_date, readable_time, RefreshOrganization, RenamedTitle,
    },
    domain::{AppError, OrganizationView, PendingInvitation, PendingInvitations, Role},
};

/// Rows per page of the members table.
const MEMBERS_PER_PAGE: i64 = 50;
/// How long typing must pause before the members table searches.
const SEARCH_DELAY: Duration = Duration::from_millis(300);

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <Title text="Organization" />
        <Gate
            admin_only=true
            render=|user| view! { <OrganizationPanel me=user.id is_owner=user.role == Role::Owner /> }.into_any()
        />
    }
}

#[component]
fn OrganizationPanel(me: i64, is_owner: bool) -> impl IntoView {
    let organization = Resource::new(|| (), |_| get_organization());
    let invitations = Resource::new(|| (), |_| list_invitations());
    // Role changes and invitations change the seats in use: the card shows them afresh.
    provide_context(RefreshOrganization(Callback::new(move |()| organization.refetch())));
    let (inviting, set_inviting) = signal(false);
    let invite_button = NodeRef::<Button>::new();
    let close_invite = Callback::new(move |()| {
        set_inviting.set(false);
        if let Some(button) = invite_button.get_untracked() {
            let _ = button.focus();
        }
    });
    let invited = Callback::new(move |()| {
        invitations.refetch();
        organization.refetch();
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match organization.await {
                    Ok(org) => view! { <OrganizationDetails org /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <div class="card-header">
                <h2>"Members"</h2>
                <button
                    type="button"
                    class="primary"
                    aria-haspopup="dialog"
                    node_ref=invite_button
                    on:click=move |_| set_inviting.set(true)
                >
                    "Invite People"
                </button>
            </div>
            <Members me />
        </section>
        <PendingInvitationList invitations />
        <Show when=move || inviting.get()>
            <InviteModal on_close=close_invite on_sent=invited />
        </Show>
        <Show when=move || is_owner>
            <OwnershipTransfer />
        </Show>
    }
}

/// Search, role filter and pages over the members table.
#[component]
fn Members(me: i64) -> impl IntoView {
    let (page, set_page) = signal(1_i64);
    let (role, set_role) = signal(None::<Role>);
    let (search, set_search) = signal(String::new());
    let (typed, set_typed) = signal(String::new());
    let members = Resource::new(
        move || (page.get(), role.get(), search.get()),
        |(page, role, search)| list_members(page, MEMBERS_PER_PAGE, role, search),
    );
    // Searches once typing pauses, or at once on Enter.
    let waiting = StoredValue::new(None::<TimeoutHandle>);
    let stop_waiting = move || {
        if let Some(handle) = waiting.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    on_cleanup(stop_waiting);
    let apply_search = move || {
        stop_waiting();
        let text = typed.get_untracked().trim().to_owned();
        if text != search.get_untracked() {
            set_page.set(1);
            set_search.set(text);
        }
    };
    let on_input = move |ev| {
        set_typed.set(event_target_value(&ev));
        stop_waiting();
        if let Ok(handle) = set_timeout_with_handle(apply_search, SEARCH_DELAY) {
            waiting.set_value(Some(handle));
        }
    };
    let on_role = move |ev| {
        set_page.set(1);
        set_role.set(event_target_value(&ev).parse::<Role>().ok());
    };
    view! {
        <form class="filters" role="search" aria-label="Search members"
            on:submit=move |ev| {
                ev.prevent_default();
                apply_search();
            }
        >
            <div class="field">
                <label for="member-search">"Search"</label>
                <input id="member-search" type="search" placeholder="Email or name" autocomplete="off"
                    prop:value=move || typed.get() on:input=on_input />
            </div>
            <div class="field">
                <label for="member-role">"Filter by role"</label>
                <select id="member-role" on:change=on_role>
                    <option value="" selected=move || role.get().is_none()>"All roles"</option>
                    {Role::ALL
                        .into_iter()
                        .map(|r| view! {
                            <option value=r.as_str() selected=move || role.get() == Some(r)>{r.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(members) => {
                        let (count, page, page_size, shown) =
                            (members.count, members.page, members.page_size, members.results.len());
                        view! {
                            <MemberTable members me />
                            {(count > 0).then(|| view! { <Pagination count page page_size shown set_page /> })}
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Email invitations not yet accepted, with Resend and Revoke.
#[component]
fn PendingInvitationList(invitations: Resource<Result<PendingInvitations, AppError>>) -> impl IntoView {
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    // The address of the last invitation acted on, for the message.
    let target = StoredValue::new(String::new());
    let (outcome, set_outcome) = signal(None::<Result<String, String>>);
    let refresh_seats = use_context::<RefreshOrganization>();
    Effect::new(move |_| {
        if let Some(result) = resend.value().get() {
            let email = target.get_value();
            set_outcome
                .set(Some(result.map(|()| format!("Invitation re-sent to {email}.")).map_err(|e| e.to_string())));
            invitations.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(result) = revoke.value().get() {
            let email = target.get_value();
            set_outcome
                .set(Some(result.map(|()| format!("Invitation for {email} revoked.")).map_err(|e| e.to_string())));
            invitations.refetch();
            if let Some(RefreshOrganization(refresh)) = refresh_seats {
                refresh.run(()); // a revoked invitation frees its seat
            }
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
    view! {
        <section class="card" data-testid="pending-invitations" aria-labelledby="pending-invitations-title">
            <h2 id="pending-invitations-title">"Pending invitations"</h2>
            <p class="saved" class:failed=move || matches!(outcome.get(), Some(Err(_))) role="status">
                {move || outcome.get().map(|o| o.unwrap_or_else(|e| e))}
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match invitations.await {
                        Ok(list) if list.results.is_empty() => view! { <p class="empty">"No pending invitations."</p> }.into_any(),
                        Ok(list) => {
                        let shown = list.results.len();
                        let more = (list.count > shown as i64).then(|| view! {
                            <p class="muted">"Showing the " {shown} " most recent of " {list.count} " pending invitations."</p>
                        });
                        view! {
                            <div class="table-wrap">
                                <table class="table">
                                    <caption class="sr-only">"Pending invitations"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Email"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Invited by"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .results
                                            .into_iter()
                                            .map(|i| view! { <InvitationRow invitation=i busy on_resend on_revoke /> })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {more}
                        }
                        .into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
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
    let PendingInvitation { id, email, role, invited_by, expires_at, expired, .. } = invitation;
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
                {expired.then(|| view! { " " <span class="pill expired">"Expired"</span> })}
            </td>
            <td class="row-actions">
                <button type="button" disabled=move || busy.get() on:click=move |_| on_resend.run((id, for_resend.clone()))>
                    "Resend"
                </button>
                <ConfirmButton
                    label="Revoke"
                    question
                    confirm_label="Revoke"
                    danger=true
                    disabled=busy
                    on_confirm=Callback::new(move |()| on_revoke.run((id, for_revoke.clone())))
                />
            </td>
        </tr>
    }
}

#[component]
fn OrganizationDetails(org: OrganizationView) -> impl IntoView {
    let renamed = expect_context::<RenamedTitle>().0;
    let rename = ServerAction::<RenameOrganization>::new();
    let value = rename.value();
    let (current, set_current) = signal(org);
    Effect::new(move |_| {
        if let Some(Ok(updated)) = value.get() {
            renamed.set(Some(updated.title.clone()));
            set_current.set(updated);
        }
    });
    let seats = move || {
        let s = current.read().seats.clone();
        format!("Seats: {} / {}", s.used, s.limit.map_or("unlimited".to_owned(), |l| l.to_string()))
    };
    let saved = move || matches!(value.get(), Some(Ok(_))) && !rename.pending().get();
    view! {
        <section class="card">
            <h1 data-testid="org-title">{move || current.read().title.clone()}</h1>
            <dl class="facts">
                <dt>"Owner"</dt>
                <dd>{move || current.read().owner.email.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{move || readable_time(&current.read().created_at)}</dd>
                <dt>"License"</dt>
                <dd data-testid="seats">{seats}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Rename the organization"</h2>
            <ActionForm action=rename>
                <Field label="Title" name="title" autocomplete="organization"
                    value=Signal::derive(move || current.read().title.clone())
                    error=Signal::derive(field_error(move || value.get(), "title")) />
                <p class="form-error" role="alert">{form_error(move || value.get(), &["title"])}</p>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || rename.pending().get()>
                        {move || if rename.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
                </div>
            </ActionForm>
        </section>
    }
}

/// The Owner hands the organization to an active member, confirming with their password.
#[component]
fn OwnershipTransfer() -> impl IntoView {
    let transfer = ServerAction::<TransferOwnership>::new();
    let value = transfer.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = value.get() {
            // Everything the page shows depends on the role: load it afresh.
            go_to("/organization");
        }
    });
    view! {
        <section class="card">
            <h2>"Transfer ownership"</h2>
            <p class="muted">
                "Make an active member the Owner of this organization. You will become an Administrator."
            </p>
            <ActionForm action=transfer>
                <Field label="New Owner's email" name="email" kind="email"
                    error=Signal::derive(field_error(move || value.get(), "email")) />
                <Field label="Your password" name="password" kind="password" autocomplete="current-password"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <p class="form-error" role="alert">{form_error(move || value.get(), &["email", "password"])}</p>
                <button type="submit" class="danger" disabled=move || transfer.pending().get()>
                    "Transfer ownership"
                </button>
            </ActionForm>
        </section>
    }
}
