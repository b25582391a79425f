//! Two-factor authentication on the Account page: the authenticator app (its QR code drawn by the
//! server, confirmed with a code), security keys and passkeys (named, listed, removable; added
//! by the page's WebAuthn script), and recovery codes (shown once, with Copy and Download).

use leptos::prelude::*;

use crate::{
    api::two_factor::{
        get_two_factor_status, ConfirmAuthenticatorApp, NewRecoveryCodes, RemoveAuthenticatorApp,
        RemovePasskey, StartAuthenticatorApp,
    },
    components::{
        actions::{on_result, on_success},
        copy_button::CopyButton,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        load::load,
        readable_time,
    },
    domain::{PasskeyAdded, PasskeyView, TwoFactorStatus},
};

#[component]
pub fn TwoFactor() -> impl IntoView {
    let status = load(|| (), |_| get_two_factor_status());
    // Recovery codes just made, shown once.
    let codes = RwSignal::new(Vec::<String>::new());
    let refetch = move || status.refetch();
    view! {
        <section class="card" data-testid="two-factor">
            <h2>"Two-factor authentication"</h2>
            <p class="muted">"After your password, sign-in asks for a code from an authenticator app or for a security key, so a stolen password alone opens nothing."</p>
            // A Suspense, not a Transition: server renders of this page with a Transition here
            // now and then never finished (a page load in about 25 hung until the request
            // timeout).
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || status.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(s) => view! { <Factors status=s codes=codes on_change=Callback::new(move |()| refetch()) /> }.into_any(),
                })}
            </Suspense>
            <RecoveryCodeList codes=codes />
        </section>
    }
}

#[component]
fn Factors(
    status: TwoFactorStatus,
    codes: RwSignal<Vec<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let summary = if status.enabled {
        let mut parts = Vec::new();
        if status.authenticator_app {
            parts.push("an authenticator app".to_owned());
        }
        match status.passkeys.len() {
            0 => {}
            1 => parts.push("1 passkey".to_owned()),
            n => parts.push(format!("{n} passkeys")),
        }
        format!(
            "On, with {}. {} recovery codes left.",
            parts.join(" and "),
            status.recovery_codes_left
        )
    } else {
        "Off.".to_owned()
    };
    let required = status.required_by.clone().map(|by| {
        view! {
            <p class="waiting" role="note" data-testid="two-factor-required">
                "Your organization requires two-factor authentication. Add a second factor by " {readable_time(&by)}
                "; after that, you can use only this page until you do."
            </p>
        }
    });
    let last_factor = i64::from(status.authenticator_app) + status.passkeys.len() as i64 <= 1;
    view! {
        {required}
        <p data-testid="two-factor-summary"><strong>{summary}</strong></p>
        <AuthenticatorApp set_up=status.authenticator_app last=last_factor codes=codes on_change=on_change />
        <Passkeys passkeys=status.passkeys.clone() available=status.passkeys_available last=last_factor codes=codes on_change=on_change />
        <Show when=move || status.enabled>
            <NewCodes codes=codes on_change=on_change />
        </Show>
    }
}

