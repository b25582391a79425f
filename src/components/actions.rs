//! Doing something once a server action has answered: `on_success` for the usual case,
//! `on_success_go_to` for a change after which the page loads afresh.

use leptos::{prelude::*, server_fn::ServerFn};

/// Runs `then` with each result of `action`, as it arrives (in the browser; the server renders
/// no action results). Signals read by `then` are not tracked.
pub fn on_result<S>(action: ServerAction<S>, then: impl Fn(Result<S::Output, S::Error>) + 'static)
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    let value = action.value();
    Effect::new(move |_| {
        if let Some(result) = value.get() {
            untrack(|| then(result));
        }
    });
}

/// Runs `then` with the value of each successful result of `action`.
pub fn on_success<S>(action: ServerAction<S>, then: impl Fn(S::Output) + 'static)
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    on_result(action, move |result| {
        if let Ok(value) = result {
            then(value);
        }
    });
}

/// Loads the page the answer of `action` names afresh once it succeeds (signing in: the app, or
/// the second step).
pub fn on_success_go_where<S>(action: ServerAction<S>)
where
    S: ServerFn<Output = String> + Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    on_success(action, move |path: String| super::go_to(&path));
}

/// Loads the page at `path` afresh once `action` succeeds (everything the page shows may have
/// changed: who is signed in, or their role).
pub fn on_success_go_to<S>(action: ServerAction<S>, path: &'static str)
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    on_success(action, move |_| super::go_to(path));
}
