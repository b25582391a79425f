//! The Pending invitations card: email invitations not yet accepted, with Resend and Revoke.

use leptos::prelude::*;

use crate::{
    api::invites::{ResendInvitation, RevokeInvitation},
    components::{
        actions::on_result, confirm::ConfirmButton, error_line::ErrorLine, member_table::RolePill,
        readable_date, readable_time, RefreshOrganization,
    },
    domain::{AppError, PendingInvitation, PendingInvitations},
};

/// Email invitations not yet accepted, with Resend and Revoke.
#[component]
pub fn PendingInvitationList(
    invitations: Resource<Result<PendingInvitations, AppError>>,
) -> impl IntoView {
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    // The address of the last invitation acted on, for the message.
    let target = StoredValue::new(String::new());
    let (outcome, set_outcome) = signal(None::<Result<String, String>>);
    let refresh_seats = use_context::<RefreshOrganization>();
    on_result(resend, move |result| {
        let email = target.get_value();
        set_outcome.set(Some(
            result
                .map(|()| format!("Invitation re-sent to {email}."))
                .map_err(|e| e.to_string()),
        ));
        invitations.refetch();
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
