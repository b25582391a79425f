//! Changing the password: the current one is asked for; the other sessions end, this one stays,
//! and the personal API token is replaced too unless the member unticks it.

use leptos::{html::Form, prelude::*, server_fn::ServerFn};

use crate::{
    api::profile::ChangePassword,
    components::{
        actions::on_success,
        done_without_js,
        error_line::ErrorLine,
        field::{field_error, form_error, Field},
    },
};

/// `token_changed` is told of every change, which may have replaced the API token.
#[component]
pub fn PasswordForm(token_changed: Callback<()>) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let value = change.value();
    let form = NodeRef::<Form>::new();
    // The passwords typed are not left in the form.
    on_success(change, move |()| {
        if let Some(form) = form.get_untracked() {
            form.reset();
        }
        token_changed.run(());
    });
    // Without JavaScript the page comes back marked done.
    let done = done_without_js(<ChangePassword as ServerFn>::PATH);
    let changed = move || {
        !change.pending().get()
            && match value.get() {
                Some(result) => result.is_ok(),
                None => done,
            }
    };
    view! {
        <section class="card">
            <h2>"Change password"</h2>
            <p class="muted">"You stay signed in here; every other session ends."</p>
            <ActionForm action=change node_ref=form>
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password"
                    error=Signal::derive(field_error(move || value.get(), "current_password")) />
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password"
                    error=Signal::derive(field_error(move || value.get(), "new_password")) />
                <p class="hint">"At least 8 characters."</p>
                <label class="check">
                    <input type="checkbox" name="reset_api_token" value="on" checked=true />
                    " Also reset my API token (scripts that use it will need the new one)"
                </label>
                <ErrorLine message=form_error(move || value.get(), &["current_password", "new_password"]) />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || change.pending().get()>
                        {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                    </button>
                    <span class="saved" role="status">
                        {move || changed().then_some("Password changed. Your other sessions have been signed out.")}
                    </span>
                </div>
            </ActionForm>
        </section>
    }
}
