//! Second factors (SPEC section 12): an authenticator app ([`totp`]), security keys and passkeys
//! ([`super::passkeys`]) and recovery codes ([`recovery`]); the second step of a sign-in
//! ([`pending`]); and the organization's policy, which may require one of its members.

pub mod pending;
pub mod recovery;
pub mod totp;

use serde_json::json;

use super::{password, Admin, SignedIn};
use crate::domain::{
    format_timestamp, Action, AppError, PasskeyView, RecoveryCodes, Role, TotpSetup,
    TwoFactorPolicy, TwoFactorPolicyChange, TwoFactorStatus, MAX_GRACE_DAYS,
};
use crate::server::{
    audit::{Event, Target},
    change::Change,
    db::{
        self,
        outbox::{MessageKind, NewMessage},
        Tx,
    },
    error::OrInternal,
    origin::RequestOrigin,
    AppState,
};

pub const WRONG_CODE: &str =
    "That code is not right, or it was used already. Type the current code from your app, or a recovery code.";
pub const WRONG_PASSWORD: &str = "That is not your password.";
const APP_ALREADY_SET_UP: &str =
    "An authenticator app is set up already. Remove it first to set up another.";
const NO_APP_STARTED: &str =
    "Start setting up the authenticator app again: its secret was not found.";

/// The caller's factors, and what their organization asks of them.
pub async fn status(state: &AppState, me: &SignedIn) -> Result<TwoFactorStatus, AppError> {
    let pool = state.db.pool();
    let user_id = me.user_id();
    let app = db::two_factor::totp_of(pool, user_id)
        .await
        .or_internal("reading the authenticator app")?
        .is_some_and(|totp| totp.confirmed_at.is_some());
    let passkeys = passkey_views(state, user_id).await?;
    let recovery_codes_left = db::two_factor::recovery_codes_left(pool, user_id)
        .await
        .or_internal("counting recovery codes")?;
    let enabled = app || !passkeys.is_empty();
    let policy = match me.organization_id() {
        Some(organization) => db::two_factor::policy(pool, organization)
            .await
            .or_internal("reading the two-factor policy")?,
        None => None,
    };
    let organization_requires = policy.is_some_and(|p| p.two_factor_required_since.is_some());
    let required_by = match (policy.and_then(|p| p.two_factor_required_since), enabled) {
        (Some(since), false) => {
            let joined = match me.organization_id() {
                Some(organization) => db::memberships::joined_at(pool, organization, user_id)
                    .await
                    .or_internal("reading a membership")?,
                None => None,
            };
            let grace = policy.map_or(0, |p| p.two_factor_grace_days) * 86_400;
            Some(format_timestamp(since.max(joined.unwrap_or(since)) + grace))
        }
        _ => None,
    };
    Ok(TwoFactorStatus {
        enabled,
        authenticator_app: app,
        passkeys,
        recovery_codes_left: if enabled { recovery_codes_left } else { 0 },
        organization_requires,
        required_by,
        passkeys_available: super::passkeys::available(state, me.origin()),
    })
}

pub async fn passkey_views(state: &AppState, user_id: i64) -> Result<Vec<PasskeyView>, AppError> {
    Ok(db::two_factor::passkeys_of(state.db.pool(), user_id)
        .await
        .or_internal("listing passkeys")?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            added_at: format_timestamp(p.created_at),
            last_used_at: p.last_used_at.map(format_timestamp),
        })
        .collect())
}

