//! The invite link and email invitations (SPEC section 5).

use super::{
    audit::{Event, Target},
    auth::{secrets, Admin},
    change::Change,
    db::{
        self,
        invitations::{NewInvitation, OpenInvitation},
        outbox::{MessageKind, NewMessage},
    },
    error::OrInternal,
    invite_token::{Destination, InviteToken},
    seats,
    throttle::{self, Limit},
    AppState,
};
use serde_json::json;

use crate::domain::{
    format_timestamp, Action, AppError, EmailAddress, InviteInfo, InviteLink, InviteOutcome,
    InviteStatus, Page, PendingInvitation, PendingInvitations, Role, Search, INVITABLE_ROLES,
};

/// Most addresses one request may invite.
pub const MAX_ADDRESSES: usize = 1000;

/// Refuses a request with more than [`MAX_ADDRESSES`] addresses (or list entries).
pub fn check_count(given: usize) -> Result<(), AppError> {
    if given > MAX_ADDRESSES {
        let message =
            format!("Invite at most {MAX_ADDRESSES} addresses at a time ({given} given).");
        return Err(AppError::invalid("emails", message));
    }
    Ok(())
}

fn invite_link(state: &AppState, me: &Admin, salt: &[u8]) -> InviteLink {
    let token = state.keys.invite_link(salt);
    InviteLink {
        invite_url: format!("{}/user/signup?token={token}", me.origin().public),
        token,
    }
}

/// The organization's invite link; made on first use, never changed by reading it.
pub async fn link(state: &AppState, me: &Admin) -> Result<InviteLink, AppError> {
    let org = me.organization_id();
    if let Some(salt) = db::organizations::invite_salt(state.db.pool(), org)
        .await
        .or_internal("reading the invite link")?
    {
        return Ok(invite_link(state, me, &salt));
    }
    let salt = secrets::random_bytes::<16>();
    let hash = secrets::hash(&state.keys.invite_link(&salt));
    db::organizations::create_invite_link(state.db.pool(), org, &salt, &hash)
        .await
        .or_internal("creating the invite link")?;
    // Another request may have made it first: read what is stored.
    let salt = db::organizations::invite_salt(state.db.pool(), org)
        .await
        .or_internal("reading the invite link")?
        .ok_or_else(super::auth::organization_not_found)?;
    Ok(invite_link(state, me, &salt))
}

