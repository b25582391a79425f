//! Sessions: the one place a session is opened and its cookie written ([`open`]), and the
//! signed-in user's sessions as the Account page and `GET /api/current-user/sessions` list them,
//! ended one by one or all but the current one.

use axum::http::{header, HeaderMap};

use super::{proven::Proven, secrets, Account, SignedIn, Visitor};
use crate::domain::{format_timestamp, Action, AppError, SessionView, SignInMethod};
use crate::server::{
    audit::{Event, Target},
    change::Change,
    db::{self, Tx},
    error::OrInternal,
    origin::RequestOrigin,
    AppState,
};

/// How many bytes of a session's stored hash make its public id.
const ID_BYTES: usize = 8;

pub const NO_SUCH_SESSION: &str = "This session has already ended.";

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "gatehouse_session";
/// Its name over HTTPS: the `__Host-` prefix makes browsers refuse it unless it is `Secure`, for
/// the whole host and set by it, so a neighbouring subdomain cannot plant a session.
pub const SECURE_SESSION_COOKIE: &str = "__Host-gatehouse_session";

/// A session just opened: the `Set-Cookie` value that hands it to the browser. Only [`open`]
/// makes one (and [`NewSession::decoy`], for a session that does not exist).
pub struct NewSession {
    set_cookie: String,
}

impl NewSession {
    /// The `Set-Cookie` value to answer with.
    pub fn set_cookie(&self) -> &str {
        &self.set_cookie
    }

    /// A cookie for a session that does not exist, shaped as a new one's: the answer to a signup
    /// with an address that has an account, which must read as a new account's does.
    pub fn decoy(state: &AppState, origin: &RequestOrigin) -> Self {
        let secret = secrets::generate(secrets::SESSION_PREFIX);
        Self {
            set_cookie: set_cookie(&secret, origin.https, state.config.session_max_age),
        }
    }
}

/// Opens a session for a proven account in `change`, recording how it was proven and where it
/// was opened from (the client's address and browser, shown on the Account page). The only code
/// that starts a session.
pub async fn open(
    state: &AppState,
    change: &mut Change<'_>,
    proven: &Proven,
    origin: &RequestOrigin,
) -> Result<NewSession, AppError> {
    let secret = secrets::generate(secrets::SESSION_PREFIX);
    let now = change.now();
    db::sessions::insert(
        &mut **change.tx(),
        &secrets::hash(&secret),
        proven.user_id(),
        now,
        now + crate::server::clock::seconds(state.config.session_max_age),
        &db::sessions::Device {
            client_address: &origin.client.to_string(),
            user_agent: &origin.user_agent,
        },
        proven.method().as_str(),
    )
    .await
    .or_internal("creating a session")?;
    Ok(NewSession {
        set_cookie: set_cookie(&secret, origin.https, state.config.session_max_age),
    })
}

/// Ends the session the browser had before it signed up or in, inside `tx`.
pub async fn end_old(tx: &mut Tx, old_session: Option<&str>) -> Result<(), AppError> {
    if let Some(old) = old_session {
        db::sessions::delete(&mut **tx, &secrets::hash(old))
            .await
            .or_internal("ending the old session")?;
    }
    Ok(())
}

/// The session id from the `Cookie` header, if any. Over HTTPS only the `__Host-` cookie counts.
pub fn cookie(headers: &HeaderMap, https: bool) -> Option<&str> {
    cookie_named(headers, cookie_name(https))
}

