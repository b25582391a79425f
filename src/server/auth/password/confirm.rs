//! The one check of a password someone types: at sign-in, and where a signed-in account proves it
//! again (a new password, handing over ownership). Every check goes through the login limits, per
//! address and per client, so a password can be guessed nowhere faster than at sign-in, and every
//! wrong one is written in the log of the account's organization.

use serde_json::json;

use super::{busy, verify};
use crate::{
    domain::{Action, AppError, EmailAddress},
    server::{
        audit::{Actor, Event, Target},
        change::Change,
        db,
        error::OrInternal,
        origin::RequestOrigin,
        throttle::{self, Limit},
        AppState,
    },
};

/// Whose password an attempt is.
#[derive(Clone, Copy, Debug)]
pub enum Claimant<'a> {
    /// Whoever has the account of an address, as typed at sign-in: it may be no address at all,
    /// or one no account has.
    Address(&'a str),
    /// A signed-in account.
    Account { user_id: i64, email: &'a str },
}

/// A password that matched: whose it is, and the hash it matched (a change replaces that hash
/// only if it is still the stored one).
#[derive(Debug)]
pub struct Confirmed {
    pub user_id: i64,
    pub hash: String,
}

/// Where the password an attempt is checked against is read.
enum StoredAt {
    /// The account with this address, if any.
    Address(EmailAddress),
    Account(i64),
}

/// Checks `attempt` against the claimant's password: `None` when it does not match. Past the
/// login limits (of the address and of the client) it is refused at once, 429 with the wait,
/// without checking. Each attempt counts as a failure until it matches, so that concurrent
/// guesses cannot slip past the limits while their passwords are being checked; a match takes it
/// back and clears the address's failures. A mismatch of an account is written in its
/// organization's log (`signin.failed`, and `signin.locked_out` when it used up the attempts)
/// after the answer, which takes the same time whether or not the address has an account.
pub async fn confirm(
    state: &AppState,
    claimant: Claimant<'_>,
    attempt: &str,
    origin: &RequestOrigin,
) -> Result<Option<Confirmed>, AppError> {
    let client = origin.client.to_string();
    let pool = state.db.pool();
    let per_client = Limit::login_failures_per_client(&state.config);
    let per_email = Limit::login_failures_per_email(&state.config);
    let locked_out = |wait: throttle::Wait, email: &str| {
        tracing::info!(client = %client, email, "refused a password: locked out");
        wait.refusal("failed attempts")
    };
    // A flood beyond what the hashers can take is told so at once, before any database work.
    if !state.hashing.has_room() {
        return Err(busy());
    }
    let from_client = match throttle::count(pool, per_client, &client, 1, state.now()).await? {
        Ok(counted) => counted,
        Err(wait) => return Err(locked_out(wait, "")),
    };
    // The address the attempt counts against, and where its account's password is read.
    let (email, stored_at) = match claimant {
        Claimant::Address(typed) => match EmailAddress::parse(typed) {
            Ok(address) => (address.as_str().to_owned(), StoredAt::Address(address)),
            Err(_) => {
                tracing::info!(client = %client, "wrong password: not an email address");
                return Ok(None);
            }
        },
        Claimant::Account { user_id, email } => (email.to_owned(), StoredAt::Account(user_id)),
    };
    let for_email = match throttle::count(pool, per_email, &email, 1, state.now()).await? {
        Ok(counted) => counted,
        Err(wait) => {
            from_client.take_back(pool).await?;
            return Err(locked_out(wait, &email));
        }
    };
    let stored = match stored_at {
        StoredAt::Address(address) => db::users::find_by_email(pool, &address)
            .await
            .or_internal("finding a user")?
            .map(|u| (u.id, u.password_hash)),
        StoredAt::Account(user_id) => {
            match db::users::find_password_hash(pool, user_id)
                .await
                .or_internal("reading a password")?
            {
                Some(hash) => Some((user_id, hash)),
                None => {
                    // The account is gone: nothing was checked.
                    from_client.take_back(pool).await?;
                    for_email.take_back(pool).await?;
                    return Err(AppError::signed_out());
                }
            }
        }
    };
    let (user_id, hash) = stored.unzip();
    let verified = match verify(&state.hashing, hash.clone(), attempt.to_owned()).await {
        Ok(verified) => verified,
        Err(busy) => {
            // Not checked, so not a failure.
            from_client.take_back(pool).await?;
            for_email.take_back(pool).await?;
            return Err(busy);
        }
    };
    let (Some(user_id), Some(hash), true) = (user_id, hash, verified) else {
        tracing::info!(client = %client, user_id, "wrong password");
        // Whether this failure used up the address's attempts: read for every address alike.
        let (left, _) = throttle::remaining(pool, per_email, &email, state.now()).await?;
        if let Some(user_id) = user_id {
            // Answered first, recorded after: the answer takes the same time whether or not the
            // account exists (and has an organization whose log records it).
            let (state, origin) = (state.clone(), origin.clone());
            tokio::spawn(async move {
                let locked_out = left == 0;
                if let Err(e) = record_failure(&state, &origin, user_id, &email, locked_out).await {
                    tracing::warn!(user_id, error = %e, "a wrong password could not be recorded");
                }
            });
        }
        return Ok(None);
    };
    from_client.take_back(pool).await?;
    for_email.take_back(pool).await?;
    throttle::clear(pool, per_email, &email).await?;
    Ok(Some(Confirmed { user_id, hash }))
}

/// Records a wrong password for an account of an organization in its log, and, when that failure
/// used up the attempts the address may make (`locked_out`), that it is now locked out (once per
/// lockout: later attempts are refused before any password is checked).
pub(in crate::server::auth) async fn record_failure(
    state: &AppState,
    origin: &RequestOrigin,
    user_id: i64,
    email: &str,
    locked_out: bool,
) -> Result<(), AppError> {
    let mut change = Change::to_account(state, user_id).await?;
    if change.organization().is_none() {
        return Ok(());
    }
    let target = Target::User {
        id: user_id,
        email: email.to_owned(),
    };
    let mut events =
        vec![Event::new(Actor::System, Action::SignInFailed, target.clone()).from(origin)];
    if locked_out {
        let details = json!({
            "failures": state.config.login_max_failures,
            "minutes": state.config.login_lockout.as_secs().div_ceil(60),
        });
        events.push(
            Event::new(Actor::System, Action::SignInLockedOut, target)
                .from(origin)
                .details(details),
        );
    }
    for event in events {
        change.record(event);
    }
    change.commit().await
}
