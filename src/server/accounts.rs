//! Signing up, signing in and out, and the personal API token.

use super::{
    audit::{self, Actor, Event, Target},
    auth::{self, keys::Keys, password, secrets, Active, Anyone, Visitor},
    db::{self, Locked, Tx},
    error::{is_unique_violation, OrInternal},
    invite_token::{self, Destination, InviteToken},
    notices,
    origin::RequestOrigin,
    throttle::{self, Limit},
    verification, AppState,
};
use crate::domain::{
    Action, AppError, CurrentUser, EmailAddress, Need, Password, PersonName, Refusal, Role,
};
use serde_json::json;

pub const EMAIL_TAKEN: &str = "User with this email already exists";
pub const LOGIN_MISMATCH: &str = "The email and password you entered don't match.";
pub const OTHER_ADDRESS: &str =
    "This invitation was sent to another email address. Sign up with the address it was sent to.";
pub const LOG_IN_TO_ACCEPT: &str =
    "An account with this email already exists: log in to accept the invitation.";
pub const ALREADY_IN_AN_ORGANIZATION: &str =
    "This account already belongs to an organization, and an account belongs to one organization at a time: to accept, leave it first (ask its Owner or an Administrator to remove you; an Owner transfers ownership first), then log in with this invitation again.";
pub const SIGNUP_DISABLED: &str =
    "Signing up without an invitation is turned off on this server. Ask an administrator of your organization for an invite link.";

/// A session just opened: the secret for the cookie, and who it belongs to. (The witness that a
/// request comes from a signed-in account is `auth::SignedIn`.)
pub struct NewSession {
    pub user_id: i64,
    pub session: String,
}

/// What a signup came to. Both are answered alike, so that a signup does not tell whether an
/// address has an account.
pub enum SignedUp {
    /// A new account, signed in.
    New(NewSession),
    /// The address already had an account: nothing was made, and the address was mailed where to
    /// sign in or reset its password.
    AlreadyRegistered,
}

/// The optional first and last name given at signup (or on the Account page).
#[derive(Clone, Debug, Default)]
pub struct FullName {
    pub first: PersonName,
    pub last: PersonName,
}

impl FullName {
    /// Parses both names; a missing one is empty.
    pub fn parse(first: Option<&str>, last: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            first: PersonName::parse("first_name", first.unwrap_or_default())?,
            last: PersonName::parse("last_name", last.unwrap_or_default())?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.first.as_str().is_empty() && self.last.as_str().is_empty()
    }
}

