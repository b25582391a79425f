//! The Organization page (Owner and Administrators only).

use leptos::{html::Button, prelude::*};
use leptos_meta::Title;

use crate::{
    api::{invites::list_invitations, organization::get_organization},
    components::{
        error_line::ErrorLine,
        gate::Gate,
        invite_modal::InviteModal,
        organization::{
            details::OrganizationDetails, members::Members, pending::PendingInvitationList,
            transfer::OwnershipTransfer,
        },
        RefreshOrganization,
    },
    domain::Role,
};

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <Title text="Organization" />
        <Gate
            admin_only=true
            render=|user| view! { <OrganizationPanel me=user.id is_owner=user.role == Some(Role::Owner) /> }.into_any()
        />
    }
}

/// The organization's card, its members, pending invitations and the Invite People dialog; for
/// the Owner, the ownership transfer.
#[component]
fn OrganizationPanel(me: i64, is_owner: bool) -> impl IntoView {
    let organization = Resource::new(|| (), |_| get_organization());
    let invitations = Resource::new(|| (), |_| list_invitations());
    // Role changes and invitations change the seats in use: the card shows them afresh.
    provide_context(RefreshOrganization(Callback::new(move |()| {
        organization.refetch()
    })));
    let (inviting, set_inviting) = signal(false);
    let invite_button = NodeRef::<Button>::new();
    let close_invite = Callback::new(move |()| {
        set_inviting.set(false);
        // Also where the button did not take focus when clicked (as in Safari).
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
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
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
