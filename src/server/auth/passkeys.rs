//! Security keys and passkeys (WebAuthn, SPEC section 12): registered on the Account page, used as
//! a second factor, and as "Sign in with a passkey" without a password (a discoverable credential,
//! user verification required). Every ceremony's state stays on the server, named by the hash of a
//! secret the browser sends back once.
//!
//! The relying party is the public address (`LABEL_STUDIO_HOST`); without it, passkeys are
//! offered only to a browser that opened the app at `localhost`, as browsers allow there.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::{
    proven::Proven,
    secrets,
    sessions::NewSession,
    signin::{self, Next},
    two_factor::{self, pending},
    Anyone, SignedIn,
};
use crate::domain::{
    format_timestamp, Action, AppError, PasskeyAdded, PasskeyView, RecoveryCodes, Refusal, Role,
    SignInMethod,
};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db,
    error::OrInternal,
    origin::RequestOrigin,
    throttle::{self, Limit},
    AppState,
};

/// How long the browser has to answer a challenge, in seconds.
const CEREMONY_LIFETIME: i64 = 300;
const CEREMONY_PREFIX: &str = "ghw_";
/// The longest name a passkey may be given.
const NAME_MAX: usize = 64;

pub const UNAVAILABLE: &str = "Passkeys need the app's public address: set LABEL_STUDIO_HOST, or open the app at http://localhost on this computer.";
const EXPIRED: &str = "This passkey request has expired or was answered already. Try again.";
const REFUSED: &str = "The passkey's answer was refused. Try again, or use another way to sign in.";
const UNREADABLE: &str = "The browser's answer could not be read. Try again.";

/// Whether passkeys can be offered to a browser that opened the app at `origin`.
pub fn available(state: &AppState, origin: &RequestOrigin) -> bool {
    relying_party_url(state, origin).is_some()
}

/// The relying party for a request: the public address's, or `localhost`'s when no public
/// address is configured. `None` where browsers would refuse passkeys.
pub fn relying_party(state: &AppState, origin: &RequestOrigin) -> Option<Webauthn> {
    let url = relying_party_url(state, origin)?;
    let rp_id = url.host_str()?.to_owned();
    WebauthnBuilder::new(&rp_id, &url)
        .ok()?
        .rp_name("Gatehouse")
        .build()
        .ok()
}

/// The address passkeys are bound to: the public address, else `localhost` as the browser
/// opened it. An IP address is never one (browsers refuse it as a relying party).
fn relying_party_url(state: &AppState, origin: &RequestOrigin) -> Option<Url> {
    let url = match &state.config.public_url {
        Some(public) => Url::parse(public).ok()?,
        None => {
            let url = Url::parse(&origin.public).ok()?;
            let host = url.host_str()?;
            if host != "localhost" && !host.ends_with(".localhost") {
                return None;
            }
            url
        }
    };
    match url.host()? {
        url::Host::Domain(_) => Some(url),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

fn rp(state: &AppState, origin: &RequestOrigin) -> Result<Webauthn, AppError> {
    relying_party(state, origin).ok_or_else(|| AppError::Conflict(UNAVAILABLE.into()))
}

pub use crate::domain::PasskeyChallenge as Challenge;

/// What a ceremony is for; stored with it, so that no answer serves another purpose.
#[derive(Clone, Copy)]
enum Purpose {
    Register,
    SignIn,
    SecondFactor,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
        }
    }
}

async fn begin_ceremony(
    state: &AppState,
    purpose: Purpose,
    user_id: Option<i64>,
    ceremony_state: &impl Serialize,
    options: &impl Serialize,
) -> Result<Challenge, AppError> {
    let secret = secrets::generate(CEREMONY_PREFIX);
    let stored = serde_json::to_string(ceremony_state).or_internal("keeping a ceremony")?;
    db::two_factor::insert_ceremony(
        state.db.pool(),
        &secrets::hash(&secret),
        purpose.as_str(),
        user_id,
        &stored,
        state.now() + CEREMONY_LIFETIME,
    )
    .await
    .or_internal("keeping a ceremony")?;
    let mut options = serde_json::to_value(options).or_internal("writing a challenge")?;
    let public_key = options
        .get_mut("publicKey")
        .map(Value::take)
        .unwrap_or_default();
    Ok(Challenge {
        ceremony: secret,
        public_key,
    })
}