/// Signs up. Without a token: a user, an organization titled with the email, and the user as
/// its Owner. With the organization's invite link: a Pending member of it. With an email
/// invitation: a member with the invited role, for the invited address only, once. Each in one
/// transaction; a bad token creates nothing. `old_session` (the browser's, if it was signed in)
/// ends. Without a token, an address that already has an account is answered in the same time
/// as a new one, and mailed instead ([`SignedUp::AlreadyRegistered`]).
pub async fn sign_up(
    state: &AppState,
    caller: &Anyone,
    email: &str,
    password: &str,
    invite_token: Option<&str>,
    name: &FullName,
    old_session: Option<&str>,
) -> Result<SignedUp, AppError> {
    let email = EmailAddress::parse(email)?;
    let password = Password::parse(password)?;
    auth::common_passwords::check(&password, &email)?;
    let token = match invite_token.map(str::trim).filter(|t| !t.is_empty()) {
        None if state.config.disable_signup_without_link => {
            return Err(AppError::Forbidden(SIGNUP_DISABLED.into()))
        }
        None => None,
        Some(raw) => Some(InviteToken::parse(raw)?),
    };
    // A storm beyond what the hashers can take is told so at once, before any database work and
    // without counting against the address's signups.
    if !state.hashing.has_room_soon() {
        return Err(password::busy());
    }
    let client = caller.origin().client.to_string();
    let counted = match throttle::count(
        state.db.pool(),
        Limit::signups_per_client(&state.config),
        &client,
        1,
        state.now(),
    )
    .await?
    {
        Ok(counted) => counted,
        Err(wait) => {
            tracing::info!(client = %client, "refused a signup: too many from this address");
            return Err(wait.refusal("signups from your network"));
        }
    };
    // The token is checked before the slow password hash, so a bad link answers at once; it is
    // checked again, atomically, in the transaction.
    let mut joining = None;
    if let Some(token) = &token {
        joining = Some(match token.resolve(state.db.pool(), state.now()).await? {
            Destination::Invitation(invited) => {
                if invited.email != email.as_str() {
                    return Err(AppError::invalid("email", OTHER_ADDRESS));
                }
                invited.organization_id
            }
            Destination::Organization { id, .. } => id,
        });
    }
    let existing = db::users::find_by_email(state.db.pool(), &email)
        .await
        .or_internal("checking an email")?;
    if existing.is_some() && token.is_some() {
        return Err(AppError::invalid("email", LOG_IN_TO_ACCEPT));
    }
    // Hashed for an existing address too, so that both take the time of a signup.
    let hash = match password::hash(&state.hashing, password).await {
        Ok(hash) => hash,
        Err(busy) => {
            counted.take_back(state.db.pool()).await?;
            return Err(busy);
        }
    };
    let pace = std::time::Instant::now();
    if let Some(user) = existing {
        drop(hash);
        tell_already_registered(state, caller, user.id, &email, old_session, pace).await?;
        tracing::info!(client = %client, user_id = user.id, "signup with an address that has an account: mailed it");
        return Ok(SignedUp::AlreadyRegistered);
    }
    let origin = caller.origin();
    let mut tx = state.db.begin().await.or_internal("starting signup")?;
    // Joining: the organization's log records it, under its lock (taken before any change).
    let mut lock = match joining {
        Some(org) => Some(audit::lock(&state.db, &mut tx, org).await?),
        None => None,
    };
    let now = state.now();
    let user_id = match token {
        None => {
            let created = create_owner_in(
                &mut tx,
                &state.keys,
                &email,
                &hash,
                state.config.license_seats,
                Some(caller.origin()),
                now,
            )
            .await;
            let user_id = match created {
                // A concurrent signup took the address first: answered as any registered one.
                Err(e) if e.for_field("email").as_deref() == Some(EMAIL_TAKEN) => {
                    drop(tx);
                    let user = db::users::find_by_email(state.db.pool(), &email)
                        .await
                        .or_internal("checking an email")?
                        .ok_or(e)?;
                    tell_already_registered(state, caller, user.id, &email, old_session, pace)
                        .await?;
                    return Ok(SignedUp::AlreadyRegistered);
                }
                created => created?,
            };
            verification::queue_in(&mut tx, state, user_id, email.as_str(), origin).await?;
            user_id
        }
        Some(token) => {
            let user_id = insert_user(&mut tx, &email, &hash, now).await?;
            new_api_token(&mut tx, &state.keys, user_id, now).await?;
            let role = join_in(&mut tx, &mut lock, state, user_id, &email, token, caller).await?;
            // Only an email invitation proves the address.
            if role == Role::NotActivated {
                verification::queue_in(&mut tx, state, user_id, email.as_str(), origin).await?;
            }
            user_id
        }
    };
    if !name.is_empty() {
        db::users::set_name(&mut *tx, user_id, name.first.as_str(), name.last.as_str())
            .await
            .or_internal("saving a name")?;
    }
    end_old_session(&mut tx, old_session).await?;
    let session = create_session(state, &mut tx, user_id, caller.origin()).await?;
    tx.commit().await.or_internal("committing signup")?;
    state.signup_pace.record(pace.elapsed());
    state.outbox_wake.notify_one();
    tracing::info!(user_id, client = %client, "signed up");
    Ok(SignedUp::New(NewSession { user_id, session }))
}