/// Replaces the invite link. The old one stops working at once, for every instance, since each
/// signup looks the link up in the database.
pub async fn reset_link(state: &AppState, me: &Admin) -> Result<InviteLink, AppError> {
    let salt = secrets::random_bytes::<16>();
    let hash = secrets::hash(&state.keys.invite_link(&salt));
    let org = me.organization_id();
    let mut change = Change::by(state, me).await?;
    db::organizations::replace_invite_link(&mut **change.tx(), org, &salt, &hash)
        .await
        .or_internal("resetting the invite link")?;
    let event = Event::by(me, Action::InviteLinkReset, change.organization_target(org));
    change.record(event);
    change.commit().await?;
    tracing::info!(
        organization_id = me.organization_id(),
        user_id = me.user_id(),
        "reset the invite link"
    );
    Ok(invite_link(state, me, &salt))
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

/// The answer to an invitation request: one outcome per address, and whether the request as a
/// whole is refused because no address could take a seat (server functions and the REST API
/// answer that the same way, with this error).
pub struct Invited {
    pub results: Vec<InviteOutcome>,
    pub refusal: Option<AppError>,
}

impl Invited {
    pub fn into_result(self) -> Result<Vec<InviteOutcome>, AppError> {
        match self.refusal {
            Some(refusal) => Err(refusal),
            None => Ok(self.results),
        }
    }
}

/// Invites each address: every address gets its own answer, and the invitations and their
/// messages are written in one transaction (the outbox), so nothing is half-done.
pub async fn send(
    state: &AppState,
    me: &Admin,
    addresses: &[String],
    role: Role,
) -> Result<Invited, AppError> {
    invitable(role)?;
    if addresses.is_empty() {
        return Err(AppError::invalid(
            "emails",
            "Enter at least one email address.",
        ));
    }
    check_count(addresses.len())?;
    let mut batch = Batch::new(state, me, role)?;
    let org = me.organization_id();
    let mut results = Vec::with_capacity(addresses.len());
    let mut refusal = None;
    let mut seen = std::collections::HashSet::new();
    let mut change = Change::by(state, me).await?;
    batch.read_quota(change.tx()).await?;
    for raw in addresses {
        let outcome = |status, detail: &str| InviteOutcome {
            email: raw.trim().to_owned(),
            status,
            detail: detail.to_owned(),
        };
        let Ok(email) = EmailAddress::parse(raw) else {
            results.push(outcome(
                InviteStatus::InvalidAddress,
                "This is not a valid email address.",
            ));
            continue;
        };
        if !seen.insert(email.clone()) {
            continue; // the same address twice in one request gets one answer
        }
        match batch.invite(&mut change, &email).await {
            Ok(done) => results.push(done),
            Err(e @ AppError::NoFreeSeat { .. }) => {
                results.push(outcome(InviteStatus::NoFreeSeat, &e.to_string()));
                refusal.get_or_insert(e);
            }
            Err(e @ AppError::TooManyRequests { .. }) => {
                results.push(outcome(InviteStatus::RateLimited, &e.to_string()));
                refusal.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    batch.finish(&mut change).await?;
    change.commit().await?;
    let sent = results.iter().filter(|o| o.status.is_success()).count();
    tracing::info!(
        organization_id = org,
        user_id = me.user_id(),
        sent,
        total = results.len(),
        "sent invitations"
    );
    let refused = results.iter().all(|r| r.status.is_refusal());
    Ok(Invited {
        refusal: refusal.filter(|_| refused),
        results,
    })
}

/// What every invitation of one request shares.
struct Batch<'a> {
    state: &'a AppState,
    me: &'a Admin,
    role: Role,
    origin: String,
    now: i64,
    expires_at: i64,
    /// Messages the organization may still send today, and how long until it may send more.
    quota: (i64, throttle::Wait),
    /// Messages this request queued.
    sent: i64,
}

impl<'a> Batch<'a> {
    /// A batch whose messages link to the request's origin, when links may be mailed from it.
    fn new(state: &'a AppState, me: &'a Admin, role: Role) -> Result<Self, AppError> {
        let now = state.now();
        Ok(Self {
            state,
            me,
            role,
            origin: me.origin().for_mail()?.to_owned(),
            now,
            expires_at: now + state.config.invite_expiry_days * 24 * 60 * 60,
            quota: (0, throttle::Wait { seconds: 0 }),
            sent: 0,
        })
    }

    fn quota_limit(&self) -> Limit {
        Limit::invitations_per_organization(&self.state.config)
    }

    /// Reads what is left of the organization's daily quota, inside the locked transaction.
    async fn read_quota(&mut self, tx: &mut db::Tx) -> Result<(), AppError> {
        let subject = self.me.organization_id().to_string();
        self.quota = throttle::remaining(&mut **tx, self.quota_limit(), &subject, self.now).await?;
        Ok(())
    }

    /// Counts what was sent against the quota (the change writes every invitation's audit entry
    /// in one statement however many addresses).
    async fn finish(&self, change: &mut Change<'_>) -> Result<(), AppError> {
        let subject = self.me.organization_id().to_string();
        let tx = &mut **change.tx();
        throttle::record(tx, self.quota_limit(), &subject, self.sent, self.now).await
    }

    /// Refuses one more message when the quota is used up, or when `open` was sent less than the
    /// cooldown ago.
    fn check_rate(&self, open: Option<&OpenInvitation>) -> Result<(), AppError> {
        let cooldown = super::clock::seconds(self.state.config.resend_cooldown);
        if let Some(open) = open.filter(|o| o.created_at > self.now - cooldown) {
            let seconds = (open.created_at + cooldown - self.now).max(1);
            return Err(AppError::TooManyRequests {
                message: format!(
                    "Invited less than a minute ago; it can be sent again in {seconds} s."
                ),
                retry_after: seconds.unsigned_abs(),
            });
        }
        let (left, wait) = self.quota;
        if self.sent >= left {
            let hours = wait.seconds.div_ceil(3600).max(1);
            return Err(AppError::TooManyRequests {
                message: format!(
                    "Not sent: this organization has sent its {} invitations for the last 24 hours. Try again in {hours} {}.",
                    self.state.config.invites_per_day,
                    if hours == 1 { "hour" } else { "hours" },
                ),
                retry_after: wait.seconds,
            });
        }
        Ok(())
    }

    /// Invites (or invites again) one address inside the locked transaction; a missing seat is
    /// `AppError::NoFreeSeat`.
    async fn invite(
        &mut self,
        change: &mut Change<'_>,
        email: &EmailAddress,
    ) -> Result<InviteOutcome, AppError> {
        if let Some(member) = self.already_member(change.tx(), email).await? {
            return Ok(member);
        }
        let open = db::invitations::find_open(
            &mut **change.tx(),
            self.me.organization_id(),
            email.as_str(),
        )
        .await
        .or_internal("finding an invitation")?;
        self.issue(change, email, open).await
    }

    /// The answer for an address that is already a member of this organization, if it is one.
    /// An account elsewhere (in another organization, or in none) is invited like a new address,
    /// and its invitation counts and holds a seat the same: the answer tells the inviter nothing
    /// about other organizations. Its holder accepts by logging in.
    async fn already_member(
        &self,
        tx: &mut db::Tx,
        email: &EmailAddress,
    ) -> Result<Option<InviteOutcome>, AppError> {
        let organization = db::members::organization_of_email(&mut **tx, email.as_str())
            .await
            .or_internal("checking an address")?;
        if organization != Some(self.me.organization_id()) {
            return Ok(None);
        }
        Ok(Some(InviteOutcome {
            email: email.to_string(),
            status: InviteStatus::AlreadyMember,
            detail: "Already a member of this organization.".to_owned(),
        }))
    }

    /// Writes the invitation (a new one, or `open` renewed) and queues its message.
    async fn issue(
        &mut self,
        change: &mut Change<'_>,
        email: &EmailAddress,
        open: Option<OpenInvitation>,
    ) -> Result<InviteOutcome, AppError> {
        self.check_rate(open.as_ref())?;
        let org = self.me.organization_id();
        let answer = |status, detail: &str| InviteOutcome {
            email: email.to_string(),
            status,
            detail: detail.to_owned(),
        };
        // A new invitation reserves a seat; so does re-sending one whose reservation lapsed.
        if open.as_ref().is_none_or(|o| o.expires_at <= self.now) {
            seats::ensure_free(change.tx(), org, self.now).await?;
        }
        let salt = secrets::random_bytes::<16>();
        let hash = secrets::hash(&self.state.keys.invitation(&salt));
        let new = NewInvitation {
            organization_id: org,
            email: email.as_str(),
            role: self.role,
            token_hash: &hash,
            salt: &salt,
            invited_by: self.me.user_id(),
            now: self.now,
            expires_at: self.expires_at,
        };
        let (id, status, detail, action) = match open {
            Some(open) => {
                db::invitations::renew(&mut **change.tx(), open.id, new)
                    .await
                    .or_internal("renewing an invitation")?;
                db::outbox::cancel_unsent(&mut **change.tx(), open.id)
                    .await
                    .or_internal("replacing a message")?;
                (
                    open.id,
                    InviteStatus::Resent,
                    "Invited again with a new link; the earlier link no longer works.",
                    Action::InvitationResent,
                )
            }
            None => {
                let id = db::invitations::insert(&mut **change.tx(), new)
                    .await
                    .or_internal("creating an invitation")?;
                (
                    id,
                    InviteStatus::Invited,
                    "Invitation sent.",
                    Action::InvitationSent,
                )
            }
        };
        let message = NewMessage {
            invitation_id: Some(id),
            ..NewMessage::new(
                MessageKind::Invitation,
                email.as_str(),
                &self.origin,
                self.now,
            )
        };
        change.queue(&message).await?;
        self.sent += 1;
        let target = Target::Invitation {
            id,
            email: email.to_string(),
        };
        change.record(
            Event::by(self.me, action, target)
                .details(json!({"role": self.role.as_str(), "expires_at": self.expires_at})),
        );
        Ok(answer(status, detail))
    }
}

/// Open invitations per page of the Organization page.
pub const PENDING_PAGE_SIZE: i64 = 20;

/// A page of the open invitations whose address contains `search`, newest first, with whether
/// each has expired, and how many match.
pub async fn pending(
    state: &AppState,
    me: &Admin,
    page: Page,
    search: &Search,
) -> Result<PendingInvitations, AppError> {
    let now = state.now();
    let found = db::invitations::open_page(state.db.pool(), me.organization_id(), search, page)
        .await
        .or_internal("listing invitations")?;
    Ok(found.map(|i| PendingInvitation {
        id: i.id,
        role: i.role,
        invited_by: i.invited_by.unwrap_or_else(|| "a former member".into()),
        created_at: format_timestamp(i.created_at),
        expires_at: format_timestamp(i.expires_at),
        expired: i.expires_at <= now,
        email: i.email,
    }))
}

fn no_such_invitation() -> AppError {
    AppError::NotFound("There is no pending invitation for this address.".into())
}

/// Sends an open invitation again with a new secret and expiry. Without a free seat for it
/// (its reservation lapsed), nothing is sent and the error says so. When the address has joined
/// the organization meanwhile (through the invite link), nothing is sent either: the invitation
/// is revoked, which frees the seat it held, and the error says so.
pub async fn resend(state: &AppState, me: &Admin, id: i64) -> Result<(), AppError> {
    let invitation = db::invitations::find(state.db.pool(), id)
        .await
        .or_internal("finding an invitation")?
        .filter(|i| i.organization_id == me.organization_id() && i.is_open())
        .ok_or_else(no_such_invitation)?;
    let email = EmailAddress::parse(&invitation.email)?;
    let mut batch = Batch::new(state, me, invitation.role)?;
    let mut change = Change::by(state, me).await?;
    batch.read_quota(change.tx()).await?;
    // Revoked or accepted meanwhile: there is nothing to send again (re-inviting would make a new
    // invitation the admin did not ask for).
    let organization = me.organization_id();
    let still_open = db::invitations::find_open(&mut **change.tx(), organization, email.as_str())
        .await
        .or_internal("finding an invitation")?;
    if still_open.as_ref().map(|o| o.id) != Some(id) {
        return Err(no_such_invitation());
    }
    if batch.already_member(change.tx(), &email).await?.is_some() {
        return revoke_for_member(change, me, id, email).await;
    }
    let outcome = batch.issue(&mut change, &email, still_open).await?;
    batch.finish(&mut change).await?;
    change.commit().await?;
    tracing::info!(organization_id = me.organization_id(), user_id = me.user_id(), invitation_id = id, status = ?outcome.status, "re-sent an invitation");
    Ok(())
}

/// Instead of a resend: the address became a member meanwhile, so its invitation is revoked (its
/// seat is freed, its unsent message cancelled), and the answer tells the administrator.
async fn revoke_for_member(
    mut change: Change<'_>,
    me: &Admin,
    id: i64,
    email: EmailAddress,
) -> Result<(), AppError> {
    let now = change.now();
    let revoked = db::invitations::revoke_by_id(&mut **change.tx(), me.organization_id(), id, now)
        .await
        .or_internal("revoking an invitation")?;
    finish_revocation(change, me, revoked, email.to_string()).await?;
    Err(AppError::Conflict(format!(
        "{email} has joined this organization meanwhile, so nothing was sent: the invitation is revoked and its seat is free again."
    )))
}

/// Revokes the open invitation with this id: its link stops working and its seat is freed.
pub async fn revoke(state: &AppState, me: &Admin, id: i64) -> Result<(), AppError> {
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    let tx = change.tx();
    let revoked = db::invitations::revoke_by_id(&mut **tx, me.organization_id(), id, now)
        .await
        .or_internal("revoking an invitation")?;
    let email = match revoked {
        Some(id) => db::invitations::find(&mut **tx, id)
            .await
            .or_internal("reading an invitation")?
            .map(|i| i.email)
            .unwrap_or_default(),
        None => String::new(),
    };
    finish_revocation(change, me, revoked, email).await
}

/// Revokes the open invitation of this address.
pub async fn revoke_address(state: &AppState, me: &Admin, email: &str) -> Result<(), AppError> {
    let email = EmailAddress::parse(email)?;
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    let revoked = db::invitations::revoke_by_email(
        &mut **change.tx(),
        me.organization_id(),
        email.as_str(),
        now,
    )
    .await
    .or_internal("revoking an invitation")?;
    finish_revocation(change, me, revoked, email.to_string()).await
}

async fn finish_revocation(
    mut change: Change<'_>,
    me: &Admin,
    revoked: Option<i64>,
    email: String,
) -> Result<(), AppError> {
    let revoked = revoked.ok_or_else(no_such_invitation)?;
    db::outbox::cancel_unsent(&mut **change.tx(), revoked)
        .await
        .or_internal("cancelling a message")?;
    let target = Target::Invitation { id: revoked, email };
    change.record(Event::by(me, Action::InvitationRevoked, target));
    change.commit().await?;
    tracing::info!(
        organization_id = me.organization_id(),
        user_id = me.user_id(),
        invitation_id = revoked,
        "revoked an invitation"
    );
    Ok(())
}

/// What a token leads to, for the signup page.
pub async fn info(state: &AppState, token: &str) -> Result<InviteInfo, AppError> {
    match InviteToken::parse(token)?
        .resolve(state.db.pool(), state.now())
        .await?
    {
        Destination::Organization { title, .. } => Ok(InviteInfo::Link {
            organization_title: title,
        }),
        Destination::Invitation(invitation) => {
            let title = db::organizations::title(state.db.pool(), invitation.organization_id)
                .await
                .or_internal("reading an organization")?
                .unwrap_or_default();
            let has_account = match EmailAddress::parse(&invitation.email) {
                Ok(email) => db::users::find_by_email(state.db.pool(), &email)
                    .await
                    .or_internal("checking an address")?
                    .is_some(),
                Err(_) => false,
            };
            Ok(InviteInfo::Email {
                organization_title: title,
                role: invitation.role,
                email: invitation.email,
                has_account,
            })
        }
    }
}
