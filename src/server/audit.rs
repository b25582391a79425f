//! The audit log (SPEC section 9): the one place entries are written (as a change commits,
//! [`super::change::Change`]), verified, pruned and replayed; `activity` reads it for people.
//!
//! Each organization's entries form a hash chain: an entry stores the hash of the one before it
//! and `SHA-256(prev_hash || canonical content)`, where the canonical content is every stored
//! field but the row id, in a fixed order, times in RFC 3339. Entries are written in the
//! transaction of the change they record, after the organization's lock, so the chain is linear
//! on every database and across instances; `(organization_id, seq)` is unique besides, so two
//! writers that did not hold the lock could never both extend it.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    db::{self, audit::EntryRecord, Db, Locked, Tx},
    error::OrInternal,
    origin::{RequestLine, RequestOrigin},
};
use crate::domain::{format_timestamp, Action, AppError, EmailAddress, Role};

/// Who made a request, as the log and the messages name them: what every signed-in witness
/// knows.
pub trait Identity {
    fn user_id(&self) -> i64;
    fn email(&self) -> &str;
    fn origin(&self) -> &RequestOrigin;
}

/// The hash an organization's first entry follows.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A user, with their email at that moment.
    User { id: i64, email: String },
    /// The server administrator's command line.
    Cli,
    /// The server itself (failed sign-ins, which nobody proved to be anyone).
    System,
    /// Single sign-on: what the identity provider's answer decided (a role from groups).
    Sso,
    /// Provisioning: the identity provider's SCIM client, with the organization's SCIM token.
    Scim,
}

impl Actor {
    pub fn member(me: &impl Identity) -> Self {
        Actor::User {
            id: me.user_id(),
            email: me.email().to_owned(),
        }
    }

    /// An account, by its id and address.
    pub fn user(id: i64, email: &EmailAddress) -> Self {
        Actor::User {
            id,
            email: email.to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::Cli => "cli",
            Actor::System => "system",
            Actor::Sso => "sso",
            Actor::Scim => "scim",
        }
    }
}

/// What it was done to, with its email or title at that moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    User { id: i64, email: String },
    Invitation { id: i64, email: String },
    Organization { id: i64, title: String },
}

impl Target {
    /// The caller themselves, as the target of a change to their own account.
    pub fn own(me: &impl Identity) -> Self {
        Target::User {
            id: me.user_id(),
            email: me.email().to_owned(),
        }
    }

    fn parts(&self) -> (&'static str, i64, &str) {
        match self {
            Target::User { id, email } => ("user", *id, email),
            Target::Invitation { id, email } => ("invitation", *id, email),
            Target::Organization { id, title } => ("organization", *id, title),
        }
    }
}

/// One thing that happened, before it is written.
#[derive(Clone, Debug)]
pub struct Event {
    pub actor: Actor,
    pub action: Action,
    pub target: Target,
    pub details: Value,
    pub client_address: String,
    pub user_agent: String,
    /// The request's method and path.
    pub request: RequestLine,
}

impl Event {
    pub fn new(actor: Actor, action: Action, target: Target) -> Self {
        Self {
            actor,
            action,
            target,
            details: json!({}),
            client_address: String::new(),
            user_agent: String::new(),
            request: RequestLine::default(),
        }
    }

    /// A member's action, from the request they made.
    pub fn by(me: &impl Identity, action: Action, target: Target) -> Self {
        Self::new(Actor::member(me), action, target).from(me.origin())
    }