/// Ends the session the browser had before it signed up or in, inside `tx`.
async fn end_old_session(tx: &mut Tx, old_session: Option<&str>) -> Result<(), AppError> {
    if let Some(old) = old_session {
        db::sessions::delete(&mut **tx, &secrets::hash(old))
            .await
            .or_internal("ending the old session")?;
    }
    Ok(())
}

/// Someone signed up with the address of an existing account: the address is told where to sign
/// in (at most [`Limit::account_exists_mails`] an hour, and only when links may be mailed from
/// this request), and the browser's old session ends as for any signup. Returns when a new
/// signup whose database work began at `pace` typically would have.
async fn tell_already_registered(
    state: &AppState,
    caller: &Anyone,
    user_id: i64,
    email: &EmailAddress,
    old_session: Option<&str>,
    pace: std::time::Instant,
) -> Result<(), AppError> {
    // Counted before the transaction: on SQLite it holds the only writer.
    let mail_origin = match caller.origin().mail_origin() {
        None => {
            tracing::warn!(
                user_id,
                "no mail to an address someone signed up with again: {}",
                super::origin::NO_MAIL_ORIGIN
            );
            None
        }
        Some(origin) => {
            let limit = Limit::account_exists_mails();
            let counted =
                throttle::count(state.db.pool(), limit, &user_id.to_string(), 1, state.now())
                    .await?;
            if counted.is_err() {
                tracing::info!(
                    user_id,
                    "no mail to an address someone signed up with again: it had its share this hour"
                );
            }
            counted.is_ok().then_some(origin)
        }
    };
    let mut tx = state.db.begin().await.or_internal("starting signup")?;
    end_old_session(&mut tx, old_session).await?;
    if let Some(origin) = mail_origin {
        db::outbox::enqueue_to_user(
            &mut *tx,
            crate::server::mail::MessageKind::AccountExists,
            user_id,
            email.as_str(),
            origin,
            state.now(),
        )
        .await
        .or_internal("queueing a message")?;
    }
    tx.commit().await.or_internal("committing signup")?;
    state.outbox_wake.notify_one();
    state.signup_pace.wait_from(pace).await;
    Ok(())
}

/// Creates a user, their organization and their Owner membership inside `tx`, and starts the
/// organization's audit log with it: done by the new user from `origin`, or (without) by the
/// command line, at `now`. Returns the user id. (The new organization needs no lock: no other
/// transaction can see it before this one commits.)
pub async fn create_owner_in(
    tx: &mut Tx,
    keys: &Keys,
    email: &EmailAddress,
    password_hash: &str,
    seats: Option<i64>,
    origin: Option<&RequestOrigin>,
    now: i64,
) -> Result<i64, AppError> {
    let user_id = insert_user(tx, email, password_hash, now).await?;
    let org_id = db::organizations::insert(&mut **tx, email.as_str(), seats, user_id, now)
        .await
        .or_internal("creating an organization")?;
    let link_salt = secrets::random_bytes::<16>();
    db::organizations::create_invite_link(
        &mut **tx,
        org_id,
        &link_salt,
        &secrets::hash(&keys.invite_link(&link_salt)),
    )
    .await
    .or_internal("creating the invite link")?;
    db::memberships::insert(&mut **tx, org_id, user_id, Role::Owner, now)
        .await
        .or_internal("creating the Owner membership")?;
    new_api_token(tx, keys, user_id, now).await?;
    let target = Target::Organization {
        id: org_id,
        title: email.to_string(),
    };
    let details = json!({"title": email.as_str(), "seats": seats, "owner_id": user_id, "owner_email": email.as_str()});
    let event = match origin {
        Some(origin) => {
            Event::new(actor(user_id, email), Action::OrganizationCreated, target).from(origin)
        }
        None => Event::new(Actor::Cli, Action::OrganizationCreated, target),
    };
    let mut lock = Locked::created(org_id, email.to_string());
    audit::record(tx, &mut lock, event.details(details), now).await?;
    Ok(user_id)
}