/// Takes the ceremony `secret` names, if it is live and for `purpose`: its user and state.
async fn take_ceremony<T: DeserializeOwned>(
    state: &AppState,
    secret: &str,
    purpose: Purpose,
) -> Result<(Option<i64>, T), AppError> {
    let expired = || AppError::invalid("ceremony", EXPIRED);
    let (user_id, stored) = db::two_factor::take_ceremony(
        state.db.pool(),
        &secrets::hash(secret.trim()),
        purpose.as_str(),
        state.now(),
    )
    .await
    .or_internal("reading a ceremony")?
    .ok_or_else(expired)?;
    let ceremony = serde_json::from_str(&stored).or_internal("reading a ceremony")?;
    Ok((user_id, ceremony))
}

fn read<T: DeserializeOwned>(credential: &Value) -> Result<T, AppError> {
    serde_json::from_value(credential.clone())
        .map_err(|_| AppError::invalid("credential", UNREADABLE))
}

fn user_handle(state: &AppState, user_id: i64) -> Uuid {
    Uuid::from_bytes(state.keys.passkey_user_handle(user_id))
}

fn stored(passkey: &Passkey) -> Result<String, AppError> {
    serde_json::to_string(passkey).or_internal("keeping a passkey")
}

fn parse_stored(record: &db::two_factor::PasskeyRecord) -> Result<Passkey, AppError> {
    serde_json::from_str(&record.credential).or_internal("reading a passkey")
}

/// Starts adding a passkey to the caller's account. The browser is asked for a discoverable
/// credential (so it can sign in without a password) with user verification; keys the account
/// has already are excluded.
pub async fn start_registration(state: &AppState, me: &SignedIn) -> Result<Challenge, AppError> {
    let rp = rp(state, me.origin())?;
    let existing = db::two_factor::passkeys_of(state.db.pool(), me.user_id())
        .await
        .or_internal("listing passkeys")?
        .iter()
        .map(parse_stored)
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, registration) = rp
        .start_passkey_registration(
            user_handle(state, me.user_id()),
            me.email(),
            me.email(),
            Some(existing),
        )
        .or_internal("starting a passkey registration")?;
    let mut options = serde_json::to_value(&options).or_internal("writing a challenge")?;
    // A discoverable credential: the passkey names its account at "Sign in with a passkey".
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), json!("required"));
        selection.insert("requireResidentKey".into(), json!(true));
    }
    begin_ceremony(
        state,
        Purpose::Register,
        Some(me.user_id()),
        &registration,
        &options,
    )
    .await
}

/// Finishes adding a passkey with the browser's answer.
pub async fn finish_registration(
    state: &AppState,
    me: &SignedIn,
    ceremony: &str,
    name: &str,
    credential: &Value,
) -> Result<PasskeyAdded, AppError> {
    let name = name.trim();
    let name = if name.is_empty() { "Passkey" } else { name };
    if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            format!("A passkey's name is at most {NAME_MAX} characters, on one line."),
        ));
    }
    let answer: RegisterPublicKeyCredential = read(credential)?;
    let rp = rp(state, me.origin())?;
    let (user_id, registration): (_, PasskeyRegistration) =
        take_ceremony(state, ceremony, Purpose::Register).await?;
    if user_id != Some(me.user_id()) {
        return Err(AppError::invalid("ceremony", EXPIRED));
    }
    let passkey = rp
        .finish_passkey_registration(&answer, &registration)
        .map_err(|e| {
            tracing::info!(user_id = me.user_id(), error = %e, "refused a passkey registration");
            AppError::invalid("credential", REFUSED)
        })?;
    let mut change = Change::to_account(state, me.user_id()).await?;
    let now = change.now();
    let id = db::two_factor::insert_passkey(
        &mut **change.tx(),
        me.user_id(),
        passkey.cred_id().as_ref(),
        name,
        &stored(&passkey)?,
        now,
    )
    .await
    .or_internal("adding a passkey")?
    .ok_or_else(|| AppError::Conflict("This passkey is registered already.".into()))?;
    let RecoveryCodes { codes } =
        two_factor::first_factor_added(&mut change, me.user_id(), "passkey").await?;
    change.record(
        Event::by(me, Action::PasskeyAdded, Target::own(me)).details(json!({"passkey": name})),
    );
    if !codes.is_empty() {
        change.record(
            Event::by(me, Action::TwoFactorEnabled, Target::own(me))
                .details(json!({"factor": "passkey"})),
        );
    }
    change.commit().await?;
    tracing::info!(user_id = me.user_id(), passkey = id, "added a passkey");
    Ok(PasskeyAdded {
        passkey: PasskeyView {
            id,
            name: name.to_owned(),
            added_at: format_timestamp(now),
            last_used_at: None,
        },
        recovery_codes: codes,
    })
}

