//! Proving an email address (SPEC section 3). Signing up without a link, or through the invite
//! link, mails a one-time `ghv_` link, valid for a day. Opening it shows whose account it is and
//! changes nothing (mail scanners open links); "Confirm my address" on that page, a POST, marks
//! the address verified, and "This wasn't me" disowns the account ([`disown`]). An email
//! invitation proves the address by itself. Unverified accounts use the app as usual, with a
//! banner that can send the link again (a limited number of times).

use super::{account_links, keys::EMAIL_VERIFICATION_PREFIX, Anyone, SignedIn};
use crate::domain::{
    Action, AppError, EmailVerified, Role, VerificationDisowned, VerificationLink,
};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db::{self, account_tokens::Purpose},
    error::OrInternal,
    origin::{RequestOrigin, NO_MAIL_ORIGIN},
    throttle::{self, Limit},
    AppState,
};

pub const INVALID_LINK: &str = "This verification link is invalid, has expired or was already used. Sign in and send yourself a new one from the banner.";
pub const ALREADY_VERIFIED: &str = "Your email address is already verified.";

/// Inside signup's transaction: the verification link of a new account and its mail. When no link
/// may be mailed from this request (see [`RequestOrigin::mail_origin`]), none is: the account is
/// made all the same, and the log says why no mail went.
pub async fn queue_in(
    change: &mut Change<'_>,
    state: &AppState,
    user_id: i64,
    email: &str,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let Some(origin) = origin.mail_origin() else {
        tracing::warn!(
            user_id,
            "no verification mail for a new account: {NO_MAIL_ORIGIN}"
        );
        return Ok(());
    };
    account_links::issue_in(
        change,
        state,
        Purpose::EmailVerification,
        user_id,
        email,
        origin,
    )
    .await
}

/// Sends the signed-in user a new verification link, ending the earlier one. Limited per account
/// and per client address.
pub async fn resend(state: &AppState, me: &SignedIn) -> Result<(), AppError> {
    let pool = state.db.pool();
    if me.email_verified() {
        return Err(AppError::Conflict(ALREADY_VERIFIED.into()));
    }
    if let Err(wait) = throttle::count(
        pool,
        Limit::verification_mails_per_account(),
        &me.user_id().to_string(),
        1,
        state.now(),
    )
    .await?
    {
        return Err(wait.refusal("verification emails for this account"));
    }
    let client = me.origin().client.to_string();
    let per_client = Limit::signups_per_client(&state.config);
    if let Err(wait) = throttle::count(pool, per_client, &client, 1, state.now()).await? {
        return Err(wait.refusal("emails asked for from your network"));
    }
    me.origin().for_mail()?;
    let mut change = Change::to_account(state, me.user_id()).await?;
    change.record(Event::by(
        me,
        Action::EmailVerificationSent,
        Target::own(me),
    ));
    queue_in(&mut change, state, me.user_id(), me.email(), me.origin()).await?;
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), client = %client, "verification email sent again");
    Ok(())
}

/// A verification link's token: the hash it is stored by and its row (used or not), or "invalid
/// link" when it has not the form of one or names none.
async fn find_link(
    state: &AppState,
    token: &str,
) -> Result<([u8; 32], db::account_tokens::AccountTokenRecord), AppError> {
    let invalid = || AppError::invalid("token", INVALID_LINK);
    let token_hash =
        account_links::token_hash(token, EMAIL_VERIFICATION_PREFIX).ok_or_else(invalid)?;
    let record =
        db::account_tokens::find_by_hash(state.db.pool(), Purpose::EmailVerification, &token_hash)
            .await
            .or_internal("finding a verification link")?
            .ok_or_else(invalid)?;
    Ok((token_hash, record))
}

/// What a verification link's page shows: whose account it is, and whether the link verified it
/// already. Reads only: opening the page (or a scanner prefetching it) uses nothing.
pub async fn inspect(state: &AppState, token: &str) -> Result<VerificationLink, AppError> {
    let invalid = || AppError::invalid("token", INVALID_LINK);
    let (_, record) = find_link(state, token).await?;
    let pool = state.db.pool();
    let verified = db::users::verified_at(pool, record.user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid)?
        .is_some();
    // Used: it verified the address (a reload), or it was disowned (dead). Unused: alive until
    // it expires; a newer link deletes it.
    let already = match record.used_at {
        Some(_) if verified => true,
        Some(_) => return Err(invalid()),
        None if record.expires_at <= state.now() => return Err(invalid()),
        None => false,
    };
    let email = db::users::email_of(pool, record.user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid)?;
    let organization = match db::memberships::organization_of(pool, record.user_id)
        .await
        .or_internal("reading a membership")?
    {
        Some(id) => db::organizations::title(pool, id)
            .await
            .or_internal("reading an organization")?,
        None => None,
    };
    Ok(VerificationLink {
        email,
        organization,
        already,
    })
}