/// The value of the cookie `wanted` from the `Cookie` header, if it has one.
pub fn cookie_named<'h>(headers: &'h HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The `Set-Cookie` value that starts a session; the browser keeps it no longer than the server
/// does.
fn set_cookie(session: &str, https: bool, max_age: std::time::Duration) -> String {
    format!(
        "{}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        cookie_name(https),
        max_age.as_secs(),
        if https { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(https: bool) -> String {
    format!(
        "{}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        cookie_name(https),
        if https { "; Secure" } else { "" }
    )
}

/// Ends the caller's session, if they have one.
pub async fn sign_out(
    state: &AppState,
    me: &Visitor,
    session: Option<&str>,
) -> Result<(), AppError> {
    let Some(session) = session else {
        return Ok(());
    };
    let Some(account) = me.account() else {
        db::sessions::delete(state.db.pool(), &secrets::hash(session))
            .await
            .or_internal("ending a session")?;
        return Ok(());
    };
    let mut change = Change::to_account(state, account.user_id()).await?;
    db::sessions::delete(&mut **change.tx(), &secrets::hash(session))
        .await
        .or_internal("ending a session")?;
    change.record(Event::by(account, Action::SignedOut, Target::own(account)));
    change.commit().await?;
    tracing::info!(client = %account.origin().client, user_id = account.user_id(), "logged out");
    Ok(())
}

/// The caller's sessions that have neither expired nor gone idle, by the server's settings and
/// their organization's session policy, most recently used first.
async fn live_of(
    state: &AppState,
    me: &Account,
) -> Result<Vec<db::sessions::SessionRecord>, AppError> {
    let now = state.now();
    let (idle, created_since) = match me.organization_id() {
        Some(organization) => {
            let limits = crate::server::api_settings::session_limits(state, organization).await?;
            (
                limits.max_time_between_activity * 60,
                now - limits.max_session_age * 60,
            )
        }
        None => (
            crate::server::clock::seconds(state.config.session_idle),
            i64::MIN,
        ),
    };
    let mut sessions = db::sessions::list_of(state.db.pool(), me.user_id(), now, now - idle)
        .await
        .or_internal("listing sessions")?;
    sessions.retain(|s| s.created_at > created_since);
    Ok(sessions)
}

/// The caller's active sessions, most recently used first; the one the request was made with
/// is marked.
pub async fn list(state: &AppState, me: &SignedIn) -> Result<Vec<SessionView>, AppError> {
    let current = me.session();
    Ok(live_of(state, me)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: public_id(&s.id_hash),
            signed_in_at: format_timestamp(s.created_at),
            last_seen_at: format_timestamp(s.last_seen_at),
            client_address: s.client_address,
            browser: describe_user_agent(&s.user_agent),
            current: current == Some(s.id_hash.as_slice()),
            user_agent: s.user_agent,
            opened_by: s.opened_by.as_deref().and_then(SignInMethod::parse),
        })
        .collect())
}

/// Ends one of the caller's sessions, named by its public id.
pub async fn end_one(state: &AppState, me: &SignedIn, id: &str) -> Result<(), AppError> {
    let records = live_of(state, me).await?;
    let id = id.trim().to_ascii_lowercase();
    let Some(record) = records.into_iter().find(|s| public_id(&s.id_hash) == id) else {
        return Err(AppError::NotFound(NO_SUCH_SESSION.into()));
    };
    let mut change = Change::to_account(state, me.user_id()).await?;
    if !db::sessions::delete_of(&mut **change.tx(), me.user_id(), &record.id_hash)
        .await
        .or_internal("ending a session")?
    {
        return Err(AppError::NotFound(NO_SUCH_SESSION.into()));
    }
    change.record(ended_event(me, 1));
    change.commit().await?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), session = %id, "ended a session");
    Ok(())
}

/// Ends every session of the caller but the one the request was made with (every one, when it
/// came with an API token); returns how many ended.
pub async fn end_others(state: &AppState, me: &SignedIn) -> Result<u64, AppError> {
    let mut change = Change::to_account(state, me.user_id()).await?;
    let ended = end_all_but_current(change.tx(), me).await?;
    change.record(ended_event(me, ended));
    change.commit().await?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), ended, "ended the other sessions");
    Ok(ended)
}

/// Ends every session of the caller but the one the request was made with, inside `tx` (every
/// one, when it came with an API token); returns how many ended.
pub async fn end_all_but_current(tx: &mut Tx, me: &Account) -> Result<u64, AppError> {
    match me.session() {
        Some(current) => db::sessions::delete_all_but(&mut **tx, me.user_id(), current).await,
        None => db::sessions::delete_all_of(&mut **tx, me.user_id()).await,
    }
    .or_internal("ending sessions")
}

/// The log's entry for the caller ending `ended` of their sessions.
fn ended_event(me: &SignedIn, ended: u64) -> Event {
    Event::by(me, Action::SessionEnded, Target::own(me))
        .details(serde_json::json!({"ended": ended}))
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
    use axum::http::{header, HeaderMap};

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
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; gatehouse_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, false), Some("xyz"));
        assert_eq!(
            cookie(&headers, true),
            None,
            "over HTTPS only __Host- counts"
        );
        headers.insert(header::COOKIE, "gatehouse_session=".parse().unwrap());
        assert_eq!(cookie(&headers, false), None);
        headers.insert(
            header::COOKIE,
            "__Host-gatehouse_session=abc".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, true), Some("abc"));
    }

    #[test]
    fn session_cookie_is_http_only_same_site_and_host_prefixed_over_https() {
        let age = std::time::Duration::from_secs(3600);
        let c = set_cookie("s", false, age);
        assert!(c.starts_with("gatehouse_session=s;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"));
        assert!(c.contains("Max-Age=3600") && !c.contains("Secure"));
        let c = set_cookie("s", true, age);
        assert!(c.starts_with("__Host-gatehouse_session=s;") && c.ends_with("; Secure"));
        assert!(!c.contains("Domain"), "a __Host- cookie names no domain");
    }

    #[test]
    fn a_public_id_is_the_start_of_the_hash_in_hex() {
        assert_eq!(public_id(&[0xab; 32]), "abababababababab");
    }
}