/// Starts setting up an authenticator app: a new secret, not counted until a code confirms it
/// ([`confirm_authenticator`]). Starting again replaces a secret not confirmed yet.
pub async fn start_authenticator(state: &AppState, me: &SignedIn) -> Result<TotpSetup, AppError> {
    let (secret, masked) = totp::new_secret(state, me.user_id());
    if !db::two_factor::put_unconfirmed_totp(
        state.db.pool(),
        me.user_id(),
        &masked.secret,
        &masked.nonce,
        state.now(),
    )
    .await
    .or_internal("storing an authenticator secret")?
    {
        return Err(AppError::Conflict(APP_ALREADY_SET_UP.into()));
    }
    let generator = totp::generator(&secret, me.email())?;
    let uri = totp::uri(&generator)?;
    Ok(TotpSetup {
        secret: totp::readable_secret(&generator),
        qr_svg: totp::qr_svg(&uri)?,
        uri,
    })
}

/// Confirms the authenticator app with a code from it. When it is the account's first second
/// factor, the answer carries its recovery codes (shown once).
pub async fn confirm_authenticator(
    state: &AppState,
    me: &SignedIn,
    code: &str,
) -> Result<RecoveryCodes, AppError> {
    let mut change = Change::to_account(state, me.user_id()).await?;
    let record = db::two_factor::totp_of(&mut **change.tx(), me.user_id())
        .await
        .or_internal("reading an authenticator secret")?
        .ok_or_else(|| AppError::Conflict(NO_APP_STARTED.into()))?;
    if record.confirmed_at.is_some() {
        return Err(AppError::Conflict(APP_ALREADY_SET_UP.into()));
    }
    let now = change.now();
    let generator = totp::generator(&totp::unmask(state, me.user_id(), &record), me.email())?;
    let accepted = match totp::matching_step(&generator, code, now) {
        Some(step) => db::two_factor::accept_step(&mut **change.tx(), me.user_id(), step, now)
            .await
            .or_internal("confirming an authenticator")?,
        None => false,
    };
    if !accepted {
        return Err(AppError::invalid(
            "code",
            "That code does not match. Type the six digits your app shows now (the secret may have been mistyped).",
        ));
    }
    let codes = first_factor_added(&mut change, me.user_id(), "authenticator_app").await?;
    change.record(
        Event::by(me, Action::TwoFactorEnabled, Target::own(me))
            .details(json!({"factor": "authenticator_app"})),
    );
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), "set up an authenticator app");
    Ok(codes)
}

/// After a factor was added inside `change`: when it is the account's first, its recovery codes
/// are made (and returned, to be shown once).
pub async fn first_factor_added(
    change: &mut Change<'_>,
    user_id: i64,
    factor: &str,
) -> Result<RecoveryCodes, AppError> {
    let (app, passkeys) = db::two_factor::factors_of(&mut **change.tx(), user_id)
        .await
        .or_internal("reading second factors")?;
    let factors = i64::from(app) + passkeys;
    let left = db::two_factor::recovery_codes_left(&mut **change.tx(), user_id)
        .await
        .or_internal("counting recovery codes")?;
    if factors > 1 && left > 0 {
        return Ok(RecoveryCodes::default());
    }
    tracing::debug!(user_id, factor, "first second factor: new recovery codes");
    let now = change.now();
    new_codes(change.tx(), user_id, now).await
}

async fn new_codes(tx: &mut Tx, user_id: i64, now: i64) -> Result<RecoveryCodes, AppError> {
    let (codes, hashes) = recovery::generate();
    db::two_factor::replace_recovery_codes(tx, user_id, &hashes, now)
        .await
        .or_internal("storing recovery codes")?;
    Ok(RecoveryCodes { codes })
}

/// Checks the caller's password (under the login limits), for what only they may do.
async fn check_password(state: &AppState, me: &SignedIn, password: &str) -> Result<(), AppError> {
    let claimant = password::Claimant::Account {
        user_id: me.user_id(),
        email: me.email(),
    };
    match password::confirm(state, claimant, password, me.origin()).await? {
        Some(_) => Ok(()),
        None => Err(AppError::invalid("password", WRONG_PASSWORD)),
    }
}