    /// The request's client address, user agent, method and path.
    pub fn from(mut self, origin: &RequestOrigin) -> Self {
        self.client_address = origin.client.to_string();
        self.user_agent = origin.user_agent.clone();
        self.request = origin.request.clone();
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// The content an entry's hash covers: every stored field but the row id, in a fixed order, as
/// a JSON array (unambiguous whatever the text holds), the time in RFC 3339. The request's
/// method and path, recorded since migration 0011, close the array when an entry has them, so
/// that the entries written before hash as they did.
pub fn canonical(e: &EntryRecord) -> String {
    let mut fields = json!([
        e.organization_id,
        e.seq,
        format_timestamp(e.created_at),
        e.actor_kind,
        e.actor_user_id,
        e.actor_email,
        e.action,
        e.target_kind,
        e.target_id,
        e.target_label,
        e.details,
        e.client_address,
        e.user_agent,
    ]);
    if !(e.request_method.is_empty() && e.request_path.is_empty()) {
        if let Value::Array(fields) = &mut fields {
            fields.push(json!(e.request_method));
            fields.push(json!(e.request_path));
        }
    }
    fields.to_string()
}

/// `SHA-256(prev_hash || canonical content)`.
pub fn entry_hash(e: &EntryRecord) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(&e.prev_hash);
    hasher.update(canonical(e).as_bytes());
    hasher.finalize().to_vec()
}

/// Writes `events`, in order, to the chain of the organization locked by `lock` inside `tx`, in
/// one statement (per thousand entries): what [`super::change::Change::commit`] does with the
/// entries of a change. The chain's head moves on with them: in `lock`, and in
/// `audit_chains` by the table's trigger.
pub(super) async fn record_all(
    tx: &mut Tx,
    lock: &mut Locked,
    events: Vec<Event>,
    now: i64,
) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    let organization_id = lock.id;
    let (mut seq, mut prev) = match lock.audit_head.take() {
        Some(head) => head,
        None => (0, GENESIS.to_vec()),
    };
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        let (target_kind, target_id, target_label) = event.target.parts();
        let (actor_user_id, actor_email) = match &event.actor {
            Actor::User { id, email } => (Some(*id), email.clone()),
            Actor::Cli | Actor::System | Actor::Sso | Actor::Scim => (None, String::new()),
        };
        seq += 1;
        let mut entry = EntryRecord {
            id: 0,
            organization_id,
            seq,
            created_at: now,
            actor_kind: event.actor.kind().to_owned(),
            actor_user_id,
            actor_email,
            action: event.action.as_str().to_owned(),
            target_kind: target_kind.to_owned(),
            target_id: Some(target_id),
            target_label: target_label.to_owned(),
            details: event.details.to_string(),
            client_address: event.client_address,
            user_agent: event.user_agent,
            request_method: event.request.method,
            request_path: event.request.path,
            prev_hash: prev,
            hash: Vec::new(),
        };
        entry.hash = entry_hash(&entry);
        prev = entry.hash.clone();
        entries.push(entry);
    }
    for rows in entries.chunks(db::audit::MAX_ROWS_PER_INSERT) {
        db::audit::insert_all(tx, rows)
            .await
            .or_internal("writing the audit log")?;
    }
    lock.audit_head = Some((seq, prev));
    Ok(())
}

/// Locks `organization_id` in `tx` ([`Db::lock_organization`]); a missing organization is a 404.
pub(super) async fn lock(db: &Db, tx: &mut Tx, organization_id: i64) -> Result<Locked, AppError> {
    db.lock_organization(tx, organization_id)
        .await
        .or_internal("locking the organization")?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no organization with id {organization_id}."
            ))
        })
}

/// What `gatehouse audit verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry is in its place and matches its hash.
    Intact { entries: i64 },
    /// The first entry that does not match, and how.
    Broken { problem: String },
}

/// How many entries verification reads at a time.
const VERIFY_SLICE: i64 = 1000;

/// Walks an organization's chain from where retention left it (or the start) to its head.
pub async fn verify(db: &Db, organization_id: i64) -> Result<Verdict, AppError> {
    let chain = db::audit::chain(db.pool(), organization_id)
        .await
        .or_internal("reading the audit chain")?;
    let (anchor_seq, anchor_hash, head) = match &chain {
        Some(c) => (
            c.anchor_seq,
            c.anchor_hash.clone().unwrap_or_else(|| GENESIS.to_vec()),
            Some((c.head_seq, c.head_hash.clone())),
        ),
        None => (0, GENESIS.to_vec(), None),
    };
    let broken = |problem: String| Ok(Verdict::Broken { problem });
    let mut expected_seq = anchor_seq + 1;
    let mut prev = anchor_hash;
    let mut count = 0;
    // Read a slice at a time, so that a long log never sits in memory whole.
    let mut last_id = i64::MIN;
    loop {
        let slice = db::audit::after_id(db.pool(), organization_id, last_id, VERIFY_SLICE)
            .await
            .or_internal("reading the audit log")?;
        let Some(last) = slice.last() else {
            break;
        };
        last_id = last.id;
        for e in &slice {
            if e.seq != expected_seq {
                return broken(if e.seq > expected_seq {
                    format!(
                    "entry {} (#{}) follows a missing entry: #{expected_seq} was deleted or moved",
                    e.id, e.seq
                )
                } else {
                    format!(
                        "entry {} (#{}) is out of order: #{expected_seq} was expected here",
                        e.id, e.seq
                    )
                });
            }
            if e.prev_hash != prev {
                return broken(format!(
                "entry {} (#{}) does not follow the entry before it (its previous hash differs)",
                e.id, e.seq
            ));
            }
            if entry_hash(e) != e.hash {
                return broken(format!(
                    "entry {} (#{}) was altered: its content does not match its hash",
                    e.id, e.seq
                ));
            }
            prev = e.hash.clone();
            expected_seq += 1;
            count += 1;
        }
    }
    let last_seq = expected_seq - 1;
    match head {
        Some((head_seq, head_hash)) if head_seq != last_seq || head_hash != prev => {
            broken(format!(
                "the chain ends at #{last_seq}, but #{head_seq} entries were written: the newest entries were deleted or altered"
            ))
        }
        None if count > 0 => broken(
            "the organization has entries but no record of its chain (audit_chains)".to_owned(),
        ),
        _ => Ok(Verdict::Intact { entries: count }),
    }
}

