//! The invite link and email invitations (SPEC section 5).

use axum::http::{header, HeaderMap};

use super::{
    accounts::INVALID_INVITE,
    auth::{keys::INVITATION_PREFIX, keys::INVITE_LINK_PREFIX, secrets, Principal},
    db::{self, invitations::NewInvitation},
    error::OrInternal,
    now, AppState,
};
use crate::domain::{
    format_timestamp, AppError, EmailAddress, InviteInfo, InviteLink, InviteOutcome, InviteStatus, PendingInvitation,
    PendingInvitations, Role, INVITABLE_ROLES,
};

/// Most addresses one request may invite.
pub const MAX_ADDRESSES: usize = 1000;
pub const EXPIRED_INVITATION: &str = "This invitation has expired. Ask your administrator to send it again.";

/// The address people reach the app at: the configured public URL, else the request's host.
pub fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
    let scheme = if super::auth::is_https(state, headers) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

fn invite_link(state: &AppState, salt: &[u8], headers: &HeaderMap) -> InviteLink {
    let token = state.keys.invite_link(salt);
    InviteLink { invite_url: format!("{}/user/signup?token={token}", origin(state, headers)), token }
}

/// The organization's invite link; made on first use, never changed by reading it.
pub async fn link(state: &AppState, me: &Principal, headers: &HeaderMap) -> Result<InviteLink, AppError> {
    let org = me.organization_id;
    if let Some(salt) = db::organizations::invite_salt(state.db.pool(), org).await.or_internal("reading the invite link")? {
        return Ok(invite_link(state, &salt, headers));
    }
    let salt = secrets::random_bytes::<16>();
    let hash = secrets::hash(&state.keys.invite_link(&salt));
    db::organizations::set_invite_link(state.db.pool(), org, &salt, &hash, true)
        .await
        .or_internal("creating the invite link")?;
    // Another request may have made it first: read what is stored.
    let salt = db::organizations::invite_salt(state.db.pool(), org)
        .await
        .or_internal("reading the invite link")?
        .ok_or_else(|| AppError::NotFound("Organization not found.".into()))?;
    Ok(invite_link(state, &salt, headers))
}

/// Replaces the invite link. The old one stops working at once, for every instance, since each
/// signup looks the link up in the database.
pub async fn reset_link(state: &AppState, me: &Principal, headers: &HeaderMap) -> Result<InviteLink, AppError> {
    let salt = secrets::random_bytes::<16>();
    let hash = secrets::hash(&state.keys.invite_link(&salt));
    db::organizations::set_invite_link(state.db.pool(), me.organization_id, &salt, &hash, false)
        .await
        .or_internal("resetting the invite link")?;
    tracing::info!(organization_id = me.organization_id, user_id = me.user_id, "reset the invite link");
    Ok(invite_link(state, &salt, headers))
}

fn invitable(role: Role) -> Result<(), AppError> {
    if INVITABLE_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "role",
            "An invitation gives the role Administrator, Manager, Reviewer or Annotator.",
        ))
    }
}