/// New recovery codes in place of the old ones; needs the password.
pub async fn new_recovery_codes(
    state: &AppState,
    me: &SignedIn,
    password: &str,
) -> Result<RecoveryCodes, AppError> {
    check_password(state, me, password).await?;
    let mut change = Change::to_account(state, me.user_id()).await?;
    let (app, passkeys) = db::two_factor::factors_of(&mut **change.tx(), me.user_id())
        .await
        .or_internal("reading second factors")?;
    if !app && passkeys == 0 {
        return Err(AppError::Conflict(
            "Recovery codes come with a second factor: set up an authenticator app or add a passkey first.".into(),
        ));
    }
    let now = change.now();
    let codes = new_codes(change.tx(), me.user_id(), now).await?;
    change.record(
        Event::by(me, Action::TwoFactorEnabled, Target::own(me))
            .details(json!({"factor": "recovery_codes"})),
    );
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), "made new recovery codes");
    Ok(codes)
}

/// Whether `code` is a current authenticator code or an unused recovery code of `user_id`,
/// using it up inside `tx` if it is (`Some(true)` for a recovery code).
pub async fn use_code(
    state: &AppState,
    tx: &mut Tx,
    user_id: i64,
    email: &str,
    code: &str,
    now: i64,
) -> Result<Option<bool>, AppError> {
    if recovery::looks_like_one(code) {
        let used =
            db::two_factor::use_recovery_code(&mut **tx, user_id, &recovery::hash(code), now)
                .await
                .or_internal("using a recovery code")?;
        return Ok(used.then_some(true));
    }
    let Some(record) = db::two_factor::totp_of(&mut **tx, user_id)
        .await
        .or_internal("reading an authenticator secret")?
        .filter(|r| r.confirmed_at.is_some())
    else {
        return Ok(None);
    };
    let generator = totp::generator(&totp::unmask(state, user_id, &record), email)?;
    let Some(step) = totp::matching_step(&generator, code, now) else {
        return Ok(None);
    };
    let accepted = db::two_factor::accept_step(&mut **tx, user_id, step, now)
        .await
        .or_internal("accepting a code")?;
    Ok(accepted.then_some(false))
}

/// Which factor a removal takes away.
#[derive(Clone, Copy, Debug)]
pub enum Factor {
    AuthenticatorApp,
    Passkey(i64),
}

/// Removes a factor. Removing the last one needs the password and a code (from the app, or a
/// recovery code); its recovery codes go with it.
pub async fn remove(
    state: &AppState,
    me: &SignedIn,
    factor: Factor,
    password: Option<&str>,
    code: Option<&str>,
) -> Result<(), AppError> {
    let pool = state.db.pool();
    let (app, passkeys) = db::two_factor::factors_of(pool, me.user_id())
        .await
        .or_internal("reading second factors")?;
    let last = i64::from(app) + passkeys <= 1;
    // The app is removed with the password always (as its code could be read off a stolen
    // phone); the last factor with a code too.
    let needs_password = last || matches!(factor, Factor::AuthenticatorApp);
    if needs_password {
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| AppError::invalid("password", "Type your password to remove this."))?;
        check_password(state, me, password).await?;
    }
    let mut change = Change::to_account(state, me.user_id()).await?;
    let now = change.now();
    if last {
        let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            AppError::invalid(
                "code",
                "Type a code from your authenticator app, or a recovery code, to remove your last second factor.",
            )
        })?;
        if use_code(state, change.tx(), me.user_id(), me.email(), code, now)
            .await?
            .is_none()
        {
            return Err(AppError::invalid("code", WRONG_CODE));
        }
    }
    let (removed, action, details) = match factor {
        Factor::AuthenticatorApp => (
            db::two_factor::delete_totp(&mut **change.tx(), me.user_id())
                .await
                .or_internal("removing an authenticator")?,
            Action::TwoFactorDisabled,
            json!({"factor": "authenticator_app"}),
        ),
        Factor::Passkey(id) => {
            let name = db::two_factor::passkeys_of(&mut **change.tx(), me.user_id())
                .await
                .or_internal("listing passkeys")?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| p.name);
            let removed = db::two_factor::delete_passkey(&mut **change.tx(), me.user_id(), id)
                .await
                .or_internal("removing a passkey")?;
            (
                removed,
                Action::PasskeyRemoved,
                json!({"passkey": name.unwrap_or_default()}),
            )
        }
    };
    if !removed {
        return Err(AppError::NotFound(match factor {
            Factor::AuthenticatorApp => "No authenticator app is set up.".into(),
            Factor::Passkey(_) => "That passkey was removed already.".into(),
        }));
    }
    change.record(Event::by(me, action, Target::own(me)).details(details));
    let (app, passkeys) = db::two_factor::factors_of(&mut **change.tx(), me.user_id())
        .await
        .or_internal("reading second factors")?;
    if !app && passkeys == 0 {
        db::two_factor::delete_recovery_codes(&mut **change.tx(), me.user_id())
            .await
            .or_internal("removing recovery codes")?;
        if matches!(factor, Factor::Passkey(_)) {
            change.record(
                Event::by(me, Action::TwoFactorDisabled, Target::own(me))
                    .details(json!({"factor": "passkey"})),
            );
        }
    }
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), ?factor, "removed a second factor");
    Ok(())
}

