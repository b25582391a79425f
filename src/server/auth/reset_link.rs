//! Forgotten passwords (SPEC section 3): a one-time `ghr_` link by mail, valid for an hour, dead
//! once used, once a newer one is asked for, or once the password changes. Setting the new
//! password ends every session of the account, replaces its API token, and starts a new session:
//! the link is the credential of that session.

use super::{
    account_links, api_tokens,
    keys::PASSWORD_RESET_PREFIX,
    password,
    proven::Proven,
    signin::{self, Next},
    Admin, Anyone,
};
use crate::domain::{Action, AppError, EmailAddress, Password, Role, SignInMethod};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db::{
        self,
        account_tokens::{AccountTokenRecord, Purpose},
        Tx,
    },
    error::OrInternal,
    throttle::{self, Limit},
    AppState,
};
use serde_json::json;

/// What a reset request is answered, whether or not the address has an account.
pub const REQUESTED: &str = "If an account exists for that address, we sent a link.";
pub const INVALID_LINK: &str =
    "This password reset link is invalid, has expired or was already used. Request a new one.";

/// A parsed `ghr_` token: only the hash the database knows it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetToken([u8; 32]);

impl ResetToken {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        account_links::token_hash(raw, PASSWORD_RESET_PREFIX)
            .map(Self)
            .ok_or_else(invalid_link)
    }

    /// The token's row, if it can still be used at `now`.
    async fn live<'e>(
        &self,
        ex: impl sqlx::AnyExecutor<'e>,
        now: i64,
    ) -> Result<AccountTokenRecord, AppError> {
        db::account_tokens::find_by_hash(ex, Purpose::PasswordReset, &self.0)
            .await
            .or_internal("finding a password reset")?
            .filter(|t| t.is_live(now))
            .ok_or_else(invalid_link)
    }
}

pub fn invalid_link() -> AppError {
    AppError::invalid("token", INVALID_LINK)
}

/// Counts one reset mail asked for from `client` against the limit its signups share; past it,
/// the refusal says when to try again.
async fn count_request_from(state: &AppState, client: &str) -> Result<(), AppError> {
    let limit = Limit::signups_per_client(&state.config);
    match throttle::count(state.db.pool(), limit, client, 1, state.now()).await? {
        Ok(_) => Ok(()),
        Err(wait) => Err(wait.refusal("password reset requests from your network")),
    }
}