/// Starts "Sign in with a passkey": a challenge any of this site's passkeys may answer.
pub async fn start_sign_in(state: &AppState, caller: &Anyone) -> Result<Challenge, AppError> {
    let rp = rp(state, caller.origin())?;
    let (options, authentication) = rp
        .start_discoverable_authentication()
        .or_internal("starting a passkey sign-in")?;
    begin_ceremony(state, Purpose::SignIn, None, &authentication, &options).await
}

/// Finishes "Sign in with a passkey": the passkey names its account, proves it with user
/// verification, and the session opens (no second step: a passkey is two factors). Failures count
/// toward the client's login lockout.
pub async fn finish_sign_in(
    state: &AppState,
    caller: &Anyone,
    ceremony: &str,
    credential: &Value,
    old_session: Option<&str>,
) -> Result<Next, AppError> {
    let answer: PublicKeyCredential = read(credential)?;
    let rp = rp(state, caller.origin())?;
    let pool = state.db.pool();
    let client = caller.origin().client.to_string();
    let per_client = Limit::login_failures_per_client(&state.config);
    let counted = match throttle::count(pool, per_client, &client, 1, state.now()).await? {
        Ok(counted) => counted,
        Err(wait) => return Err(wait.refusal("failed attempts")),
    };
    let (_, authentication): (_, DiscoverableAuthentication) =
        take_ceremony(state, ceremony, Purpose::SignIn).await?;
    let refused = |why: &str| {
        tracing::info!(client = %client, why, "refused a passkey sign-in");
        AppError::Unauthenticated(REFUSED.into())
    };
    let (handle, credential_id) = rp
        .identify_discoverable_authentication(&answer)
        .map_err(|_| refused("no user handle"))?;
    let record = db::two_factor::passkey_by_credential(pool, credential_id)
        .await
        .or_internal("finding a passkey")?
        .ok_or_else(|| refused("unknown credential"))?;
    if handle != user_handle(state, record.user_id) {
        return Err(refused("user handle of another account"));
    }
    let mut passkey = parse_stored(&record)?;
    let result = rp
        .finish_discoverable_authentication_v2(&answer, authentication, &passkey)
        .map_err(|e| {
            tracing::info!(user_id = record.user_id, error = %e, "a passkey's signature was refused");
            refused("signature")
        })?;
    passkey.update_credential(&result);
    let principal = db::principals::by_user_id(pool, record.user_id)
        .await
        .or_internal("reading a membership")?
        .ok_or_else(|| refused("no account"))?;
    if principal.role == Some(Role::Deactivated) {
        return Err(Refusal::Deactivated.into());
    }
    if let Some(organization) = principal.organization_id {
        if crate::server::sso::settings::sso_required_for(pool, organization, principal.role)
            .await?
        {
            return Err(AppError::Forbidden(
                crate::server::sso::settings::SSO_REQUIRED.into(),
            ));
        }
    }
    let mut change = Change::to_account(state, record.user_id).await?;
    let now = change.now();
    db::two_factor::passkey_used(&mut **change.tx(), record.id, &stored(&passkey)?, now)
        .await
        .or_internal("recording a passkey's use")?;
    let proven = Proven::new(record.user_id, SignInMethod::Passkey);
    let next = signin::proceed(state, &mut change, proven, caller.origin(), old_session).await?;
    let (actor, target) = (
        Actor::User {
            id: record.user_id,
            email: principal.email.clone(),
        },
        Target::User {
            id: record.user_id,
            email: principal.email.clone(),
        },
    );
    change.record(
        Event::new(actor, Action::SignInSucceeded, target)
            .from(caller.origin())
            .details(json!({"passkey": record.name})),
    );
    change.commit().await?;
    counted.take_back(pool).await?;
    tracing::info!(client = %client, user_id = record.user_id, "logged in with a passkey");
    Ok(next)
}