/// The lock taken on the organization an invite token led to, before the transaction changed
/// anything. The token leads there still (it was read again inside the transaction); should it
/// not, it is no longer valid.
fn locked(lock: &mut Option<Locked>, organization_id: i64) -> Result<&mut Locked, AppError> {
    lock.as_mut()
        .filter(|l| l.id == organization_id)
        .ok_or_else(invite_token::invalid)
}

/// The member themselves, as the target of a change to their own account.
pub fn own(me: &impl auth::Identity) -> Target {
    Target::User {
        id: me.user_id(),
        email: me.email().to_owned(),
    }
}

fn actor(id: i64, email: &EmailAddress) -> Actor {
    Actor::User {
        id,
        email: email.to_string(),
    }
}

/// A new member joined through the invite link, as Pending.
fn joined_event(user_id: i64, email: &EmailAddress) -> Event {
    let target = Target::User {
        id: user_id,
        email: email.to_string(),
    };
    Event::new(actor(user_id, email), Action::MemberJoined, target)
        .details(json!({"role": Role::NotActivated.as_str()}))
}

/// A member accepted an email invitation and has its role.
fn accepted_event(
    user_id: i64,
    email: &EmailAddress,
    invitation: &db::invitations::InvitationRecord,
) -> Event {
    let target = Target::Invitation {
        id: invitation.id,
        email: invitation.email.clone(),
    };
    Event::new(actor(user_id, email), Action::InvitationAccepted, target)
        .details(json!({"role": invitation.role.as_str(), "user_id": user_id}))
}