/// Deletes entries older than `retention_days` in every organization, keeping the hash of the
/// last one deleted as the chain's anchor, so the rest still verifies. Returns how many.
pub async fn prune(db: &Db, retention_days: i64, now: i64) -> Result<u64, AppError> {
    let cutoff = now - retention_days.saturating_mul(86_400);
    let organizations = db::audit::organizations_with_entries_before(db.pool(), cutoff)
        .await
        .or_internal("finding old audit entries")?;
    let mut deleted = 0;
    for organization_id in organizations {
        let mut tx = db.begin().await.or_internal("starting a prune")?;
        db.lock_organization(&mut tx, organization_id)
            .await
            .or_internal("locking the organization")?;
        if let Some((seq, hash)) = db::audit::last_before(&mut *tx, organization_id, cutoff)
            .await
            .or_internal("finding old audit entries")?
        {
            deleted += db::audit::delete_through(&mut *tx, organization_id, seq)
                .await
                .or_internal("pruning the audit log")?;
            db::audit::set_anchor(&mut *tx, organization_id, seq, &hash, now)
                .await
                .or_internal("anchoring the audit chain")?;
        }
        tx.commit().await.or_internal("committing a prune")?;
    }
    Ok(deleted)
}

/// Who held a seat at a moment, as the log tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatHolders {
    /// Members whose role took a seat: `(email, role)`, by email.
    pub members: Vec<(String, Role)>,
    /// Open, unexpired email invitations (they reserve a seat): `(email, expires_at)`.
    pub invitations: Vec<(String, i64)>,
    /// The seat limit then (`None`: unlimited, or not known from the log).
    pub limit: Option<i64>,
    /// Whether retention deleted entries from before the moment (the answer may be incomplete).
    pub pruned: bool,
}

impl SeatHolders {
    pub fn used(&self) -> usize {
        self.members.len() + self.invitations.len()
    }
}

