//! The signed-in user's sessions: listed on the Account page and `GET /api/current-user/sessions`,
//! ended one by one or all but the current one.

use axum::http::{header, HeaderMap};

use super::{
    auth::{self, secrets, SignedIn},
    db,
    error::OrInternal,
    AppState,
};
use crate::domain::{format_timestamp, AppError, SessionView};

/// How many bytes of a session's stored hash make its public id.
const ID_BYTES: usize = 8;

pub const NO_SUCH_SESSION: &str = "This session has already ended.";

/// The session a request was made with: its cookie, unless an API token authenticated it (then
/// the request belongs to no session).
pub fn current(headers: &HeaderMap, https: bool) -> Option<&str> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    auth::session_cookie(headers, https)
}

/// The caller's active sessions, most recently used first; `current` is marked.
pub async fn list(
    state: &AppState,
    me: &SignedIn,
    current: Option<&str>,
) -> Result<Vec<SessionView>, AppError> {
    let current = current.map(secrets::hash);
    let now = state.now();
    let records = db::sessions::list_of(
        state.db.pool(),
        me.user_id(),
        now,
        now - auth::seconds(state.config.session_idle),
    )
    .await
    .or_internal("listing sessions")?;
    Ok(records
        .into_iter()
        .map(|s| SessionView {
            id: public_id(&s.id_hash),
            signed_in_at: format_timestamp(s.created_at),
            last_seen_at: format_timestamp(s.last_seen_at),
            client_address: s.client_address,
            browser: describe_user_agent(&s.user_agent),
            current: current.as_ref().map(|h| h.as_slice()) == Some(s.id_hash.as_slice()),
            user_agent: s.user_agent,
        })
        .collect())
}

/// Ends one of the caller's sessions, named by its public id.
pub async fn end_one(state: &AppState, me: &SignedIn, id: &str) -> Result<(), AppError> {
    let now = state.now();
    let records = db::sessions::list_of(
        state.db.pool(),
        me.user_id(),
        now,
        now - auth::seconds(state.config.session_idle),
    )
    .await
    .or_internal("listing sessions")?;
    let id = id.trim().to_ascii_lowercase();
    let Some(record) = records.into_iter().find(|s| public_id(&s.id_hash) == id) else {
        return Err(AppError::NotFound(NO_SUCH_SESSION.into()));
    };
    let (mut tx, mut organization) = super::audit::begin_for_user(&state.db, me.user_id()).await?;
    if !db::sessions::delete_of(&mut *tx, me.user_id(), &record.id_hash)
        .await
        .or_internal("ending a session")?
    {
        return Err(AppError::NotFound(NO_SUCH_SESSION.into()));
    }
    record_ended(&mut tx, organization.as_mut(), me, 1, state.now()).await?;
    tx.commit().await.or_internal("ending a session")?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), session = %id, "ended a session");
    Ok(())
}

/// Ends every session of the caller but `current` (every one, without a current session);
/// returns how many ended.
pub async fn end_others(
    state: &AppState,
    me: &SignedIn,
    current: Option<&str>,
) -> Result<u64, AppError> {
    let (mut tx, mut organization) = super::audit::begin_for_user(&state.db, me.user_id()).await?;
    let ended = match current {
        Some(session) => {
            db::sessions::delete_all_but(&mut *tx, me.user_id(), &secrets::hash(session)).await
        }
        None => db::sessions::delete_all_of(&mut *tx, me.user_id()).await,
    }
    .or_internal("ending sessions")?;
    record_ended(&mut tx, organization.as_mut(), me, ended, state.now()).await?;
    tx.commit().await.or_internal("ending sessions")?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), ended, "ended the other sessions");
    Ok(ended)
}

/// Records in the organization's log that the caller ended `ended` of their sessions at `now`.
async fn record_ended(
    tx: &mut db::Tx,
    organization: Option<&mut db::Locked>,
    me: &SignedIn,
    ended: u64,
    now: i64,
) -> Result<(), AppError> {
    use super::audit::{self, Event};
    let Some(lock) = organization else {
        return Ok(());
    };
    let event = Event::by(
        me,
        crate::domain::Action::SessionEnded,
        super::accounts::own(me),
    )
    .details(serde_json::json!({"ended": ended}));
    audit::record(tx, lock, event, now).await
}

/// A session's public id: the start of its stored hash, in hex. It identifies the session to its
/// owner and proves nothing.
fn public_id(id_hash: &[u8]) -> String {
    hex::encode(&id_hash[..id_hash.len().min(ID_BYTES)])
}

/// The browser and system a `User-Agent` names, as a person would say it: "Chrome 120 on Linux",
/// "Firefox on macOS", "curl". An agent this does not know is shown as sent, shortened.
pub fn describe_user_agent(agent: &str) -> String {
    let agent = agent.trim();
    if agent.is_empty() {
        return "Unknown browser".into();
    }
    let version_of = |name: &str| -> Option<String> {
        let start = agent.find(&format!("{name}/"))? + name.len() + 1;
        let major: String = agent[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(major)
    };
    let with_version = |label: &str, token: &str| match version_of(token) {
        Some(v) if !v.is_empty() => format!("{label} {v}"),
        _ => label.to_owned(),
    };
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    let browser = if agent.contains("Edg/") {
        Some(with_version("Edge", "Edg"))
    } else if agent.contains("OPR/") {
        Some(with_version("Opera", "OPR"))
    } else if agent.contains("Firefox/") {
        Some(with_version("Firefox", "Firefox"))
    } else if agent.contains("Chrome/") || agent.contains("Chromium/") {
        Some(if agent.contains("HeadlessChrome/") {
            with_version("Headless Chrome", "HeadlessChrome")
        } else {
            with_version("Chrome", "Chrome")
        })
    } else if agent.contains("Safari/") && agent.contains("Version/") {
        Some(with_version("Safari", "Version"))
    } else {
        None
    };
    let system = if agent.contains("Android") {
        Some("Android")
    } else if agent.contains("iPhone") || agent.contains("iPad") {
        Some("iOS")
    } else if agent.contains("Windows") {
        Some("Windows")
    } else if agent.contains("Mac OS X") || agent.contains("Macintosh") {
        Some("macOS")
    } else if agent.contains("CrOS") {
        Some("ChromeOS")
    } else if agent.contains("Linux") || agent.contains("X11") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b,
        (None, _) => {
            // A tool: its name before the slash ("curl/8.5.0" → "curl").
            let first = agent.split_whitespace().next().unwrap_or(agent);
            let name = first.split('/').next().unwrap_or(first);
            if !agent.starts_with("Mozilla/") && !name.is_empty() && name.len() <= 40 {
                name.to_owned()
            } else {
                shorten(agent, 60)
            }
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_described_as_a_person_would_say_them() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120 on Linux"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121 on macOS"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61", "Edge 120 on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari 17 on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36", "Chrome 119 on Android"),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.31.0", "python-requests"),
            ("", "Unknown browser"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent}");
        }
    }

    #[test]
    fn unknown_long_agents_are_shortened() {
        let agent = format!("Mozilla/5.0 ({})", "x".repeat(200));
        let shown = describe_user_agent(&agent);
        assert_eq!(shown.chars().count(), 60);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_public_id_is_the_start_of_the_hash_in_hex() {
        assert_eq!(public_id(&[0xab; 32]), "abababababababab");
    }
}
