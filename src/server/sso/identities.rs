//! The identities an account signs in with, as its Account page shows them: linked from there
//! after a password sign-in (the provider's address must be the account's), and unlinked while
//! the account keeps another way in (a password).

use serde_json::json;

use super::settings;
use crate::domain::{
    format_timestamp, Action, AppError, IdentityView, Protocol, SsoIdentities, SsoProblem,
};
use crate::server::{
    audit::{Actor, Event, Target},
    auth::{
        single_sign_on::{Answer, Failed},
        SignedIn,
    },
    change::Change,
    db,
    error::OrInternal,
    AppState,
};

pub const NO_OTHER_WAY_IN: &str = "This account has no password, so single sign-on is its only way in: set a password first (\"Forgot password?\" on the sign-in page mails a link), then unlink.";

pub async fn list(state: &AppState, me: &SignedIn) -> Result<SsoIdentities, AppError> {
    let pool = state.db.pool();
    let identities = db::sso::identities_of(pool, me.user_id())
        .await
        .or_internal("reading SSO identities")?
        .into_iter()
        .map(|i| IdentityView {
            id: i.id,
            protocol: if i.protocol == "saml" {
                Protocol::Saml
            } else {
                Protocol::Oidc
            },
            issuer: i.issuer,
            email: i.email,
            linked_at: format_timestamp(i.created_at),
            last_sign_in_at: i.last_sign_in_at.map(format_timestamp),
        })
        .collect();
    let has_password = has_password(state, me.user_id()).await?;
    let link_url = match me.organization_id() {
        Some(organization) if settings::oidc(pool, organization).await?.is_some() => {
            db::sso::key_of(pool, organization)
                .await
                .or_internal("reading the organization's SSO key")?
                .map(|key| {
                    let hint = url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("link", "1")
                        .append_pair("login_hint", me.email())
                        .finish();
                    format!("/sso/{key}/oidc/login?{hint}")
                })
        }
        _ => None,
    };
    Ok(SsoIdentities {
        identities,
        has_password,
        link_url,
    })
}

async fn has_password(state: &AppState, user_id: i64) -> Result<bool, AppError> {
    Ok(db::users::find_password_hash(state.db.pool(), user_id)
        .await
        .or_internal("reading a password")?
        .is_some_and(|h| !h.is_empty()))
}

/// Unlinks one of the caller's identities; refused while single sign-on is their only way in.
pub async fn unlink(state: &AppState, me: &SignedIn, identity_id: i64) -> Result<(), AppError> {
    if !has_password(state, me.user_id()).await? {
        return Err(AppError::Conflict(NO_OTHER_WAY_IN.into()));
    }
    let mut change = Change::to_account(state, me.user_id()).await?;
    let gone = db::sso::delete_identity(&mut **change.tx(), me.user_id(), identity_id)
        .await
        .or_internal("unlinking an SSO identity")?
        .ok_or_else(|| AppError::NotFound("This identity is not linked to your account.".into()))?;
    let target = Target::User {
        id: me.user_id(),
        email: me.email().to_owned(),
    };
    change.record(
        Event::new(Actor::member(me), Action::SsoAccountUnlinked, target)
            .details(
                json!({"protocol": gone.protocol, "issuer": gone.issuer, "subject": gone.subject}),
            )
            .from(me.origin()),
    );
    change.commit().await?;
    tracing::info!(
        user_id = me.user_id(),
        identity_id,
        "unlinked an SSO identity"
    );
    Ok(())
}

/// Links the identity `answer` names to the account `user_id` started the link from: the
/// provider's address must be the account's, and the account a member of the organization.
pub async fn link(
    state: &AppState,
    organization_id: i64,
    user_id: i64,
    answer: &Answer,
    origin: &crate::server::origin::RequestOrigin,
) -> Result<(), Failed> {
    let mut change = Change::to_organization(state, organization_id).await?;
    let account = db::principals::by_user_id(&mut **change.tx(), user_id)
        .await
        .or_internal("reading a membership")?
        .filter(|p| p.organization_id == Some(organization_id))
        .ok_or_else(|| {
            Failed::problem(
                SsoProblem::OtherOrganization,
                "the account that started a link left the organization",
            )
        })?;
    if account.email != answer.email.as_str() {
        return Err(Failed::Problem {
            problem: SsoProblem::OtherAddress,
            cause: format!(
                "the provider gave {}, the account is {}",
                answer.email, account.email
            ),
            user: Some((user_id, account.email)),
        });
    }
    if let Some(known) = db::sso::find_identity(
        &mut **change.tx(),
        organization_id,
        &answer.issuer,
        &answer.subject,
    )
    .await
    .or_internal("finding an SSO identity")?
    {
        if known.user_id == user_id {
            return Ok(());
        }
        return Err(Failed::problem(
            SsoProblem::AccountExists,
            "the identity is linked to another account",
        ));
    }
    crate::server::auth::single_sign_on::link(
        &mut change,
        organization_id,
        answer,
        user_id,
        origin,
    )
    .await?;
    change.commit().await?;
    tracing::info!(
        user_id,
        organization_id,
        "linked an SSO identity from the Account page"
    );
    Ok(())
}