/// An Owner or Administrator resets a member's second factors: the app, passkeys and recovery
/// codes go, the member's sessions end, and they are mailed. Nobody resets their own (the Account
/// page removes them), and only the Owner's own account page touches the Owner's.
pub async fn reset_member(state: &AppState, me: &Admin, user_id: i64) -> Result<(), AppError> {
    if user_id == me.user_id() {
        return Err(AppError::Forbidden(
            "You cannot reset your own second factors here: remove them on your Account page."
                .into(),
        ));
    }
    let (mut change, role, target) =
        crate::server::roles::locked_role_of(state, me, user_id).await?;
    if role == Role::Owner {
        return Err(AppError::Forbidden(
            "Nobody can reset the Owner's second factors: only the Owner can remove them, on their Account page.".into(),
        ));
    }
    let tx = change.tx();
    let had_app = db::two_factor::delete_totp(&mut **tx, user_id)
        .await
        .or_internal("removing an authenticator")?;
    let passkeys = db::two_factor::delete_passkeys(&mut **tx, user_id)
        .await
        .or_internal("removing passkeys")?;
    if !had_app && passkeys == 0 {
        return Err(AppError::Conflict(
            "This member has no second factor to reset.".into(),
        ));
    }
    db::two_factor::delete_recovery_codes(&mut **tx, user_id)
        .await
        .or_internal("removing recovery codes")?;
    db::two_factor::delete_pending_of(&mut **tx, user_id)
        .await
        .or_internal("ending pending sign-ins")?;
    let ended = db::sessions::delete_all_of(&mut **tx, user_id)
        .await
        .or_internal("ending sessions")?;
    let Target::User { email, .. } = &target else {
        return Err(crate::server::error::internal(
            "resetting second factors",
            "a member's target is not a user",
        ));
    };
    let email = email.clone();
    let origin = me.origin().mail_origin().unwrap_or_default().to_owned();
    let now = change.now();
    change
        .queue(&NewMessage {
            user_id: Some(user_id),
            organization_id: Some(me.organization_id()),
            ..NewMessage::new(MessageKind::TwoFactorReset, &email, &origin, now)
        })
        .await?;
    change.record(
        Event::by(me, Action::TwoFactorReset, target).details(json!({
            "authenticator_app": had_app,
            "passkeys": passkeys,
            "ended_sessions": ended,
        })),
    );
    change.commit().await?;
    tracing::info!(
        organization_id = me.organization_id(),
        by = me.user_id(),
        user_id,
        "reset a member's second factors"
    );
    Ok(())
}

