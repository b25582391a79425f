//! The organization's two-factor policy: whether members must have a second factor, the days of
//! grace they get to add one, and whether single sign-on is exempt.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::two_factor::{get_two_factor_policy, SaveTwoFactorPolicy},
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
        load::load,
        readable_time,
    },
    domain::TwoFactorPolicy,
};

#[component]
pub fn TwoFactorPolicyForm() -> impl IntoView {
    let policy = load(|| (), |_| get_two_factor_policy());
    let save = ServerAction::<SaveTwoFactorPolicy>::new();
    let value = save.value();
    on_success(save, move |_| policy.refetch());
    let done = done_without_js(<SaveTwoFactorPolicy as ServerFn>::PATH);
    let saved = move || {
        !save.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    view! {
        <section class="card" data-testid="two-factor-policy">
            <h2>"Two-factor authentication"</h2>
            <p class="hint">
                "Members add an authenticator app or a passkey on their Account page. After the grace period, a member without one can use only that page; API tokens keep working."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || policy.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(current) => view! { <PolicyFields current save /> }.into_any(),
                })}
            </Suspense>
            <ErrorLine message=form_error(move || value.get(), &["grace_period_days"]) />
            <span class="saved" role="status">{move || saved().then_some("Saved.")}</span>
        </section>
    }
}

#[component]
fn PolicyFields(
    current: TwoFactorPolicy,
    save: ServerAction<SaveTwoFactorPolicy>,
) -> impl IntoView {
    let value = save.value();
    let since = current
        .required_since
        .as_deref()
        .map(|t| format!(" (since {})", readable_time(t)));
    view! {
        <ActionForm action=save>
            <label class="check">
                <input type="checkbox" name="required" value="on" checked=current.required data-testid="require-two-factor" />
                " Require two-factor authentication" {since}
            </label>
            <Field label="Grace period, in days" name="grace_period_days" kind="number"
                value=current.grace_period_days.to_string()
                error=Signal::derive(field_error(move || value.get(), "grace_period_days")) />
            <label class="check">
                <input type="checkbox" name="sso_exempt" value="on" checked=current.sso_exempt data-testid="sso-exempt" />
                " Members signed in through single sign-on are exempt (only the Owner changes this)"
            </label>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save two-factor policy" }}
                </button>
            </div>
        </ActionForm>
    }
}