/// Replays the organization's log up to `at` (inclusive) with the seat rules of SPEC section 2:
/// members whose role takes a seat, plus email invitations still open and unexpired at `at`.
pub async fn seats_at(db: &Db, organization_id: i64, at: i64) -> Result<SeatHolders, AppError> {
    use std::collections::BTreeMap;
    let pruned = db::audit::chain(db.pool(), organization_id)
        .await
        .or_internal("reading the audit chain")?
        .is_some_and(|c| c.anchor_seq > 0);
    let entries = db::audit::until(db.pool(), organization_id, at)
        .await
        .or_internal("reading the audit log")?;
    let mut members: BTreeMap<i64, (String, Role)> = BTreeMap::new();
    let mut invitations: BTreeMap<i64, (String, i64)> = BTreeMap::new();
    let mut limit = None;
    let role = |d: &Value, key: &str| {
        d.get(key)
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<Role>().ok())
    };
    for e in entries {
        let Ok(action) = e.action.parse::<Action>() else {
            continue;
        };
        let d: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
        let target = e.target_id.unwrap_or_default();
        let label = e.target_label.clone();
        match action {
            Action::OrganizationCreated => {
                if let (Some(id), Some(email)) = (
                    d.get("owner_id").and_then(Value::as_i64),
                    d.get("owner_email").and_then(Value::as_str),
                ) {
                    members.insert(id, (email.to_owned(), Role::Owner));
                }
                limit = d.get("seats").and_then(Value::as_i64);
            }
            Action::SeatsChanged => limit = d.get("to").and_then(Value::as_i64),
            Action::InvitationSent | Action::InvitationResent => {
                let expires = d.get("expires_at").and_then(Value::as_i64).unwrap_or(0);
                invitations.insert(target, (label, expires));
            }
            Action::InvitationRevoked => {
                invitations.remove(&target);
            }
            Action::InvitationAccepted => {
                invitations.remove(&target);
                if let (Some(id), Some(r)) = (e.actor_user_id, role(&d, "role")) {
                    members.insert(id, (e.actor_email.clone(), r));
                }
            }
            Action::MemberJoined => {
                members.insert(target, (label, Role::NotActivated));
            }
            Action::MemberRoleChanged | Action::MemberDeactivated | Action::MemberRestored => {
                if let Some(r) = role(&d, "to") {
                    members.insert(target, (label, r));
                }
            }
            Action::MemberRemoved => {
                members.remove(&target);
            }
            Action::OwnershipTransferred => {
                if let Some(from) = d.get("from_id").and_then(Value::as_i64) {
                    if let Some(m) = members.get_mut(&from) {
                        m.1 = Role::Administrator;
                    }
                }
                members.insert(target, (label, Role::Owner));
            }
            _ => {}
        }
    }
    let mut seated: Vec<(String, Role)> = members
        .into_values()
        .filter(|(_, r)| r.counts_seat())
        .collect();
    seated.sort_by(|a, b| a.0.cmp(&b.0));
    let mut open: Vec<(String, i64)> = invitations
        .into_values()
        .filter(|(_, expires)| *expires > at)
        .collect();
    open.sort();
    Ok(SeatHolders {
        members: seated,
        invitations: open,
        limit,
        pruned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryRecord {
        EntryRecord {
            id: 7,
            organization_id: 1,
            seq: 1,
            created_at: 1_795_334_600,
            actor_kind: "user".into(),
            actor_user_id: Some(2),
            actor_email: "admin@x.com".into(),
            action: "member.role_changed".into(),
            target_kind: "user".into(),
            target_id: Some(3),
            target_label: "bob@x.com".into(),
            details: r#"{"from":"ANNOTATOR","to":"REVIEWER"}"#.into(),
            client_address: "127.0.0.1".into(),
            user_agent: "curl".into(),
            request_method: String::new(),
            request_path: String::new(),
            prev_hash: GENESIS.to_vec(),
            hash: Vec::new(),
        }
    }

    #[test]
    fn the_canonical_content_is_every_field_in_a_fixed_order() {
        assert_eq!(
            canonical(&entry()),
            r#"[1,1,"2026-11-22T08:03:20Z","user",2,"admin@x.com","member.role_changed","user",3,"bob@x.com","{\"from\":\"ANNOTATOR\",\"to\":\"REVIEWER\"}","127.0.0.1","curl"]"#
        );
    }

    #[test]
    fn the_request_closes_the_canonical_content_when_an_entry_has_one() {
        let mut e = entry();
        e.request_method = "PATCH".into();
        e.request_path = "/api/organizations/1/memberships".into();
        assert!(
            canonical(&e)
                .ends_with(r#""127.0.0.1","curl","PATCH","/api/organizations/1/memberships"]"#),
            "{}",
            canonical(&e)
        );
    }

    #[test]
    fn changing_any_field_or_the_previous_hash_changes_the_hash() {
        let base = entry_hash(&entry());
        assert_eq!(base.len(), 32);
        let changes: [fn(&mut EntryRecord); 16] = [
            |e| e.organization_id = 2,
            |e| e.seq = 2,
            |e| e.created_at += 1,
            |e| e.actor_kind = "cli".into(),
            |e| e.actor_user_id = None,
            |e| e.actor_email.push('x'),
            |e| e.action = "member.removed".into(),
            |e| e.target_kind = "invitation".into(),
            |e| e.target_id = Some(4),
            |e| e.target_label.push('x'),
            |e| e.details = "{}".into(),
            |e| e.client_address.clear(),
            |e| e.user_agent.push('x'),
            |e| e.request_method = "PATCH".into(),
            |e| e.request_path = "/api/organizations/1/memberships".into(),
            |e| e.prev_hash = vec![1; 32],
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut e = entry();
            change(&mut e);
            assert_ne!(entry_hash(&e), base, "change {i}");
        }
        let mut e = entry();
        e.id = 99;
        assert_eq!(entry_hash(&e), base, "the row id is not content");
    }
}
