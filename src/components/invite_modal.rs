//! The "Invite people" dialog: the invite link, and invitations by email.

use leptos::{html::Button, prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use super::{
    actions::on_success,
    confirm::ConfirmButton,
    copy_button::CopyButton,
    dialog::Dialog,
    done_without_js,
    error_line::ErrorLine,
    field::{field_error, form_error},
    load::load,
};
use crate::{
    api::invites::{get_invite_link, ResetInviteLink, SendInvites, INVITED_PARAM},
    domain::{AppError, InviteLink, InviteOutcome, InviteStatus, Role, INVITABLE_ROLES},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Link,
    Email,
}

/// Opens on the Invite link tab; Arrow keys, Home and End move between the tabs.
#[component]
pub fn InviteModal(
    /// Closes the dialog (the "Close" button, Escape).
    on_close: Callback<()>,
    /// Runs after invitations were sent, so the page can show them.
    on_sent: Callback<()>,
) -> impl IntoView {
    // Invitations sent without JavaScript come back to the Invite via email tab.
    let first = match use_query_map().read_untracked().get("invite").as_deref() {
        Some("email") => Tab::Email,
        _ => Tab::Link,
    };
    let (tab, set_tab) = signal(first);
    let link_tab = NodeRef::<Button>::new();
    let email_tab = NodeRef::<Button>::new();
    let select = move |t: Tab| {
        set_tab.set(t);
        let tab = match t {
            Tab::Link => link_tab,
            Tab::Email => email_tab,
        };
        if let Some(tab) = tab.get_untracked() {
            let _ = tab.focus();
        }
    };
    // Arrow keys, Home and End move between the tabs (the WAI-ARIA tabs pattern).
    let on_tab_keys = move |ev: leptos::ev::KeyboardEvent| {
        let next = match ev.key().as_str() {
            "ArrowLeft" | "ArrowRight" => match tab.get_untracked() {
                Tab::Link => Tab::Email,
                Tab::Email => Tab::Link,
            },
            "Home" => Tab::Link,
            "End" => Tab::Email,
            _ => return,
        };
        ev.prevent_default();
        select(next);
    };
    let tab_button = move |t: Tab,
                           id: &'static str,
                           panel: &'static str,
                           label: &'static str,
                           node_ref: NodeRef<Button>| {
        view! {
            <button
                type="button"
                role="tab"
                id=id
                class="tab"
                aria-controls=panel
                aria-selected=move || (tab.get() == t).to_string()
                tabindex={move || if tab.get() == t { "0" } else { "-1" }}
                node_ref=node_ref
                data-autofocus=(t == Tab::Link).then_some("")
                on:click=move |_| select(t)
            >
                {label}
            </button>
        }
    };
    view! {
        <Dialog title="Invite people" on_close close_button=true close_to="/organization">
            <div class="tabs" role="tablist" aria-label="How to invite" on:keydown=on_tab_keys>
                {tab_button(Tab::Link, "invite-tab-link", "invite-panel-link", "Invite link", link_tab)}
                {tab_button(Tab::Email, "invite-tab-email", "invite-panel-email", "Invite via email", email_tab)}
            </div>
            <div role="tabpanel" id="invite-panel-link" aria-labelledby="invite-tab-link" class="tabpanel"
                hidden={move || tab.get() != Tab::Link}>
                <InviteLinkPanel />
            </div>
            <div role="tabpanel" id="invite-panel-email" aria-labelledby="invite-tab-email" class="tabpanel"
                hidden={move || tab.get() != Tab::Email}>
                <InviteByEmailPanel on_sent />
            </div>
        </Dialog>
    }
}

/// The organization's invite link: copy it, or reset it (after a confirmation).
#[component]
fn InviteLinkPanel() -> impl IntoView {
    // Only reads the link: opening the dialog never changes it.
    let link = load(|| (), |_| get_invite_link());
    view! {
        // The server renders the link into the page, for use without JavaScript too.
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let first = link.await;
                view! { <InviteLinkControls first /> }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn InviteLinkControls(
    /// The link as first read.
    first: Result<InviteLink, AppError>,
) -> impl IntoView {
    let first = StoredValue::new(first);
    let reset = ServerAction::<ResetInviteLink>::new();
    let reset_without_js = done_without_js(<ResetInviteLink as ServerFn>::PATH);
    let shown = move || match reset.value().get() {
        Some(Ok(new)) => Ok(new),
        _ => first.get_value(),
    };
    let url = move || shown().ok().map(|l| l.invite_url);
    let error = move || match reset.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => shown().err().map(|e| e.to_string()),
    };
    let reset_link = Callback::new(move |()| {
        reset.dispatch(ResetInviteLink {});
    });
    view! {
        <p class="muted">
            "Whoever opens this link can create an account in your organization. They wait as Pending until an administrator assigns their role."
        </p>
        <div class="field">
            <label for="invite-link">"Invite link"</label>
            <input
                id="invite-link"
                class="token"
                readonly=true
                data-testid="invite-link"
                value=url().unwrap_or_default()
                prop:value=move || url().unwrap_or_default()
            />
        </div>
        <ErrorLine message=error />
        <div class="actions">
            <CopyButton label="Copy link" text=Signal::derive(url) input="invite-link" primary=true />
            <ConfirmButton
                label="Reset Link"
                question="Reset the link? The current link stops working at once; people who already joined keep their accounts."
                confirm_label="Reset link"
                danger=true
                on_confirm=reset_link
                disabled=Signal::derive(move || reset.pending().get() || url().is_none())
                key="reset-link"
                action={<ResetInviteLink as ServerFn>::PATH}
            />
        </div>
        <p class="saved" role="status">
            {move || (reset_without_js || matches!(reset.value().get(), Some(Ok(_)))).then_some("The old link no longer works.")}
        </p>
    }
}

/// Invitations by email: one per address, each with its own link, reported per address.
#[component]
fn InviteByEmailPanel(on_sent: Callback<()>) -> impl IntoView {
    let send = ServerAction::<SendInvites>::new();
    let value = send.value();
    let (emails, set_emails) = signal(String::new());
    // Without JavaScript the results come back in the page's query.
    let (results, set_results) = signal(
        use_query_map()
            .read_untracked()
            .get(INVITED_PARAM)
            .map(|text| InviteOutcome::from_query(&text)),
    );
    on_success(send, move |outcomes| {
        set_results.set(Some(outcomes.clone()));
        // Keep the addresses that can be fixed and sent again; the rest are done.
        let retry: Vec<String> = outcomes
            .iter()
            .filter(|o| o.status == InviteStatus::InvalidAddress || o.status.is_refusal())
            .map(|o| o.email.clone())
            .collect();
        set_emails.set(retry.join("\n"));
        on_sent.run(());
    });
    let emails_invalid = move || {
        value
            .get()
            .and_then(Result::err)
            .is_some_and(|e| e.for_field("emails").is_some())
    };
    view! {
        <ActionForm action=send>
            <div class="field" class:has-error=emails_invalid>
                <label for="invite-emails">"Email addresses"</label>
                <textarea
                    id="invite-emails"
                    name="emails"
                    rows="4"
                    required=true
                    autocomplete="off"
                    aria-describedby="invite-emails-hint invite-emails-error"
                    aria-invalid=move || emails_invalid().to_string()
                    prop:value=move || emails.get()
                    on:input=move |ev| set_emails.set(event_target_value(&ev))
                ></textarea>
                <p class="hint" id="invite-emails-hint">"Separate addresses with commas, spaces, semicolons or new lines."</p>
                <ErrorLine field=true id="invite-emails-error"
                    message=field_error(move || value.get(), "emails") />
            </div>
            <div class="field">
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role" aria-describedby="invite-role-error">
                    {INVITABLE_ROLES
                        .into_iter()
                        .map(|role| view! {
                            <option value=role.as_str() selected={role == Role::Annotator}>{role.label()}</option>
                        })
                        .collect_view()}
                </select>
                <ErrorLine field=true id="invite-role-error"
                    message=field_error(move || value.get(), "role") />
            </div>
            <ErrorLine message=form_error(move || value.get(), &["emails", "role"]) />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || send.pending().get()>
                    {move || if send.pending().get() { "Sending…" } else { "Send invitations" }}
                </button>
            </div>
        </ActionForm>
        {move || match results.get() {
            Some(outcomes) => view! {
                <ul class="results" data-testid="invite-results" aria-label="Invitation results">
                    {outcomes
                        .into_iter()
                        .map(|o| {
                            let ok = o.status.is_success();
                            view! {
                                <li class="result" class:ok=ok class:failed={!ok}>
                                    <span class="result-email">{o.email}</span>
                                    <span class="result-status">{o.status.label()}</span>
                                    <span class="result-detail">{o.detail}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
            None => ().into_any(),
        }}
    }
}
