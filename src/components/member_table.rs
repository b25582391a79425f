//! The members table of the Organization page.

use leptos::{prelude::*, server_fn::ServerFn};

use super::{
    actions::on_result, confirm::ConfirmButton, dialog::Dialog, error_line::ErrorLine,
    list_table::ListTable, password_reset_button::PasswordResetButton, readable_date,
    readable_time, RefreshMembers, RefreshOrganization,
};
use crate::{
    api::{
        members::{ChangeMemberRole, RemoveMember},
        two_factor::ResetMemberTwoFactor,
    },
    domain::{MemberPage, Role},
};

/// A role or status as a coloured pill.
#[component]
pub fn RolePill(role: Role) -> impl IntoView {
    view! {
        <span class=format!("pill role-{}", role.as_str().to_lowercase().replace('_', "-"))>{role.label()}</span>
    }
}

#[component]
pub fn MemberTable(
    members: MemberPage,
    /// The signed-in user: nobody changes their own role.
    me: i64,
) -> impl IntoView {
    if members.results.is_empty() {
        return view! { <p class="empty">"No members match."</p> }.into_any();
    }
    view! {
        <ListTable caption="Members" test_id="members-table" columns={&["Email", "Name", "Role", "Joined", "Last activity"]}>
            {members
                .results
                .into_iter()
                .map(|m| {
                    let joined = readable_time(&m.joined_at);
                    let removable = m.role != Role::Owner && m.user_id != me;
                    let who = if m.name.is_empty() { m.email_display.clone() } else { format!("{} ({})", m.name, m.email_display) };
                    view! {
                        <tr>
                            <td class="email">
                                {m.email_display.clone()}
                                {(!m.email_verified && m.role == Role::NotActivated).then(|| view! {
                                    " " <span class="pill unverified" title="Anyone with the invite link could have typed this address.">"Email not verified"</span>
                                }.into_any())}
                                {m.scim_managed.then(|| {
                                    let title = match &m.scim_external_id {
                                        Some(id) => format!("Managed by your identity provider over SCIM (its id: {id}): it may change this member's role or deactivate them."),
                                        None => "Managed by your identity provider over SCIM: it may change this member's role or deactivate them.".to_owned(),
                                    };
                                    view! { " " <span class="pill scim" title=title data-testid="scim-managed">"SCIM"</span> }
                                })}
                                {m.two_factor.then(|| view! {
                                    " " <span class="pill two-factor" title="Signs in with a second factor: an authenticator app, a security key or a passkey." data-testid="two-factor-on">"2FA"</span>
                                })}
                            </td>
                            <td>{if m.name.is_empty() { "—".to_owned() } else { m.name }}</td>
                            <td>
                                {if m.role == Role::Owner || m.user_id == me {
                                    view! { <RolePill role=m.role /> }.into_any()
                                } else {
                                    view! { <RoleSelect user_id=m.user_id email=m.email.clone() role=m.role verified=m.email_verified managed=m.scim_managed /> }.into_any()
                                }}
                            </td>
                            <td><time datetime=m.joined_at.clone() title=joined>{readable_date(&m.joined_at)}</time></td>
                            <td>
                                {match m.last_activity_at {
                                    Some(at) => {
                                        let title = readable_time(&at);
                                        view! { <time datetime=at.clone() title=title>{readable_date(&at)}</time> }.into_any()
                                    }
                                    None => view! { <span class="muted">"Never"</span> }.into_any(),
                                }}
                            </td>
                            <td><div class="row-actions">
                                {(m.role != Role::Deactivated && (m.role != Role::Owner || m.user_id == me)).then(|| view! { <PasswordResetButton user_id=m.user_id who=who.clone() /> }.into_any())}
                                {(m.two_factor && removable).then(|| view! { <ResetTwoFactorButton user_id=m.user_id who=who.clone() /> }.into_any())}
                                {removable.then(|| view! { <RemoveButton user_id=m.user_id who=who.clone() /> }.into_any())}
                            </div></td>
                        </tr>
                    }
                })
                .collect_view()}
        </ListTable>
    }
    .into_any()
}