/// Asks for a reset link for `email`. Every address, known, unknown or malformed, gets the same
/// answer in the same time: past the per-address limit, the answer is given before the account
/// is even looked up, and the mail (for an account only) is queued in the background.
pub async fn request(state: &AppState, caller: &Anyone, email: &str) -> Result<(), AppError> {
    let client = caller.origin().client.to_string();
    if let Err(refused) = count_request_from(state, &client).await {
        tracing::info!(client = %client, "refused a password reset request: too many from this address");
        return Err(refused);
    }
    let Ok(email) = EmailAddress::parse(email) else {
        tracing::info!(client = %client, "password reset requested for something that is not an address");
        return Ok(());
    };
    // Whether a link may be mailed from this request does not depend on the address.
    let Ok(link_origin) = caller.origin().for_mail().map(str::to_owned) else {
        return Ok(());
    };
    let state = state.clone();
    let origin = caller.origin().clone();
    tokio::spawn(async move {
        let found = match db::users::find_by_email(state.db.pool(), &email).await {
            Ok(Some(user)) => can_reset(&state, user.id)
                .await
                .map(|ok| ok.then_some(user)),
            Ok(None) => Ok(None),
            Err(e) => Err(crate::server::error::internal("finding a user", e)),
        };
        let result = match found {
            Ok(Some(user)) => {
                // Nobody proved who asked: the log names the server, and where the request came from.
                let target = Target::User {
                    id: user.id,
                    email: email.to_string(),
                };
                let event =
                    Event::new(Actor::System, Action::PasswordResetRequested, target).from(&origin);
                queue(&state, user.id, email.as_str(), &link_origin, event, None)
                    .await
                    .map(|queued| Some((user.id, queued)))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match result {
            Ok(Some((user_id, Queued::Sent))) => {
                tracing::info!(user_id, client = %client, "password reset requested")
            }
            Ok(Some((user_id, Queued::HeldBack(_)))) => {
                tracing::info!(user_id, client = %client, "password reset requested again too soon: no new mail")
            }
            Ok(None) => {
                tracing::info!(client = %client, "password reset requested for an address without an account, or a deactivated one")
            }
            Err(e) => {
                tracing::warn!(client = %client, error = %e, "a password reset request failed")
            }
        }
    });
    Ok(())
}

/// An Owner or Administrator sends a member of their organization the reset mail. Nobody but the
/// Owner sends it to the Owner; a Deactivated member cannot sign in, so gets none.
pub async fn send_to_member(state: &AppState, me: &Admin, user_id: i64) -> Result<(), AppError> {
    let role = db::memberships::role_of(state.db.pool(), me.organization_id(), user_id)
        .await
        .or_internal("reading a role")?
        .ok_or_else(|| {
            AppError::NotFound("There is no such member in this organization.".into())
        })?;
    if role == Role::Owner && user_id != me.user_id() {
        return Err(AppError::Forbidden(
            "Only the Owner can send a password reset to the Owner.".into(),
        ));
    }
    if role == Role::Deactivated {
        return Err(AppError::Conflict(
            "This member is deactivated and cannot sign in; restore their role first.".into(),
        ));
    }
    if crate::server::sso::settings::sso_required_for(
        state.db.pool(),
        me.organization_id(),
        Some(role),
    )
    .await?
    {
        return Err(AppError::Conflict(
            "This organization requires single sign-on, so its members have no password to reset: they sign in through the identity provider.".into(),
        ));
    }
    let client = me.origin().client.to_string();
    count_request_from(state, &client).await?;
    let email = db::users::email_of(state.db.pool(), user_id)
        .await
        .or_internal("reading an email")?
        .ok_or_else(|| {
            AppError::NotFound("There is no such member in this organization.".into())
        })?;
    let target = Target::User {
        id: user_id,
        email: email.clone(),
    };
    let event = Event::by(me, Action::PasswordResetRequested, target);
    if let Queued::HeldBack(wait) = queue(
        state,
        user_id,
        &email,
        me.origin().for_mail()?,
        event,
        Some(me),
    )
    .await?
    {
        return Err(wait.refusal("password reset mails to this member"));
    }
    tracing::info!(user_id, by = me.user_id(), client = %client, "password reset requested by an administrator");
    Ok(())
}

/// Whether a reset of the account may be asked for: not when it is Deactivated (it cannot sign
/// in; asking is answered as for an unknown address).
async fn can_reset(state: &AppState, user_id: i64) -> Result<bool, AppError> {
    let principal = db::principals::by_user_id(state.db.pool(), user_id)
        .await
        .or_internal("reading a membership")?;
    let Some(principal) = principal else {
        return Ok(true);
    };
    if principal.role == Some(Role::Deactivated) {
        return Ok(false);
    }
    // A member who must sign in through single sign-on has no password to reset.
    match principal.organization_id {
        Some(organization) => Ok(!crate::server::sso::settings::sso_required_for(
            state.db.pool(),
            organization,
            principal.role,
        )
        .await?),
        None => Ok(true),
    }
}

/// What became of a reset mail.
enum Queued {
    Sent,
    /// Not sent: a live link went less than the resend cooldown ago, or the account had
    /// its [`Limit::reset_mails_per_account`] this hour. Its link stays as it was.
    HeldBack(throttle::Wait),
}

/// Makes a new reset token for `user_id` (ending any earlier one) and queues its mail, in one
/// transaction, which writes `event` to the log of the account's organization (if it has one).
/// The account's row is held meanwhile, so that concurrent requests are decided one at a time:
/// a live link is not replaced within the cooldown, and at most a few mails go out an hour.
/// Sent `by` an administrator: only while the account is still in their organization and their
/// role, read under its lock, still allows it.
async fn queue(
    state: &AppState,
    user_id: i64,
    email: &str,
    origin: &str,
    event: Event,
    by: Option<&Admin>,
) -> Result<Queued, AppError> {
    let mut change = Change::to_account(state, user_id).await?;
    let now = change.now();
    if let Some(me) = by {
        if change.organization().map(|l| l.id) != Some(me.organization_id()) {
            return Err(AppError::NotFound(
                "There is no such member in this organization.".into(),
            ));
        }
        me.recheck(change.tx()).await?;
    }
    if !db::users::lock(&mut **change.tx(), user_id)
        .await
        .or_internal("locking an account")?
    {
        return Err(AppError::NotFound("There is no such account.".into()));
    }
    let cooldown = crate::server::clock::seconds(state.config.resend_cooldown);
    if let Some(sent_at) = db::account_tokens::newest_live_created_at(
        &mut **change.tx(),
        user_id,
        Purpose::PasswordReset,
        now,
    )
    .await
    .or_internal("reading password resets")?
    .filter(|&sent_at| sent_at + cooldown > now)
    {
        let seconds = (sent_at + cooldown - now).max(1).unsigned_abs();
        return Ok(Queued::HeldBack(throttle::Wait { seconds }));
    }
    let per_hour = Limit::reset_mails_per_account();
    let subject = user_id.to_string();
    let (left, wait) = throttle::remaining(&mut **change.tx(), per_hour, &subject, now).await?;
    if left == 0 {
        return Ok(Queued::HeldBack(wait));
    }
    throttle::record(&mut **change.tx(), per_hour, &subject, 1, now).await?;
    change.record(event);
    account_links::issue_in(
        &mut change,
        state,
        Purpose::PasswordReset,
        user_id,
        email,
        origin,
    )
    .await?;
    change.commit().await?;
    Ok(Queued::Sent)
}

/// Sets a new password with a reset token: the token is used up, every session of the account
/// ends, its API token is replaced, and a new session starts (returned for the cookie).
pub async fn confirm(
    state: &AppState,
    caller: &Anyone,
    token: &str,
    new_password: &str,
) -> Result<Next, AppError> {
    let token = ResetToken::parse(token)?;
    let new_password = Password::parse(new_password)?;
    // A dead link answers at once, before the slow hash; it is used up atomically below.
    let record = token.live(state.db.pool(), state.now()).await?;
    refuse_weak(state, record.user_id, &new_password).await?;
    let hash = password::hash(&state.hashing, new_password).await?;
    let mut change = Change::to_account(state, record.user_id).await?;
    let now = change.now();
    let user_id =
        db::account_tokens::use_once(&mut **change.tx(), Purpose::PasswordReset, &token.0, now)
            .await
            .or_internal("using a password reset")?
            .ok_or_else(invalid_link)?;
    // Deactivated since the link was sent: no session for them (restoring them would revive it).
    if let Some(organization) = change.organization().map(|lock| lock.id) {
        let role = db::memberships::role_of(&mut **change.tx(), organization, user_id)
            .await
            .or_internal("reading a role")?;
        if role == Some(Role::Deactivated) {
            return Err(invalid_link());
        }
        if crate::server::sso::settings::sso_required_for(&mut **change.tx(), organization, role)
            .await?
        {
            return Err(AppError::Forbidden(
                crate::server::sso::settings::SSO_REQUIRED.into(),
            ));
        }
        let email = db::users::email_of(&mut **change.tx(), user_id)
            .await
            .or_internal("reading an account")?
            .unwrap_or_default();
        let actor = Actor::User {
            id: user_id,
            email: email.clone(),
        };
        let target = Target::User { id: user_id, email };
        let event = Event::new(actor, Action::PasswordResetCompleted, target)
            .from(caller.origin())
            .details(json!({"api_token_reset": true}));
        change.record(event);
    }
    store_password_in(change.tx(), user_id, &hash).await?;
    // Whoever held the account before its owner recovered it keeps nothing: no session, no token.
    api_tokens::revoke_credentials(change.tx(), &state.keys, user_id, now).await?;
    let proven = Proven::new(user_id, SignInMethod::ResetLink);
    let next = signin::proceed(state, &mut change, proven, caller.origin(), None).await?;
    change.commit().await?;
    tracing::info!(user_id, client = %caller.origin().client, "password reset completed");
    Ok(next)
}

/// Refuses a common password, or the account's own address, as signup does.
async fn refuse_weak(state: &AppState, user_id: i64, password: &Password) -> Result<(), AppError> {
    let email = db::users::email_of(state.db.pool(), user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid_link)?;
    let email = EmailAddress::parse(&email)?;
    super::common_passwords::check(password, &email)
}

/// Stores a new password hash inside `tx` and ends every unused reset link of the account (a
/// link dies when the password changes). Sessions are the caller's to end.
pub async fn store_password_in(tx: &mut Tx, user_id: i64, hash: &str) -> Result<(), AppError> {
    if !db::users::set_password_hash(&mut **tx, user_id, hash)
        .await
        .or_internal("storing a password")?
    {
        return Err(AppError::NotFound("There is no such account.".into()));
    }
    db::account_tokens::delete_unused(&mut **tx, user_id, Purpose::PasswordReset)
        .await
        .or_internal("ending password resets")?;
    Ok(())
}

/// The server administrator's `gatehouse reset-password`: sets the password of the account with
/// `email`, ends its sessions and replaces its API token. Returns the user id.
pub async fn set_by_administrator(
    state: &AppState,
    email: &str,
    new_password: &str,
) -> Result<i64, AppError> {
    let email = EmailAddress::parse(email)?;
    let new_password = Password::parse(new_password)?;
    let user = db::users::find_by_email(state.db.pool(), &email)
        .await
        .or_internal("finding a user")?
        .ok_or_else(|| AppError::NotFound(format!("There is no account for {email}.")))?;
    super::common_passwords::check(&new_password, &email)?;
    let hash = password::hash(&state.hashing, new_password).await?;
    let mut change = Change::to_account(state, user.id).await?;
    let now = change.now();
    store_password_in(change.tx(), user.id, &hash).await?;
    let target = Target::User {
        id: user.id,
        email: email.to_string(),
    };
    let event = Event::new(Actor::Cli, Action::PasswordChanged, target)
        .details(json!({"api_token_reset": true}));
    change.record(event);
    api_tokens::revoke_credentials(change.tx(), &state.keys, user.id, now).await?;
    change.commit().await?;
    tracing::info!(user_id = user.id, "password set from the command line");
    Ok(user.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::auth::secrets;

    #[test]
    fn only_a_ghr_token_is_a_reset_token() {
        assert_eq!(
            ResetToken::parse(" ghr_abc\n").unwrap(),
            ResetToken(secrets::hash("ghr_abc"))
        );
        for raw in ["", "ghr_", "ghi_abc", "ght_abc", "abc", "GHR_abc"] {
            let err = ResetToken::parse(raw).unwrap_err();
            assert_eq!(
                err.for_field("token").as_deref(),
                Some(INVALID_LINK),
                "{raw:?}"
            );
        }
    }
}