#[component]
fn AuthenticatorApp(
    set_up: bool,
    last: bool,
    codes: RwSignal<Vec<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let start = ServerAction::<StartAuthenticatorApp>::new();
    let confirm = ServerAction::<ConfirmAuthenticatorApp>::new();
    let remove = ServerAction::<RemoveAuthenticatorApp>::new();
    on_success(confirm, move |new| {
        if !new.codes.is_empty() {
            codes.set(new.codes);
        }
        on_change.run(());
    });
    on_success(remove, move |()| {
        codes.set(Vec::new());
        on_change.run(());
    });
    let setup = move || start.value().get().and_then(Result::ok);
    let (confirm_value, remove_value) = (confirm.value(), remove.value());
    if set_up {
        return view! {
            <div class="factor" data-testid="authenticator-app">
                <h3>"Authenticator app"</h3>
                <p>"Set up. Remove it with your password" {if last { " and a code" } else { "" }} "."</p>
                <ActionForm action=remove attr:class="inline-form">
                    <Field label="Password" name="password" kind="password" autocomplete="current-password" id_prefix="app-remove-"
                        error=Signal::derive(field_error(move || remove_value.get(), "password")) />
                    {last.then(|| view! {
                        <Field label="Code or recovery code" name="code" kind="text" autocomplete="one-time-code" id_prefix="app-remove-"
                            error=Signal::derive(field_error(move || remove_value.get(), "code")) />
                    })}
                    <ErrorLine message=form_error(move || remove_value.get(), &["password", "code"]) />
                    <button type="submit" class="danger" disabled=move || remove.pending().get()>"Remove authenticator app"</button>
                </ActionForm>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="factor" data-testid="authenticator-app">
            <h3>"Authenticator app"</h3>
            <Show when=move || setup().is_none()>
                <p class="muted">"Use an app such as Google Authenticator, 1Password or Aegis: it shows a new six-digit code every 30 seconds."</p>
                <button type="button" data-testid="start-authenticator" disabled=move || start.pending().get()
                    on:click=move |_| { start.dispatch(StartAuthenticatorApp {}); }>
                    "Set up authenticator app"
                </button>
                <ErrorLine message=move || start.value().get().and_then(Result::err).map(|e| e.to_string()) />
            </Show>
            {move || setup().map(|s| view! {
                <p>"Scan this QR code with the app, or type the secret into it. Then type the code it shows."</p>
                <div class="qr" data-testid="totp-qr" inner_html=s.qr_svg></div>
                <p>"Secret: " <code data-testid="totp-secret">{s.secret}</code></p>
                <ActionForm action=confirm>
                    <Field label="Code from the app" name="code" kind="text" autocomplete="one-time-code" id_prefix="app-confirm-"
                        error=Signal::derive(field_error(move || confirm_value.get(), "code")) />
                    <ErrorLine message=form_error(move || confirm_value.get(), &["code"]) />
                    <button type="submit" class="primary" disabled=move || confirm.pending().get()>"Turn on"</button>
                </ActionForm>
            })}
        </div>
    }
    .into_any()
}

#[component]
fn Passkeys(
    passkeys: Vec<PasskeyView>,
    available: bool,
    last: bool,
    codes: RwSignal<Vec<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let remove = ServerAction::<RemovePasskey>::new();
    on_result(remove, move |result| {
        if result.is_ok() {
            on_change.run(());
        }
    });
    // The script reports a passkey added through this input.
    let on_added = move |ev: leptos::ev::Event| {
        if let Ok(added) =
            serde_json::from_slice::<PasskeyAdded>(event_target_value(&ev).as_bytes())
        {
            if !added.recovery_codes.is_empty() {
                codes.set(added.recovery_codes);
            }
            on_change.run(());
        }
    };
    let remove_value = remove.value();
    view! {
        <div class="factor" data-testid="passkeys" data-passkey-box="">
            <h3>"Security keys and passkeys"</h3>
            {if passkeys.is_empty() {
                view! { <p class="muted">"None yet. A passkey also signs you in without a password."</p> }.into_any()
            } else {
                view! {
                    <ul class="sessions">
                        {passkeys.into_iter().map(|p| {
                            let id = p.id;
                            view! {
                                <li class="session" data-testid="passkey">
                                    <div class="session-what">
                                        <strong>{p.name.clone()}</strong>
                                        <div class="muted">
                                            "added " {readable_time(&p.added_at)} " · "
                                            {match &p.last_used_at {
                                                Some(t) => format!("last used {}", readable_time(t)),
                                                None => "never used".to_owned(),
                                            }}
                                        </div>
                                    </div>
                                    <ActionForm action=remove attr:class="inline-form">
                                        <input type="hidden" name="id" value=id />
                                        {last.then(|| view! {
                                            <Field label="Password" name="password" kind="password" autocomplete="current-password" id_prefix="passkey-remove-"
                                                error=Signal::derive(field_error(move || remove_value.get(), "password")) />
                                            <Field label="Recovery code" name="code" kind="text" autocomplete="off" id_prefix="passkey-remove-"
                                                error=Signal::derive(field_error(move || remove_value.get(), "code")) />
                                        })}
                                        <button type="submit" aria-label=format!("Remove the passkey {}", p.name) disabled=move || remove.pending().get()>"Remove"</button>
                                    </ActionForm>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <ErrorLine message=form_error(move || remove_value.get(), &["password", "code"]) />
                }.into_any()
            }}
            {if available {
                view! {
                    <div class="inline-form">
                        <div class="field">
                            <label for="passkey-name">"Name"</label>
                            <input id="passkey-name" name="passkey_name" type="text" maxlength="64" placeholder="Work laptop" />
                        </div>
                        <button type="button" data-passkey="add" data-testid="add-passkey">"Add a passkey"</button>
                    </div>
                    <input type="hidden" data-passkey-result="" on:input=on_added />
                    <p class="error" role="alert" data-passkey-error=""></p>
                }.into_any()
            } else {
                view! {
                    <p class="muted" data-testid="passkeys-unavailable">"Passkeys need the app's public address: ask your administrator to set LABEL_STUDIO_HOST."</p>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn NewCodes(codes: RwSignal<Vec<String>>, on_change: Callback<()>) -> impl IntoView {
    let make = ServerAction::<NewRecoveryCodes>::new();
    on_success(make, move |new| {
        codes.set(new.codes);
        on_change.run(());
    });
    let value = make.value();
    view! {
        <div class="factor" data-testid="recovery-codes">
            <h3>"Recovery codes"</h3>
            <p class="muted">"For when your phone or key is lost. Making new ones ends the old ones."</p>
            <ActionForm action=make attr:class="inline-form">
                <Field label="Password" name="password" kind="password" autocomplete="current-password" id_prefix="codes-"
                    error=Signal::derive(field_error(move || value.get(), "password")) />
                <ErrorLine message=form_error(move || value.get(), &["password"]) />
                <button type="submit" disabled=move || make.pending().get()>"Make new recovery codes"</button>
            </ActionForm>
        </div>
    }
}

/// Recovery codes just made: shown this once, with Copy and Download.
#[component]
fn RecoveryCodeList(codes: RwSignal<Vec<String>>) -> impl IntoView {
    let text = move || {
        let list = codes.get();
        (!list.is_empty()).then(|| list.join("\n"))
    };
    let download = move || {
        let body = text().unwrap_or_default();
        format!(
            "data:text/plain;charset=utf-8,{}",
            body.replace('\n', "%0A")
        )
    };
    view! {
        <Show when=move || text().is_some()>
            <div class="recovery-codes" role="status" data-testid="new-recovery-codes">
                <p><strong>"Your recovery codes. Save them now: they will not be shown again."</strong></p>
                <textarea id="recovery-codes" readonly=true rows="10" prop:value=move || text().unwrap_or_default()></textarea>
                <div class="actions">
                    <CopyButton label="Copy" text=Signal::derive(text) input="recovery-codes" primary=true />
                    <a class="button" href=download download="gatehouse-recovery-codes.txt">"Download"</a>
                    <button type="button" on:click=move |_| codes.set(Vec::new())>"I saved them"</button>
                </div>
            </div>
        </Show>
    }
}
