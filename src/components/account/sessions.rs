//! Where the user is signed in, with "Sign out" on each other session and "Sign out everywhere
//! else".

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::profile::{list_sessions, EndOtherSessions, EndSession},
    components::{
        actions::on_result, done_without_js, error_line::ErrorLine, load::load, readable_time,
    },
    domain::SessionView,
};

#[component]
pub fn SessionList() -> impl IntoView {
    let sessions = load(|| (), |_| list_sessions());
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    on_result(end_one, move |_| sessions.refetch());
    on_result(end_others, move |_| sessions.refetch());
    let pending = move || end_one.pending().get() || end_others.pending().get();
    // Without JavaScript the page comes back marked done.
    let ended_without_js = if done_without_js(<EndOtherSessions as ServerFn>::PATH) {
        Some("Signed out of every other session.")
    } else if done_without_js(<EndSession as ServerFn>::PATH) {
        Some("Signed out of that session.")
    } else {
        None
    };
    let error = move || {
        end_one
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| end_others.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    view! {
        <section class="card">
            <h2>"Where you're signed in"</h2>
            <p class="muted">"Sign out of a session you don't recognise, or of a device you no longer have."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || sessions.get().map(|result| match result {
                    Err(e) => view! { <ErrorLine message=move || Some(e.to_string()) /> }.into_any(),
                    Ok(list) => {
                        let others = list.iter().filter(|s| !s.current).count();
                        view! {
                            <ul class="sessions" data-testid="sessions">
                                {list.into_iter().map(|s| view! {
                                    <SessionItem session=s pending=Signal::derive(pending) on_end=Callback::new(move |id| {
                                        end_one.dispatch(EndSession { id });
                                    }) />
                                }).collect_view()}
                            </ul>
                            <div class="actions">
                                <ActionForm action=end_others>
                                    <button type="submit" disabled={move || pending() || others == 0}>
                                        "Sign out everywhere else"
                                    </button>
                                </ActionForm>
                                <span class="saved" role="status">
                                    {move || match end_others.value().get() {
                                        None if end_one.value().get().is_none() => ended_without_js.map(str::to_owned),
                                        Some(Ok(0)) => Some("No other sessions.".to_owned()),
                                        Some(Ok(1)) => Some("Signed out of 1 other session.".to_owned()),
                                        Some(Ok(n)) => Some(format!("Signed out of {n} other sessions.")),
                                        _ => None,
                                    }}
                                </span>
                            </div>
                        }
                        .into_any()
                    }
                })}
            </Transition>
            <ErrorLine message=error />
        </section>
    }
}

#[component]
fn SessionItem(
    session: SessionView,
    pending: Signal<bool>,
    on_end: Callback<String>,
) -> impl IntoView {
    let address = if session.client_address.is_empty() {
        "unknown address".to_owned()
    } else {
        session.client_address.clone()
    };
    let id = session.id.clone();
    let label = format!("Sign out {} ({address})", session.browser);
    view! {
        <li class="session" data-testid="session" data-current=session.current.to_string()>
            <div class="session-what">
                <strong title=session.user_agent.clone()>{session.browser.clone()}</strong>
                {session.current.then(|| view! { <span class="pill this-device">"This device"</span> }.into_any())}
                <div class="muted">
                    {address} " · signed in " {readable_time(&session.signed_in_at)}
                    {session.opened_by.map(|how| format!(" {}", how.phrase()))}
                    " · last seen " {readable_time(&session.last_seen_at)}
                </div>
            </div>
            {(!session.current).then(|| view! {
                // Posts the form itself without JavaScript; the app sends it in the page.
                <form class="inline" method="post" action={<EndSession as ServerFn>::PATH}>
                    <input type="hidden" name="id" value=id.clone() />
                    <button type="submit" aria-label=label disabled=move || pending.get()
                        on:click=move |ev| {
                            ev.prevent_default();
                            on_end.run(id.clone());
                        }>
                        "Sign out"
                    </button>
                </form>
            }.into_any())}
        </li>
    }
}