async fn insert_user(
    tx: &mut Tx,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<i64, AppError> {
    match db::users::insert(&mut **tx, email, password_hash, now).await {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(AppError::invalid("email", EMAIL_TAKEN)),
        Err(e) => Err(super::error::internal("creating a user", e)),
    }
}

/// Checks the password ([`password::confirm`]) and starts a new session. Every mismatch reads the
/// same and costs the same time, whether or not the account exists. Failed attempts are counted
/// per email and per client address; over either limit the attempt is refused before any password
/// is checked.
pub async fn sign_in(
    state: &AppState,
    caller: &Anyone,
    email: &str,
    password: &str,
    old_session: Option<&str>,
    invite_token: Option<&str>,
) -> Result<NewSession, AppError> {
    let client = caller.origin().client.to_string();
    let pool = state.db.pool();
    let claimant = password::Claimant::Address(email);
    let Some(confirmed) = password::confirm(state, claimant, password, caller.origin()).await?
    else {
        return Err(AppError::Unauthenticated(LOGIN_MISMATCH.into()));
    };
    let user_id = confirmed.user_id;
    // The password matched an account's, so this is its address.
    let email = EmailAddress::parse(email)?;
    let principal = db::principals::by_user_id(pool, user_id)
        .await
        .or_internal("reading a membership")?;
    if principal
        .as_ref()
        .is_some_and(|p| p.role == Some(Role::Deactivated))
    {
        tracing::info!(client = %client, user_id, "refused a login: deactivated");
        return Err(Refusal::Deactivated.into());
    }
    let token = invite_token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(InviteToken::parse)
        .transpose()?;
    // The organization whose log records the sign-in: the one joined with a token, else theirs.
    let organization = match (&token, principal.and_then(|p| p.organization_id)) {
        (Some(_), Some(_)) => return Err(AppError::Conflict(ALREADY_IN_AN_ORGANIZATION.into())),
        (Some(token), None) => Some(match token.resolve(pool, state.now()).await? {
            Destination::Invitation(invitation) => invitation.organization_id,
            Destination::Organization { id, .. } => id,
        }),
        (None, theirs) => theirs,
    };
    let mut tx = state.db.begin().await.or_internal("starting sign-in")?;
    let mut lock = match organization {
        Some(org) => Some(audit::lock(&state.db, &mut tx, org).await?),
        None => None,
    };
    let now = state.now();
    if let Some(token) = token {
        join_in(&mut tx, &mut lock, state, user_id, &email, token, caller).await?;
    }
    end_old_session(&mut tx, old_session).await?;
    let session = create_session(state, &mut tx, user_id, caller.origin()).await?;
    if let Some(lock) = lock.as_mut() {
        let target = Target::User {
            id: user_id,
            email: email.to_string(),
        };
        let event = Event::new(actor(user_id, &email), Action::SignInSucceeded, target)
            .from(caller.origin());
        audit::record(&mut tx, lock, event, now).await?;
    }
    tx.commit().await.or_internal("committing sign-in")?;
    state.outbox_wake.notify_one();
    tracing::info!(client = %client, user_id, "logged in");
    Ok(NewSession { user_id, session })
}

/// An account that belongs to no organization joins the one its invite token leads to, inside
/// `tx` (which holds that organization's `lock`): as Pending through the invite link, with the
/// invited role through an email invitation to its own address (which proves the address). The
/// one join of signing up with a token and of logging in with one. Returns the role it got.
async fn join_in(
    tx: &mut Tx,
    lock: &mut Option<Locked>,
    state: &AppState,
    user_id: i64,
    email: &EmailAddress,
    token: InviteToken,
    caller: &Anyone,
) -> Result<Role, AppError> {
    if db::memberships::organization_of(&mut **tx, user_id)
        .await
        .or_internal("reading a membership")?
        .is_some()
    {
        return Err(AppError::Conflict(ALREADY_IN_AN_ORGANIZATION.into()));
    }
    let now = state.now();
    let (organization_id, role, event) = match token {
        InviteToken::Link(token_hash) => {
            let org = db::organizations::find_by_invite_hash(&mut **tx, &token_hash)
                .await
                .or_internal("finding an invite link")?
                .ok_or_else(invite_token::invalid)?;
            (org.id, Role::NotActivated, joined_event(user_id, email))
        }
        InviteToken::Invitation(token_hash) => {
            let invitation = db::invitations::accept(&mut **tx, &token_hash, now)
                .await
                .or_internal("accepting an invitation")?
                .ok_or_else(invite_token::invalid)?;
            if invitation.email != email.as_str() {
                return Err(AppError::invalid("email", OTHER_ADDRESS));
            }
            db::outbox::cancel_unsent(&mut **tx, invitation.id)
                .await
                .or_internal("cancelling a message")?;
            db::users::mark_verified(&mut **tx, user_id, now)
                .await
                .or_internal("recording a verified address")?;
            let event = accepted_event(user_id, email, &invitation);
            (invitation.organization_id, invitation.role, event)
        }
    };
    let lock = locked(lock, organization_id)?;
    if role == Role::NotActivated {
        // Before the membership refers to the organization (see `sign_up`).
        notices::pending_joined_in(tx, lock, state, caller.origin(), now).await?;
    }
    match db::memberships::insert(&mut **tx, organization_id, user_id, role, now).await {
        Ok(_) => {
            audit::record(tx, lock, event.from(caller.origin()), now).await?;
            tracing::info!(user_id, organization_id, role = %role, "joined an organization");
            Ok(role)
        }
        Err(e) if is_unique_violation(&e) => {
            Err(AppError::Conflict(ALREADY_IN_AN_ORGANIZATION.into()))
        }
        Err(e) => Err(super::error::internal("joining an organization", e)),
    }
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
    let (mut tx, mut organization) = audit::begin_for_user(&state.db, account.user_id()).await?;
    db::sessions::delete(&mut *tx, &secrets::hash(session))
        .await
        .or_internal("ending a session")?;
    if let Some(lock) = organization.as_mut() {
        let actor = Actor::User {
            id: account.user_id(),
            email: account.email().to_owned(),
        };
        let target = Target::User {
            id: account.user_id(),
            email: account.email().to_owned(),
        };
        let event = Event::new(actor, Action::SignedOut, target).from(account.origin());
        audit::record(&mut tx, lock, event, state.now()).await?;
    }
    tx.commit().await.or_internal("ending a session")?;
    tracing::info!(client = %account.origin().client, user_id = account.user_id(), "logged out");
    Ok(())
}

/// Starts a session for `user_id`, recording where it was started from (shown on the Account
/// page). Returns its secret, for the cookie.
pub async fn create_session(
    state: &AppState,
    tx: &mut Tx,
    user_id: i64,
    origin: &RequestOrigin,
) -> Result<String, AppError> {
    let session = secrets::generate(secrets::SESSION_PREFIX);
    let now = state.now();
    db::sessions::insert(
        &mut **tx,
        &secrets::hash(&session),
        user_id,
        now,
        now + auth::seconds(state.config.session_max_age),
        &db::sessions::Device {
            client_address: &origin.client.to_string(),
            user_agent: &origin.user_agent,
        },
    )
    .await
    .or_internal("creating a session")?;
    Ok(session)
}

/// The signed-in user as the app shell needs them, or `None`.
pub async fn current_user(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(me) = visitor.account() else {
        return Ok(None);
    };
    let (title, pending_members) = match me.organization_id() {
        Some(organization) => {
            let title = db::organizations::title(state.db.pool(), organization)
                .await
                .or_internal("reading the organization")?
                .unwrap_or_default();
            let admin = me.role().is_some_and(|r| r.allows(Need::Admin).is_ok());
            let pending = if admin {
                db::organizations::pending_members(state.db.pool(), organization)
                    .await
                    .or_internal("counting pending members")?
            } else {
                0
            };
            (title, pending)
        }
        None => (String::new(), 0),
    };
    Ok(Some(CurrentUser {
        id: me.user_id(),
        email: me.email().to_owned(),
        role: me.role(),
        organization_id: me.organization_id(),
        organization_title: title,
        pending_members,
        email_verified: me.email_verified(),
    }))
}

/// The caller's current API token.
pub async fn api_token(state: &AppState, me: &Active) -> Result<String, AppError> {
    match db::api_tokens::find_salt(state.db.pool(), me.user_id())
        .await
        .or_internal("reading a token")?
    {
        Some(salt) => Ok(state.keys.api_token(me.user_id(), &salt)),
        None => reset_api_token(state, me).await,
    }
}

/// Replaces the caller's API token; the old one stops working at once.
pub async fn reset_api_token(state: &AppState, me: &Active) -> Result<String, AppError> {
    let (mut tx, mut organization) = audit::begin_for_user(&state.db, me.user_id()).await?;
    let now = state.now();
    let token = new_api_token(&mut tx, &state.keys, me.user_id(), now).await?;
    if let Some(lock) = organization.as_mut() {
        let event = Event::by(me, Action::ApiTokenReset, own(me));
        audit::record(&mut tx, lock, event, now).await?;
    }
    tx.commit().await.or_internal("resetting a token")?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), "reset the API token");
    Ok(token)
}

