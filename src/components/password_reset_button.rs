//! "Send password reset" on a member's row: the member gets the reset link by mail.

use leptos::{prelude::*, server_fn::ServerFn};

use super::confirm::ConfirmButton;
use crate::api::password_reset::SendPasswordReset;

#[component]
pub fn PasswordResetButton(user_id: i64, who: String) -> impl IntoView {
    let send = ServerAction::<SendPasswordReset>::new();
    // The table shows an error a request without JavaScript came back with.
    send.value().set(None);
    let pending = send.pending();
    let value = send.value();
    view! {
        <ConfirmButton
            label="Send password reset"
            question=format!("Send {who} a link to choose a new password? The link works once, for an hour.")
            confirm_label="Send link"
            disabled=Signal::derive(move || pending.try_get().unwrap_or(false))
            on_confirm=Callback::new(move |()| {
                send.dispatch(SendPasswordReset { user_id });
            })
            key=format!("password-reset-{user_id}")
            action={<SendPasswordReset as ServerFn>::PATH}
            fields=vec![("user_id", user_id.to_string())]
        />
        <span role="status" class=move || if matches!(value.try_get().flatten(), Some(Err(_))) { "role-error" } else { "saved" }>
            {move || match value.try_get().flatten() {
                Some(Ok(())) => "Reset link sent".to_owned(),
                Some(Err(e)) => e.to_string(),
                None => String::new(),
            }}
        </span>
    }
}
