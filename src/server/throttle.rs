//! The abuse limits of SPEC section 8: how many attempts of a kind one subject (an email, a client
//! address, an organization) may make in a sliding window. Attempts are counted in the database,
//! so every instance of the server shares the count.

use std::time::Duration;

use super::{config::Config, db, error::OrInternal};
use crate::domain::AppError;

/// A limit: at most `max` attempts (by weight) of one kind per subject within `window`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    bucket: &'static str,
    max: i64,
    window: Duration,
}

impl Limit {
    /// Failed logins for one email.
    pub fn login_failures_per_email(config: &Config) -> Self {
        Self {
            bucket: "login.email",
            max: config.login_max_failures,
            window: config.login_lockout,
        }
    }

    /// Failed logins from one client address.
    pub fn login_failures_per_client(config: &Config) -> Self {
        Self {
            bucket: "login.client",
            max: config.login_max_failures_per_client,
            window: config.login_lockout,
        }
    }

    /// Signups (and, with them, password-reset requests and verification resends) from one
    /// client address.
    pub fn signups_per_client(config: &Config) -> Self {
        Self {
            bucket: "signup.client",
            max: config.signups_per_hour,
            window: Duration::from_secs(60 * 60),
        }
    }

    /// Verification emails one account may ask for again.
    pub fn verification_mails_per_account() -> Self {
        Self {
            bucket: "verify.account",
            max: 5,
            window: Duration::from_secs(60 * 60),
        }
    }

    /// Password reset mails to one account, whoever asks for them.
    pub fn reset_mails_per_account() -> Self {
        Self {
            bucket: "reset.account",
            max: 3,
            window: Duration::from_secs(60 * 60),
        }
    }

    /// Mails to an account telling it that someone tried to sign up with its address.
    pub fn account_exists_mails() -> Self {
        Self {
            bucket: "signup.existing",
            max: 3,
            window: Duration::from_secs(60 * 60),
        }
    }

    /// Email invitations sent by one organization.
    pub fn invitations_per_organization(config: &Config) -> Self {
        Self {
            bucket: "invite.organization",
            max: config.invites_per_day,
            window: Duration::from_secs(24 * 60 * 60),
        }
    }

    fn since(&self, now: i64) -> i64 {
        now - i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// How long until the attempts counted now have left the window (at least a second).
    fn wait(&self, oldest: Option<i64>, now: i64) -> Wait {
        let oldest = oldest.unwrap_or(now);
        let seconds = (oldest - self.since(now)).max(1);
        Wait {
            seconds: seconds.unsigned_abs(),
        }
    }
}

/// How long a refused caller must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub seconds: u64,
}

impl Wait {
    /// The wait in whole minutes, rounded up, for messages.
    pub fn minutes(self) -> u64 {
        self.seconds.div_ceil(60).max(1)
    }

    /// "Too many {what}. Try again in N minutes." as a 429 with `Retry-After`.
    pub fn refusal(self, what: &str) -> AppError {
        let minutes = self.minutes();
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        AppError::TooManyRequests {
            message: format!("Too many {what}. Try again in {minutes} {unit}."),
            retry_after: self.seconds,
        }
    }
}

/// An attempt counted against a limit, which may be taken back (a login that succeeded).
#[must_use]
pub struct Counted {
    id: i64,
}

impl Counted {
    pub async fn take_back<'e>(self, ex: impl sqlx::AnyExecutor<'e>) -> Result<(), AppError> {
        db::throttle::remove(ex, self.id)
            .await
            .or_internal("taking back an attempt")
    }
}

/// Counts an attempt of `weight` by `subject` at `now`. When that puts the subject over the limit
/// the attempt is not counted and the answer says how long to wait. Concurrent attempts each
/// count themselves before they look, so together they never get past the limit.
pub async fn count(
    pool: &sqlx::AnyPool,
    limit: Limit,
    subject: &str,
    weight: i64,
    now: i64,
) -> Result<Result<Counted, Wait>, AppError> {
    let id = db::throttle::record(pool, limit.bucket, subject, weight, now)
        .await
        .or_internal("counting an attempt")?;
    let tally = db::throttle::tally(pool, limit.bucket, subject, limit.since(now))
        .await
        .or_internal("counting attempts")?;
    if tally.total <= limit.max {
        return Ok(Ok(Counted { id }));
    }
    db::throttle::remove(pool, id)
        .await
        .or_internal("taking back an attempt")?;
    Ok(Err(limit.wait(tally.oldest, now)))
}

/// How much of the limit `subject` has left at `now`, read inside `ex` (a transaction that holds
/// the lock the subject's attempts are made under, so that the answer stays true until it
/// commits).
pub async fn remaining<'e>(
    ex: impl sqlx::AnyExecutor<'e>,
    limit: Limit,
    subject: &str,
    now: i64,
) -> Result<(i64, Wait), AppError> {
    let tally = db::throttle::tally(ex, limit.bucket, subject, limit.since(now))
        .await
        .or_internal("counting attempts")?;
    Ok((
        (limit.max - tally.total).max(0),
        limit.wait(tally.oldest, now),
    ))
}

/// Records `weight` attempts by `subject` at `now` inside `ex`, without checking (see
/// [`remaining`]).
pub async fn record<'e>(
    ex: impl sqlx::AnyExecutor<'e>,
    limit: Limit,
    subject: &str,
    weight: i64,
    now: i64,
) -> Result<(), AppError> {
    if weight > 0 {
        db::throttle::record(ex, limit.bucket, subject, weight, now)
            .await
            .or_internal("counting attempts")?;
    }
    Ok(())
}

/// Forgets `subject`'s attempts (a successful login clears its email's failures).
pub async fn clear(pool: &sqlx::AnyPool, limit: Limit, subject: &str) -> Result<(), AppError> {
    db::throttle::clear(pool, limit.bucket, subject)
        .await
        .or_internal("clearing attempts")
}

/// The longest window of any limit: attempts older than this count for nothing.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Deletes attempts that no window reaches any more at `now`.
pub async fn prune(pool: &sqlx::AnyPool, config: &Config, now: i64) -> Result<u64, sqlx::Error> {
    let longest = LONGEST_WINDOW.max(config.login_lockout);
    db::throttle::prune(pool, now - i64::try_from(longest.as_secs()).unwrap_or(0)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_told_in_whole_minutes_rounded_up() {
        assert_eq!(Wait { seconds: 1 }.minutes(), 1);
        assert_eq!(Wait { seconds: 60 }.minutes(), 1);
        assert_eq!(Wait { seconds: 61 }.minutes(), 2);
        let e = Wait { seconds: 840 }.refusal("failed attempts");
        assert_eq!(
            e.to_string(),
            "Too many failed attempts. Try again in 14 minutes."
        );
        assert_eq!((e.status_code(), e.retry_after()), (429, Some(840)));
        assert!(Wait { seconds: 30 }
            .refusal("signups")
            .to_string()
            .ends_with("in 1 minute."));
    }

    #[test]
    fn the_wait_lasts_until_the_oldest_attempt_leaves_the_window() {
        let limit = Limit {
            bucket: "t",
            max: 5,
            window: Duration::from_secs(900),
        };
        assert_eq!(limit.wait(Some(1000), 1100).seconds, 800);
        assert_eq!(
            limit.wait(Some(100), 1000).seconds,
            1,
            "never less than a second"
        );
    }
}