/// Uses a verification link: the link is used up and the account's address is verified. A link
/// opened again after it verified its address (a reload) is told so and does nothing.
pub async fn confirm(
    state: &AppState,
    caller: &Anyone,
    token: &str,
) -> Result<EmailVerified, AppError> {
    let invalid = || AppError::invalid("token", INVALID_LINK);
    // The account is known only from its link: found first, so that its organization's log
    // can be locked before anything changes.
    let (token_hash, record) = find_link(state, token).await?;
    let mut change = Change::to_account(state, record.user_id).await?;
    let now = change.now();
    let tx = change.tx();
    let used =
        db::account_tokens::use_once(&mut **tx, Purpose::EmailVerification, &token_hash, now)
            .await
            .or_internal("using a verification link")?;
    // Not usable: used to verify before (a reload), or dead (expired, replaced, or used up by
    // "This wasn't me", which leaves the address unverified).
    let already = match used {
        Some(_) => false,
        None => {
            db::account_tokens::find_by_hash(&mut **tx, Purpose::EmailVerification, &token_hash)
                .await
                .or_internal("finding a verification link")?
                .is_some_and(|t| t.used_at.is_some())
                && db::users::verified_at(&mut **tx, record.user_id)
                    .await
                    .or_internal("reading an account")?
                    .flatten()
                    .is_some()
        }
    };
    if used.is_none() && !already {
        return Err(invalid());
    }
    let user_id = record.user_id;
    let email = db::users::email_of(&mut **tx, user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid)?;
    if !already {
        db::users::mark_verified(&mut **tx, user_id, now)
            .await
            .or_internal("recording a verified address")?;
        let target = Target::User {
            id: user_id,
            email: email.clone(),
        };
        let actor = Actor::User {
            id: user_id,
            email: email.clone(),
        };
        change.record(Event::new(actor, Action::EmailVerified, target).from(caller.origin()));
    }
    change.commit().await?;
    if !already {
        tracing::info!(user_id, "email address verified");
    }
    Ok(EmailVerified { email, already })
}

/// "This wasn't me": whoever reads the address's mail says they did not make the account that
/// the link is for. The link is used up either way (it can no longer verify anything), and:
///
/// - an account that is Pending in its organization, or in none, is deleted, with its sessions,
///   API token and links: it has no role, no work, and nothing in it the mailbox's owner would
///   lose; they can then sign up with their own address;
/// - an account with a role (a member, an Administrator, the Owner) is kept, since deleting it
///   would take work and seats from the organization on the word of a link's holder alone: its
///   sessions end, its address stays unverified (the members table shows it), and the
///   organization's activity log, which its Owner and Administrators read, records the report
///   for them to decide (deactivating the member, for one). An account that created an
///   organization is kept for the same reason.
///
/// The clicker is not signed in: the link is their only proof, as it is for confirming.
pub async fn disown(
    state: &AppState,
    caller: &Anyone,
    token: &str,
) -> Result<VerificationDisowned, AppError> {
    let invalid = || AppError::invalid("token", INVALID_LINK);
    let (token_hash, record) = find_link(state, token).await?;
    let user_id = record.user_id;
    let mut change = Change::to_account(state, user_id).await?;
    let now = change.now();
    let organization = change.organization().map(|lock| lock.id);
    let tx = change.tx();
    // Used (to verify, or disowned before), expired or replaced: nothing to disown.
    db::account_tokens::use_once(&mut **tx, Purpose::EmailVerification, &token_hash, now)
        .await
        .or_internal("using a verification link")?
        .ok_or_else(invalid)?;
    let email = db::users::email_of(&mut **tx, user_id)
        .await
        .or_internal("reading an account")?
        .ok_or_else(invalid)?;
    let role = match organization {
        Some(organization) => db::memberships::role_of(&mut **tx, organization, user_id)
            .await
            .or_internal("reading a membership")?,
        None => None,
    };
    let deleted = matches!(role, None | Some(Role::NotActivated))
        && db::users::delete_account(&mut **tx, user_id)
            .await
            .or_internal("deleting an account")?;
    if !deleted {
        db::sessions::delete_all_of(&mut **tx, user_id)
            .await
            .or_internal("ending sessions")?;
    }
    let target = Target::User {
        id: user_id,
        email: email.clone(),
    };
    let event = Event::new(Actor::System, Action::EmailVerificationDisowned, target)
        .from(caller.origin())
        .details(serde_json::json!({ "deleted": deleted }));
    change.record(event);
    change.commit().await?;
    tracing::warn!(
        user_id,
        deleted,
        "an account was disowned from its verification link"
    );
    Ok(VerificationDisowned { email, deleted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_ghv_token_is_a_verification_token() {
        assert!(account_links::token_hash(" ghv_abc\n", EMAIL_VERIFICATION_PREFIX).is_some());
        for raw in ["", "ghv_", "ghr_abc", "ghi_abc", "GHV_abc"] {
            assert!(
                account_links::token_hash(raw, EMAIL_VERIFICATION_PREFIX).is_none(),
                "{raw:?}"
            );
        }
    }
}