/// A member's role, saved as soon as it is changed; a refusal (no free seat, say) is shown beside
/// it and the select goes back to the saved role. Giving a role to an address nobody has proven
/// asks first, and so does changing the role of a member the identity provider manages (it may
/// change it back).
#[component]
pub fn RoleSelect(
    user_id: i64,
    email: String,
    role: Role,
    verified: bool,
    #[prop(optional)] managed: bool,
) -> impl IntoView {
    let change = ServerAction::<ChangeMemberRole>::new();
    // An error that a change without JavaScript came back with is the table's to show: it is
    // not known which row it belongs to.
    change.value().set(None);
    let (saved, set_saved) = signal(role);
    // The role waiting for the admin's confirmation.
    let (asking, set_asking) = signal(None::<Role>);
    let refresh = use_context::<RefreshOrganization>();
    on_result(change, move |result| match result {
        Ok(row) => {
            set_saved.set(row.role);
            if let Some(RefreshOrganization(refresh)) = refresh {
                refresh.run(());
            }
        }
        // Setting the same role again puts the select back on it.
        Err(_) => set_saved.set(saved.get_untracked()),
    });
    // Read through handles taken now, leniently: a disposed action reads as idle. (A request
    // dropped mid-render used to dispose it under this component; page renders now always run
    // to their end, see `render_pages_to_the_end` in `server::startup`.)
    let pending = change.pending();
    let value = change.value();
    let options = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Owner)
        .map(|r| view! { <option value=r.as_str() selected={r == role}>{r.label()}</option> })
        .collect_view();
    view! {
        // Without JavaScript the role is saved with the button beside the drop-down; the app
        // saves it as soon as it is chosen.
        <form class="role-cell" method="post" action={<ChangeMemberRole as ServerFn>::PATH}>
            <input type="hidden" name="user_id" value=user_id.to_string() />
            <select
                name="role"
                class="role-select"
                aria-label=format!("Role of {email}")
                prop:value=move || saved.get().as_str()
                disabled=move || pending.try_get().unwrap_or(false)
                on:change=move |ev| {
                    if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                        if (!verified && role.counts_seat()) || managed {
                            set_asking.set(Some(role));
                        } else {
                            change.dispatch(ChangeMemberRole { user_id, role });
                        }
                    }
                }
            >
                {options}
            </select>
            <Show when=move || asking.get().is_some()>
                <Dialog
                    title=if managed { format!("Change the role of {email}?") } else { format!("Give a role to {email}?") }
                    on_close=Callback::new(move |()| {
                        set_asking.set(None);
                        set_saved.set(saved.get_untracked());
                    })
                    class="confirm-dialog"
                >
                    {managed.then(|| view! {
                        <p data-testid="scim-role-warning">"Your identity provider manages this member over SCIM: their groups there may change this role back at its next update. To keep it, change their groups at the provider (or the SCIM role mappings)."</p>
                    })}
                    {(!verified && !managed).then(|| view! {
                        <p>"This address has not been verified: anyone who had the invite link could have typed it."</p>
                    })}
                    <div class="actions">
                        <button type="button" class="primary" on:click=move |_| {
                            if let Some(role) = asking.get_untracked() {
                                change.dispatch(ChangeMemberRole { user_id, role });
                            }
                            set_asking.set(None);
                        }>{if managed { "Change the role" } else { "Give the role" }}</button>
                        <button type="button" data-autofocus="" on:click=move |_| {
                            set_asking.set(None);
                            set_saved.set(saved.get_untracked());
                        }>"Cancel"</button>
                    </div>
                </Dialog>
            </Show>
            <span role="status" class=move || if matches!(value.try_get().flatten(), Some(Err(_))) { "role-error" } else { "saved" }>
                {move || match value.try_get().flatten() {
                    Some(Ok(_)) => "Saved".to_owned(),
                    Some(Err(e)) => e.to_string(),
                    None => String::new(),
                }}
            </span>
            // Markup, not a view: with scripting on, the browser reads `<noscript>` as text.
            {leptos::html::noscript().inner_html(r#"<button type="submit">Save role</button>"#)}
        </form>
    }
}

/// "Remove", after a confirmation that names the member; the table is read again afterwards.
#[component]
fn RemoveButton(user_id: i64, who: String) -> impl IntoView {
    let remove = ServerAction::<RemoveMember>::new();
    // The table shows an error a removal without JavaScript came back with.
    remove.value().set(None);
    let refresh_seats = use_context::<RefreshOrganization>();
    let refresh_table = use_context::<RefreshMembers>();
    on_result(remove, move |result| {
        if result.is_ok() {
            if let Some(RefreshOrganization(refresh)) = refresh_seats {
                refresh.run(());
            }
            if let Some(RefreshMembers(refresh)) = refresh_table {
                refresh.run(());
            }
        }
    });
    let pending = remove.pending();
    let value = remove.value();
    view! {
        <ConfirmButton
            label="Remove"
            question=format!("Remove {who} from the organization? Their seat is freed and they are signed out; they can be invited again.")
            confirm_label="Remove member"
            danger=true
            disabled=Signal::derive(move || pending.try_get().unwrap_or(false))
            on_confirm=Callback::new(move |()| {
                remove.dispatch(RemoveMember { user_id });
            })
            key=format!("remove-{user_id}")
            action={<RemoveMember as ServerFn>::PATH}
            fields=vec![("user_id", user_id.to_string())]
        />
        <ErrorLine message=move || value.try_get().flatten().and_then(Result::err).map(|e| e.to_string()) />
    }
}

/// Resets a member's second factors, after asking: for a member who lost their phone and their
/// recovery codes.
#[component]
fn ResetTwoFactorButton(user_id: i64, who: String) -> impl IntoView {
    let reset = ServerAction::<ResetMemberTwoFactor>::new();
    reset.value().set(None);
    let refresh_table = use_context::<RefreshMembers>();
    on_result(reset, move |result| {
        if result.is_ok() {
            if let Some(RefreshMembers(refresh)) = refresh_table {
                refresh.run(());
            }
        }
    });
    let pending = reset.pending();
    let value = reset.value();
    view! {
        <ConfirmButton
            label="Reset 2FA"
            question=format!("Reset the second factors of {who}? Their authenticator app, passkeys and recovery codes are removed, they are signed out and mailed; they sign in with their password alone until they add a new one.")
            confirm_label="Reset second factors"
            danger=true
            disabled=Signal::derive(move || pending.try_get().unwrap_or(false))
            on_confirm=Callback::new(move |()| {
                reset.dispatch(ResetMemberTwoFactor { user_id });
            })
            key=format!("reset-two-factor-{user_id}")
            action={<ResetMemberTwoFactor as ServerFn>::PATH}
            fields=vec![("user_id", user_id.to_string())]
        />
        <ErrorLine message=move || value.try_get().flatten().and_then(Result::err).map(|e| e.to_string()) />
    }
}
