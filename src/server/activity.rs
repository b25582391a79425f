//! The Activity page's reading of the audit log: a filtered page of it, and its CSV export, for
//! the Owner and Administrators.

use super::{
    auth::Admin,
    db::{self, audit::EntryRecord},
    error::OrInternal,
    AppState,
};
use crate::domain::{
    format_timestamp, parse_timestamp, summarize, Action, ActorView, AppError, AuditEntryView,
    AuditPage, Page, Search, TargetView,
};
use serde_json::Value;

/// An entry as the API and the page show it.
pub fn view(e: EntryRecord) -> AuditEntryView {
    let actor = ActorView {
        kind: e.actor_kind,
        user_id: e.actor_user_id,
        email: e.actor_email,
    };
    let target = TargetView {
        kind: e.target_kind,
        id: e.target_id,
        label: e.target_label,
    };
    let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::String(e.details));
    let action = e.action.parse::<Action>();
    let summary = match &action {
        Ok(a) => summarize(*a, &actor, &target, &details),
        Err(_) => format!("{} ({})", e.action, target.label),
    };
    AuditEntryView {
        id: e.id,
        seq: e.seq,
        created_at: format_timestamp(e.created_at),
        actor,
        action: e.action,
        target,
        details,
        client_address: e.client_address,
        user_agent: e.user_agent,
        summary,
        hash: hex::encode(&e.hash),
    }
}

/// Which entries to list, as given (text): parsed by [`Query::filter`].
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// A query's filters, parsed.
pub struct Filters {
    action: Option<Action>,
    actor_email: Option<Search>,
    actor_kind: Option<&'static str>,
    since: Option<i64>,
    until: Option<i64>,
}

impl Filters {
    fn for_db(&self, organization_id: i64) -> db::audit::Filter<'_> {
        db::audit::Filter {
            organization_id,
            action: self.action.map(Action::as_str),
            actor_email: self.actor_email.as_ref(),
            actor_kind: self.actor_kind,
            actor_user_id: None,
            since: self.since,
            until: self.until,
        }
    }
}

fn time(field: &str, text: &str, end_of_day: bool) -> Result<i64, AppError> {
    let (t, date_only) = parse_timestamp(text).ok_or_else(|| {
        AppError::invalid(
            field,
            format!("{field} must be an ISO 8601 date or time (2026-11-01 or 2026-11-01T14:02:00Z), not {:?}.", text.trim()),
        )
    })?;
    Ok(if date_only && end_of_day {
        t + 86_399
    } else {
        t
    })
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A time range given as text (ISO 8601 dates or times; blank is no bound), read by the names
/// its caller gives its two ends: `until` as a date alone means the end of that day (UTC), and it
/// must not be before `since`. A 400 names the end that is wrong.
pub fn time_range(
    (since_field, since): (&str, &Option<String>),
    (until_field, until): (&str, &Option<String>),
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let since = given(since)
        .map(|s| time(since_field, s, false))
        .transpose()?;
    let until = given(until)
        .map(|s| time(until_field, s, true))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until) {
        if since > until {
            return Err(AppError::invalid(
                until_field,
                format!("{until_field} must not be before {since_field}."),
            ));
        }
    }
    Ok((since, until))
}

impl Query {
    /// The filters, or a 400 naming the one that is wrong.
    pub fn filter(&self) -> Result<Filters, AppError> {
        let action = self
            .action
            .as_deref()
            .map(str::parse::<Action>)
            .transpose()?;
        let actor = Search::parse("actor", self.actor.as_deref().unwrap_or_default())?;
        let (actor_email, actor_kind) = match actor.as_str() {
            "" => (None, None),
            "cli" => (None, Some("cli")),
            "system" => (None, Some("system")),
            "sso" => (None, Some("sso")),
            "scim" => (None, Some("scim")),
            _ => (Some(actor), None),
        };
        let (since, until) = time_range(("since", &self.since), ("until", &self.until))?;
        Ok(Filters {
            action,
            actor_email,
            actor_kind,
            since,
            until,
        })
    }
}

/// A page of the caller's organization's log, newest first.
pub async fn list(
    state: &AppState,
    me: &Admin,
    page: Page,
    q: &Query,
) -> Result<AuditPage, AppError> {
    let filters = q.filter()?;
    let found = db::audit::page(state.db.pool(), &filters.for_db(me.organization_id()), page)
        .await
        .or_internal("listing audit entries")?;
    Ok(found.map(view))
}

/// The CSV export's columns.
pub const CSV_HEADER: &str = "id,seq,time,actor_kind,actor_user_id,actor_email,action,target_kind,target_id,target,details,client_address,user_agent,summary,hash\r\n";

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled); text
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// An entry as one CSV record (with its line end).
pub fn csv_line(e: EntryRecord) -> String {
    let v = view(e);
    let number = |n: Option<i64>| n.map_or(String::new(), |n| n.to_string());
    let fields = [
        v.id.to_string(),
        v.seq.to_string(),
        v.created_at,
        csv_field(&v.actor.kind),
        number(v.actor.user_id),
        csv_field(&v.actor.email),
        csv_field(&v.action),
        csv_field(&v.target.kind),
        number(v.target.id),
        csv_field(&v.target.label),
        csv_field(&v.details.to_string()),
        csv_field(&v.client_address),
        csv_field(&v.user_agent),
        csv_field(&v.summary),
        v.hash,
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// How many entries the export reads at a time.
const CSV_SLICE: i64 = 500;

/// Every matching entry of the caller's organization as CSV, newest first, read from the
/// database a slice at a time while it is sent. Bad filters are refused before anything is sent.
pub fn csv(
    state: &AppState,
    me: &Admin,
    q: &Query,
) -> Result<
    impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send + 'static,
    AppError,
> {
    let filters = q.filter()?;
    let db = state.db.clone();
    let organization_id = me.organization_id();
    // (the header sent, the seq to continue before, finished)
    let start = (false, None::<i64>, false);
    // Fused: the compression layer polls a body again after its end, which `unfold` alone
    // answers with a panic.
    Ok(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        (db, filters, start),
        move |(db, filters, (header_sent, before, done))| async move {
            if done {
                return None;
            }
            if !header_sent {
                return Some((
                    Ok(CSV_HEADER.to_owned()),
                    (db, filters, (true, None, false)),
                ));
            }
            let slice = db::audit::slice_before(
                db.pool(),
                &filters.for_db(organization_id),
                before,
                CSV_SLICE,
            )
            .await;
            match slice {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|r| r.seq);
                    let finished = (rows.len() as i64) < CSV_SLICE;
                    let text: String = rows.into_iter().map(csv_line).collect();
                    Some((Ok(text), (db, filters, (true, last, finished))))
                }
                Err(e) => {
                    // The status is sent already: the download ends short, and the log says why.
                    let _ = super::error::internal("exporting the audit log", e);
                    Some((
                        Err(std::io::Error::other("the audit log could not be read")),
                        (db, filters, (true, None, true)),
                    ))
                }
            }
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