/// Invites each address: every address gets its own answer, and the invitations and their
/// messages are written in one transaction (the outbox), so nothing is half-done.
pub async fn send(
    state: &AppState,
    me: &Principal,
    addresses: &[String],
    role: Role,
    headers: &HeaderMap,
) -> Result<Vec<InviteOutcome>, AppError> {
    invitable(role)?;
    if addresses.is_empty() {
        return Err(AppError::invalid("emails", "Enter at least one email address."));
    }
    if addresses.len() > MAX_ADDRESSES {
        return Err(AppError::invalid(
            "emails",
            format!("Invite at most {MAX_ADDRESSES} addresses at a time ({} given).", addresses.len()),
        ));
    }
    let origin = origin(state, headers);
    let now = now();
    let expires_at = now + state.config.invite_expiry_days * 24 * 60 * 60;
    let org = me.organization_id;
    let mut outcomes = Vec::with_capacity(addresses.len());
    let mut seen = std::collections::HashSet::new();
    let mut tx = state.db.begin().await.or_internal("starting invitations")?;
    state.db.lock_organization(&mut tx, org).await.or_internal("locking the organization")?;
    for raw in addresses {
        let outcome = |status, detail: &str| InviteOutcome { email: raw.trim().to_owned(), status, detail: detail.to_owned() };
        let Ok(email) = EmailAddress::parse(raw) else {
            outcomes.push(outcome(InviteStatus::InvalidAddress, "This is not a valid email address."));
            continue;
        };
        if !seen.insert(email.clone()) {
            continue; // the same address twice in one request gets one answer
        }
        match db::members::organization_of_email(&mut *tx, email.as_str()).await.or_internal("checking an address")? {
            Some(o) if o == org => {
                outcomes.push(outcome(InviteStatus::AlreadyMember, "Already a member of this organization."));
                continue;
            }
            Some(_) => {
                outcomes.push(outcome(InviteStatus::AlreadyMember, "Already has an account in another organization on this server."));
                continue;
            }
            None => {}
        }
        let salt = secrets::random_bytes::<16>();
        let hash = secrets::hash(&state.keys.invitation(&salt));
        let new = NewInvitation {
            organization_id: org,
            email: email.as_str(),
            role: role.as_str(),
            token_hash: &hash,
            salt: &salt,
            invited_by: me.user_id,
            now,
            expires_at,
        };
        let open = db::invitations::find_open(&mut *tx, org, email.as_str()).await.or_internal("finding an invitation")?;
        // A new invitation reserves a seat; so does re-sending one whose reservation lapsed.
        let holds_seat = open.is_some_and(|(_, expires_at)| expires_at > now);
        if !holds_seat {
            match super::roles::ensure_free_seat(&mut tx, org, now).await {
                Ok(()) => {}
                Err(e @ AppError::NoFreeSeat { .. }) => {
                    outcomes.push(outcome(InviteStatus::NoFreeSeat, &e.to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let (id, status, detail) = match open {
            Some((id, _)) => {
                db::invitations::renew(&mut *tx, id, new).await.or_internal("renewing an invitation")?;
                db::outbox::cancel_unsent(&mut *tx, id).await.or_internal("replacing a message")?;
                (id, InviteStatus::Resent, "Invited again with a new link; the earlier link no longer works.")
            }
            None => {
                let id = db::invitations::insert(&mut *tx, new).await.or_internal("creating an invitation")?;
                (id, InviteStatus::Invited, "Invitation sent.")
            }
        };
        db::outbox::enqueue(&mut *tx, super::mail::MessageKind::Invitation, id, email.as_str(), &origin, now).await.or_internal("queueing a message")?;
        outcomes.push(InviteOutcome { email: email.to_string(), status, detail: detail.to_owned() });
    }
    tx.commit().await.or_internal("committing invitations")?;
    state.outbox_wake.notify_one();
    let sent = outcomes.iter().filter(|o| o.status.is_success()).count();
    tracing::info!(organization_id = org, user_id = me.user_id, sent, total = outcomes.len(), "sent invitations");
    Ok(outcomes)
}

/// How many open invitations the Organization page lists.
pub const PENDING_SHOWN: i64 = 100;

/// The newest open invitations, with whether each has expired, and their total.
pub async fn pending(state: &AppState, me: &Principal) -> Result<PendingInvitations, AppError> {
    let now = now();
    let count = db::invitations::count_open(state.db.pool(), me.organization_id).await.or_internal("counting invitations")?;
    let results = db::invitations::list_open(state.db.pool(), me.organization_id, PENDING_SHOWN)
        .await
        .or_internal("listing invitations")?
        .into_iter()
        .map(|i| {
            Ok(PendingInvitation {
                id: i.id,
                role: i.role.parse().or_internal("reading a stored role")?,
                invited_by: i.invited_by.unwrap_or_else(|| "a former member".into()),
                created_at: format_timestamp(i.created_at),
                expires_at: format_timestamp(i.expires_at),
                expired: i.expires_at <= now,
                email: i.email,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(PendingInvitations { count, results })
}

fn no_such_invitation() -> AppError {
    AppError::NotFound("There is no pending invitation for this address.".into())
}

/// Sends an open invitation again with a new secret and expiry.
pub async fn resend(state: &AppState, me: &Principal, id: i64, headers: &HeaderMap) -> Result<(), AppError> {
    let invitation = db::invitations::find(state.db.pool(), id)
        .await
        .or_internal("finding an invitation")?
        .filter(|i| i.organization_id == me.organization_id && i.is_open())
        .ok_or_else(no_such_invitation)?;
    let role: Role = invitation.role.parse().or_internal("reading a stored role")?;
    send(state, me, &[invitation.email], role, headers).await.map(|_| ())
}

pub enum Which<'a> {
    Id(i64),
    Email(&'a str),
}

/// Revokes an open invitation: its link stops working and its seat is freed.
pub async fn revoke(state: &AppState, me: &Principal, which: Which<'_>) -> Result<(), AppError> {
    let (id, email) = match which {
        Which::Id(id) => (Some(id), None),
        Which::Email(raw) => (None, Some(EmailAddress::parse(raw)?)),
    };
    let mut tx = state.db.begin().await.or_internal("starting a revocation")?;
    let revoked = db::invitations::revoke(&mut *tx, me.organization_id, id, email.as_ref().map(|e| e.as_str()), now())
        .await
        .or_internal("revoking an invitation")?
        .ok_or_else(no_such_invitation)?;
    db::outbox::cancel_unsent(&mut *tx, revoked).await.or_internal("cancelling a message")?;
    tx.commit().await.or_internal("committing a revocation")?;
    tracing::info!(organization_id = me.organization_id, user_id = me.user_id, invitation_id = revoked, "revoked an invitation");
    Ok(())
}

/// What a token leads to, for the signup page. Unusable tokens read the same, but for expiry.
pub async fn info(state: &AppState, token: &str) -> Result<InviteInfo, AppError> {
    let invalid = || AppError::invalid("token", INVALID_INVITE);
    let token = token.trim();
    let hash = secrets::hash(token);
    if token.starts_with(INVITE_LINK_PREFIX) {
        let (_, title) = db::organizations::find_by_invite_hash(state.db.pool(), &hash)
            .await
            .or_internal("finding an invite link")?
            .ok_or_else(invalid)?;
        return Ok(InviteInfo::Link { organization_title: title });
    }
    if token.starts_with(INVITATION_PREFIX) {
        let invitation = db::invitations::find_by_hash(state.db.pool(), &hash)
            .await
            .or_internal("finding an invitation")?
            .filter(|i| i.is_open())
            .ok_or_else(invalid)?;
        if invitation.expires_at <= now() {
            return Err(AppError::invalid("token", EXPIRED_INVITATION));
        }
        let title = db::organizations::title(state.db.pool(), invitation.organization_id)
            .await
            .or_internal("reading an organization")?
            .unwrap_or_default();
        return Ok(InviteInfo::Email {
            organization_title: title,
            role: invitation.role.parse().or_internal("reading a stored role")?,
            email: invitation.email,
        });
    }
    Err(invalid())
}