/// Mails the account that one of its recovery codes was used, inside the sign-in's change.
pub async fn tell_recovery_code_used(
    change: &mut Change<'_>,
    user_id: i64,
    email: &str,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let now = change.now();
    let origin = origin.mail_origin().unwrap_or_default().to_owned();
    change
        .queue(&NewMessage {
            user_id: Some(user_id),
            ..NewMessage::new(MessageKind::RecoveryCodeUsed, email, &origin, now)
        })
        .await
}

/// The organization's policy.
pub async fn policy(state: &AppState, organization_id: i64) -> Result<TwoFactorPolicy, AppError> {
    let record = db::two_factor::policy(state.db.pool(), organization_id)
        .await
        .or_internal("reading the two-factor policy")?
        .ok_or_else(super::organization_not_found)?;
    Ok(view(&record))
}

fn view(record: &db::two_factor::PolicyRecord) -> TwoFactorPolicy {
    TwoFactorPolicy {
        required: record.two_factor_required_since.is_some(),
        grace_period_days: record.two_factor_grace_days,
        sso_exempt: record.two_factor_sso_exempt == 1,
        required_since: record.two_factor_required_since.map(format_timestamp),
    }
}

/// Changes the policy (Owner and Administrators). Turning the requirement on starts the grace
/// period now; turning it off and on again starts a new one. Whether SSO sign-ins are exempt is
/// the Owner's to change.
pub async fn change_policy(
    state: &AppState,
    me: &Admin,
    change_to: &TwoFactorPolicyChange,
) -> Result<TwoFactorPolicy, AppError> {
    if let Some(days) = change_to.grace_period_days {
        if !(0..=MAX_GRACE_DAYS).contains(&days) {
            return Err(AppError::invalid(
                "grace_period_days",
                format!("The grace period is a number of days from 0 to {MAX_GRACE_DAYS}."),
            ));
        }
    }
    let mut change = Change::by(state, me).await?;
    let organization = me.organization_id();
    let before = db::two_factor::policy(&mut **change.tx(), organization)
        .await
        .or_internal("reading the two-factor policy")?
        .ok_or_else(super::organization_not_found)?;
    if change_to
        .sso_exempt
        .is_some_and(|exempt| exempt != (before.two_factor_sso_exempt == 1))
        && me.role() != Role::Owner
    {
        return Err(AppError::Forbidden(
            "Only the Owner can change whether single sign-on is exempt.".into(),
        ));
    }
    let now = change.now();
    let mut after = before;
    match change_to.required {
        Some(true) if before.two_factor_required_since.is_none() => {
            after.two_factor_required_since = Some(now);
        }
        Some(false) => after.two_factor_required_since = None,
        _ => {}
    }
    if let Some(days) = change_to.grace_period_days {
        after.two_factor_grace_days = days;
    }
    if let Some(exempt) = change_to.sso_exempt {
        after.two_factor_sso_exempt = i64::from(exempt);
    }
    let (before_view, after_view) = (view(&before), view(&after));
    if before_view != after_view {
        db::two_factor::set_policy(&mut **change.tx(), organization, &after, now)
            .await
            .or_internal("changing the two-factor policy")?;
        let target = change.organization_target(organization);
        change.record(
            Event::by(me, Action::TwoFactorPolicyChanged, target).details(json!({
                "required": after_view.required,
                "grace_period_days": after_view.grace_period_days,
                "sso_exempt": after_view.sso_exempt,
            })),
        );
        change.commit().await?;
        tracing::info!(
            organization_id = organization,
            by = me.user_id(),
            required = after_view.required,
            "changed the two-factor policy"
        );
    }
    Ok(after_view)
}

/// Whether `user_id` has a second factor, read inside `tx`.
pub async fn has_factor(tx: &mut Tx, user_id: i64) -> Result<bool, AppError> {
    let (app, passkeys) = db::two_factor::factors_of(&mut **tx, user_id)
        .await
        .or_internal("reading second factors")?;
    Ok(app || passkeys > 0)
}