/// Starts the second step of a pending sign-in with one of the account's security keys.
pub async fn start_second_factor(
    state: &AppState,
    caller: &Anyone,
    pending_secret: Option<&str>,
) -> Result<Challenge, AppError> {
    let pending = pending::find(state, pending_secret).await?;
    let rp = rp(state, caller.origin())?;
    let passkeys = db::two_factor::passkeys_of(state.db.pool(), pending.user_id)
        .await
        .or_internal("listing passkeys")?
        .iter()
        .map(parse_stored)
        .collect::<Result<Vec<_>, _>>()?;
    if passkeys.is_empty() {
        return Err(AppError::Conflict(
            "Your account has no security key: use your authenticator app or a recovery code."
                .into(),
        ));
    }
    let (options, authentication) = rp
        .start_passkey_authentication(&passkeys)
        .or_internal("starting a passkey check")?;
    begin_ceremony(
        state,
        Purpose::SecondFactor,
        Some(pending.user_id),
        &authentication,
        &options,
    )
    .await
}

/// Finishes a pending sign-in with the security key's answer.
pub async fn finish_second_factor(
    state: &AppState,
    caller: &Anyone,
    pending_secret: Option<&str>,
    ceremony: &str,
    credential: &Value,
) -> Result<NewSession, AppError> {
    let answer: PublicKeyCredential = read(credential)?;
    let pending = pending::find(state, pending_secret).await?;
    let rp = rp(state, caller.origin())?;
    let attempt = pending::attempt(state, &pending, caller.origin()).await?;
    let (user_id, authentication): (_, PasskeyAuthentication) =
        match take_ceremony(state, ceremony, Purpose::SecondFactor).await {
            Ok(taken) => taken,
            Err(e) => {
                attempt.withdrawn(state).await?;
                return Err(e);
            }
        };
    let checked = if user_id == Some(pending.user_id) {
        rp.finish_passkey_authentication(&answer, &authentication)
            .map_err(|e| e.to_string())
    } else {
        Err("a ceremony of another sign-in".to_owned())
    };
    let result = match checked {
        Ok(result) => result,
        Err(why) => {
            tracing::info!(user_id = pending.user_id, why, "refused a security key");
            attempt
                .failed(state, pending.user_id, caller.origin())
                .await?;
            return Err(AppError::invalid("credential", REFUSED));
        }
    };
    let pool = state.db.pool();
    let record = db::two_factor::passkey_by_credential(pool, result.cred_id().as_ref())
        .await
        .or_internal("finding a passkey")?
        .filter(|r| r.user_id == pending.user_id)
        .ok_or_else(|| AppError::invalid("credential", REFUSED))?;
    let mut passkey = parse_stored(&record)?;
    passkey.update_credential(&result);
    let (mut change, attempt) = attempt.change_for(state, &pending).await?;
    let now = change.now();
    db::two_factor::passkey_used(&mut **change.tx(), record.id, &stored(&passkey)?, now)
        .await
        .or_internal("recording a passkey's use")?;
    let session = pending::complete(state, change, &pending, "passkey", caller.origin()).await?;
    attempt.succeeded(state).await?;
    Ok(session)
}
