//! The Organization page (Owner and Administrators only).

use leptos::{html::Button, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::{invites::list_invitations, organization::get_organization},
    components::{
        error_line::ErrorLine,
        gate::Gate,
        invite_modal::InviteModal,
        load::load,
        organization::{
            details::OrganizationDetails, members::Members, pending::PendingInvitationList,
            token_settings::TokenSettingsForm, transfer::OwnershipTransfer,
            two_factor_policy::TwoFactorPolicyForm,
        },
        RefreshOrganization,
    },
    domain::{Need, Role},
};

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <Title text="Organization" />
        <Gate
            need=Need::Admin
            render=|user| view! { <OrganizationPanel me=user.id is_owner={user.role == Some(Role::Owner)} /> }.into_any()
        />
    }
}

/// The organization's card, its members, pending invitations and the Invite People dialog; for
/// the Owner, the ownership transfer.
#[component]
fn OrganizationPanel(me: i64, is_owner: bool) -> impl IntoView {
    let organization = load(|| (), |_| get_organization());
    let invitation_page = RwSignal::new(1_i64);
    let invitation_search = RwSignal::new(String::new());
    let invitations = load(
        move || (invitation_page.get(), invitation_search.get()),
        |(page, search)| list_invitations(Some(page), Some(search)),
    );
    // Role changes and invitations change the seats in use: the card shows them afresh.
    provide_context(RefreshOrganization(Callback::new(move |()| {
        organization.refetch()
    })));
    // `?role=NOT_ACTIVATED` (the menu's link when people wait) opens the table on that filter.
    let role_filter = RwSignal::new(
        use_query_map()
            .read_untracked()
            .get("role")
            .and_then(|r| r.parse::<Role>().ok()),
    );
    // `?invite` opens the Invite people dialog (the "Invite People" button without JavaScript,
    // and where invitations sent without it come back to).
    let (inviting, set_inviting) = signal(use_query_map().read_untracked().get("invite").is_some());
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
                <form class="inline" method="get">
                    <input type="hidden" name="invite" value="link" />
                    <button
                        type="submit"
                        class="primary"
                        aria-haspopup="dialog"
                        node_ref=invite_button
                        on:click=move |ev| {
                            ev.prevent_default();
                            set_inviting.set(true);
                        }
                    >
                        "Invite People"
                    </button>
                </form>
            </div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let waiting = organization.await.map(|o| o.pending_members).unwrap_or(0);
                    if waiting == 0 {
                        return ().into_any();
                    }
                    view! {
                        <p class="waiting" role="status" data-testid="waiting-for-role">
                            {if waiting == 1 { "1 person is waiting for a role. ".to_owned() } else { format!("{waiting} people are waiting for a role. ") }}
                            <button type="button" class="link" on:click=move |_| role_filter.set(Some(Role::NotActivated))>
                                "Show them"
                            </button>
                        </p>
                    }
                    .into_any()
                })}
            </Suspense>
            <Members me role=role_filter />
        </section>
        <PendingInvitationList invitations page=invitation_page search=invitation_search />
        <section class="card">
            <div class="card-header">
                <h2>"Activity"</h2>
                <A href="/organization/activity">"See who did what"</A>
            </div>
            <p class="hint">"Every change to the organization and its members, with who made it and when."</p>
        </section>
        <TokenSettingsForm />
        <TwoFactorPolicyForm />
        <section class="card">
            <div class="card-header">
                <h2>"Single sign-on"</h2>
                <A href="/organization/sso">"Set up single sign-on"</A>
            </div>
            <p class="hint">"Let people sign in through your identity provider, with roles from its groups, and let it add and remove members by itself (SCIM)."</p>
        </section>
        <Show when=move || inviting.get()>
            <InviteModal on_close=close_invite on_sent=invited />
        </Show>
        <Show when=move || is_owner>
            <OwnershipTransfer />
        </Show>
    }
}