/// Ends every session of `user_id` and replaces their API token (made at `now`), inside `tx`:
/// nothing they held works any more (deactivation, a password reset; restoring them later revives
/// none of it).
pub async fn revoke_credentials(
    tx: &mut Tx,
    keys: &Keys,
    user_id: i64,
    now: i64,
) -> Result<(), AppError> {
    db::sessions::delete_all_of(&mut **tx, user_id)
        .await
        .or_internal("ending sessions")?;
    replace_api_token(tx, keys, user_id, now).await
}

/// Replaces the API token of `user_id` inside `tx`, made at `now`: the old one stops working when
/// it commits.
pub async fn replace_api_token(
    tx: &mut Tx,
    keys: &Keys,
    user_id: i64,
    now: i64,
) -> Result<(), AppError> {
    new_api_token(tx, keys, user_id, now).await.map(drop)
}

async fn new_api_token(
    conn: &mut sqlx::AnyConnection,
    keys: &Keys,
    user_id: i64,
    now: i64,
) -> Result<String, AppError> {
    let salt = secrets::random_bytes::<16>();
    let token = keys.api_token(user_id, &salt);
    db::api_tokens::upsert(&mut *conn, user_id, &secrets::hash(&token), &salt, now)
        .await
        .or_internal("storing a token")?;
    Ok(token)
}
