//! The passkey script (`public/webauthn.js`), loaded only by the pages that use passkeys: the
//! login page, the second step of signing in, and the Account page.

use leptos::prelude::*;
use leptos_meta::Script;

/// Loads the passkey script into the page's head, with the response's nonce like every script.
#[component]
pub fn PasskeyScript() -> impl IntoView {
    view! { <Script src="/webauthn.js" defer="defer" /> }
}
