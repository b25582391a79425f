//! Signing up: the credential of an account made in the same request. Without a token it makes
//! an organization too ([`create_owner_in`], which the command line's `create-owner` uses as
//! well); with an invite token it joins one ([`invitation::join_in`]).

use serde_json::json;

use super::{
    api_tokens, common_passwords, invitation,
    keys::Keys,
    password,
    proven::Proven,
    secrets, sessions,
    signin::{self, Next},
    verification, Anyone,
};
use crate::domain::{Action, AppError, EmailAddress, FullName, Password, Role, SignInMethod};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db::{self, Locked, Tx},
    error::{is_unique_violation, OrInternal},
    invite_token::{Destination, InviteToken},
    origin::RequestOrigin,
    throttle::{self, Limit},
    AppState,
};

pub const EMAIL_TAKEN: &str = "User with this email already exists";
pub const SIGNUP_DISABLED: &str =
    "Signing up without an invitation is turned off on this server. Ask an administrator of your organization for an invite link.";

/// What a signup came to. Both are answered alike, so that a signup does not tell whether an
/// address has an account.
pub enum SignedUp {
    /// A new account, and what comes next for it (its session).
    New(Next),
    /// The address already had an account: nothing was made, and the address was mailed where to
    /// sign in or reset its password.
    AlreadyRegistered,
}

/// Signs up. Without a token: a user, an organization titled with the email, and the user as
/// its Owner. With the organization's invite link: a Pending member of it. With an email
/// invitation: a member with the invited role, for the invited address only, once. Each in one
/// transaction; a bad token creates nothing. `old_session` (the browser's, if it was signed in)
/// ends. Without a token, an address that already has an account is answered in the same time
/// as a new one, and mailed instead ([`SignedUp::AlreadyRegistered`]). A new account proceeds
/// to its first session ([`signin::proceed`]).
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
    common_passwords::check(&password, &email)?;
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
                    return Err(AppError::invalid("email", invitation::OTHER_ADDRESS));
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
        return Err(AppError::invalid("email", invitation::LOG_IN_TO_ACCEPT));
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
    // Joining: the organization's log records it, under its lock (taken before any change).
    let mut change = Change::to(state, joining).await?;
    let now = change.now();
    let (user_id, method) = match token {
        None => {
            let created = create_owner_in(
                &mut change,
                &state.keys,
                &email,
                &hash,
                state.config.license_seats,
                Some(caller.origin()),
            )
            .await;
            let user_id = match created {
                // A concurrent signup took the address first: answered as any registered one.
                Err(e) if e.for_field("email").as_deref() == Some(EMAIL_TAKEN) => {
                    drop(change);
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
            verification::queue_in(&mut change, state, user_id, email.as_str(), origin).await?;
            (user_id, SignInMethod::Signup)
        }
        Some(token) => {
            let user_id = insert_user(change.tx(), &email, &hash, now).await?;
            api_tokens::replace(change.tx(), &state.keys, user_id, now).await?;
            let role =
                invitation::join_in(&mut change, state, user_id, &email, token, caller.origin())
                    .await?;
            // Only an email invitation proves the address.
            if role == Role::NotActivated {
                verification::queue_in(&mut change, state, user_id, email.as_str(), origin).await?;
            }
            (user_id, SignInMethod::Invitation)
        }
    };
    if !name.is_empty() {
        db::users::set_name(
            &mut **change.tx(),
            user_id,
            name.first.as_str(),
            name.last.as_str(),
        )
        .await
        .or_internal("saving a name")?;
    }
    let proven = Proven::new(user_id, method);
    let next = signin::proceed(state, &mut change, proven, caller.origin(), old_session).await?;
    change.commit().await?;
    state.signup_pace.record(pace.elapsed());
    tracing::info!(user_id, client = %client, "signed up");
    Ok(SignedUp::New(next))
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
                crate::server::origin::NO_MAIL_ORIGIN
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
    let mut change = Change::to(state, None).await?;
    sessions::end_old(change.tx(), old_session).await?;
    if let Some(origin) = mail_origin {
        let kind = db::outbox::MessageKind::AccountExists;
        let message = db::outbox::NewMessage {
            user_id: Some(user_id),
            ..db::outbox::NewMessage::new(kind, email.as_str(), origin, change.now())
        };
        change.queue(&message).await?;
    }
    change.commit().await?;
    state.signup_pace.wait_from(pace).await;
    Ok(())
}

/// Creates a user, their organization and their Owner membership in `change`, and starts the
/// organization's audit log with it: done by the new user from `origin`, or (without) by the
/// command line. Returns the user id. (The new organization needs no lock: no other transaction
/// can see it before this one commits.)
pub async fn create_owner_in(
    change: &mut Change<'_>,
    keys: &Keys,
    email: &EmailAddress,
    password_hash: &str,
    seats: Option<i64>,
    origin: Option<&RequestOrigin>,
) -> Result<i64, AppError> {
    let now = change.now();
    let tx = change.tx();
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
    api_tokens::replace(tx, keys, user_id, now).await?;
    let target = Target::Organization {
        id: org_id,
        title: email.to_string(),
    };
    let details = json!({"title": email.as_str(), "seats": seats, "owner_id": user_id, "owner_email": email.as_str()});
    let event = match origin {
        Some(origin) => Event::new(
            Actor::user(user_id, email),
            Action::OrganizationCreated,
            target,
        )
        .from(origin),
        None => Event::new(Actor::Cli, Action::OrganizationCreated, target),
    };
    change.created(Locked::created(org_id, email.to_string()));
    change.record(event.details(details));
    Ok(user_id)
}

/// Inserts a user inside `tx`; an address that has an account is [`EMAIL_TAKEN`].
pub(super) async fn insert_user(
    tx: &mut Tx,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<i64, AppError> {
    match db::users::insert(&mut **tx, email, password_hash, now).await {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(AppError::invalid("email", EMAIL_TAKEN)),
        Err(e) => Err(crate::server::error::internal("creating a user", e)),
    }
}
