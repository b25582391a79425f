//! `/api/invite…`: the invite link and email invitations.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::{
        schema::{ArrayBuilder, SchemaType, Type},
        ObjectBuilder,
    },
    ToSchema,
};

use super::{responses::*, ApiResult, Authorized, JsonBody};
use crate::{
    domain::{
        split_email_list, InviteLink, InviteOutcome, Role, EMAIL_LIST_ENTRY_PATTERN,
        INVITABLE_ROLES,
    },
    server::{
        auth::Admin,
        error::{ApiError, ErrorBody},
        invites, AppState,
    },
};

/// The organization's invite link
///
/// Owner or Administrator only. Reading it never changes it. Whoever signs up through it joins as
/// Pending (NOT_ACTIVATED).
#[utoipa::path(get, path = "/invite", tag = "invitations", operation_id = "getInviteLink",
    responses(
        (status = 200, description = "The invite link.", body = InviteLink),
        AdminErrors,
    ))]
pub async fn get_link(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<InviteLink> {
    Ok(Json(invites::link(&state, &me).await?))
}

/// Replace the invite link
///
/// Owner or Administrator only. The old link stops working at once, on every instance; accounts
/// made through it are unaffected.
#[utoipa::path(post, path = "/invite/reset-token", tag = "invitations", operation_id = "resetInviteLink",
    responses(
        (status = 200, description = "The new invite link.", body = InviteLink),
        AdminErrors,
    ))]
pub async fn reset_link(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<InviteLink> {
    Ok(Json(invites::reset_link(&state, &me).await?))
}

fn invitable_role() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            INVITABLE_ROLES
                .into_iter()
                .flat_map(|r| [Some(r.as_str()), Some(r.code())])
                .chain([None]),
        ))
        .description(Some("The role the invitation gives: ADMINISTRATOR, MANAGER, REVIEWER or ANNOTATOR (when missing or null), or Label Studio's code for it (AD, MA, RE, AN)."))
}

fn address_list() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some(EMAIL_LIST_ENTRY_PATTERN)))
        .min_items(Some(1))
        .max_items(Some(invites::MAX_ADDRESSES))
        .description(Some(
            "Addresses; an entry may hold several separated by commas, semicolons, spaces or new lines. At most 1000 \
             addresses in all (more are refused with 400).",
        ))
}

/// Addresses to invite, and the role they get.
#[derive(Deserialize, ToSchema)]
pub struct SendEmails {
    #[schema(schema_with = address_list)]
    emails: Vec<String>,
    #[schema(schema_with = invitable_role)]
    role: Option<Role>,
}

/// One answer per address.
#[derive(Serialize, ToSchema)]
pub struct InviteResults {
    results: Vec<InviteOutcome>,
}

/// The request is refused as a whole: no address could take a seat. Each address's answer is
/// still given.
#[derive(Serialize, ToSchema)]
pub struct InviteRefusal {
    #[serde(flatten)]
    error: ErrorBody,
    results: Vec<InviteOutcome>,
}

/// Invite addresses by email
///
/// Owner or Administrator only. Each address gets its own invitation (role given at once on
/// signup, usable once, only by that address, until it expires after
/// LABEL_STUDIO_INVITE_EXPIRY_DAYS days) and its own answer. An address already invited is
/// re-sent with a new link. Only a member of this organization is answered `already_member`: an
/// address with an account elsewhere, or none, is answered alike (`invited`; a person who has an
/// account logs in to accept, once they belong to no other organization). Each new invitation
/// reserves a seat. Messages are delivered
/// afterwards, from a durable outbox. An organization sends at most LABEL_STUDIO_INVITES_PER_DAY
/// messages in a rolling day, and one address at most one a minute; an address over either limit
/// is answered `rate_limited`.
#[utoipa::path(post, path = "/invite/send-email", tag = "invitations", operation_id = "sendEmailInvitations",
    request_body = SendEmails,
    responses(
        (status = 200, description = "One result per address.", body = InviteResults),
        (status = 400, description = "A body that cannot be read, no addresses, more than 1000, or a role that cannot be invited.", body = ErrorBody),
        (status = 409, description = "No address could be invited for lack of seats (\"No free seats: N of N in use. …\"); the body also carries `results`.", body = InviteRefusal),
        (status = 429, description = "No address could be invited now: the daily quota is used up, or they were all invited less than a minute ago. `Retry-After` says when to try again; the body also carries `results`.", body = InviteRefusal,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn send_email(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(body): JsonBody<SendEmails>,
) -> Result<Response, ApiError> {
    // Entries may hold several addresses each: the list is bounded before it is split.
    invites::check_count(body.emails.len())?;
    let addresses = split_email_list(&body.emails.join("\n"));
    let role = body.role.unwrap_or(Role::Annotator);
    let invited = invites::send(&state, &me, &addresses, role).await?;
    Ok(match invited.refusal {
        Some(refusal) => {
            let body = InviteRefusal {
                error: ErrorBody::new(&refusal),
                results: invited.results,
            };
            let status =
                StatusCode::from_u16(refusal.status_code()).unwrap_or(StatusCode::CONFLICT);
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = refusal.retry_after() {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            response
        }
        None => Json(InviteResults {
            results: invited.results,
        })
        .into_response(),
    })
}

/// The invitation to revoke.
#[derive(Deserialize, ToSchema)]
pub struct Revoke {
    /// The invited address.
    #[schema(format = Email)]
    email: String,
}

/// What was done.
#[derive(Serialize, ToSchema)]
pub struct Done {
    detail: String,
}

/// Revoke an email invitation
///
/// Owner or Administrator only. The invitation's link stops working and its seat is freed.
#[utoipa::path(post, path = "/invite/revoke", tag = "invitations", operation_id = "revokeInvitation",
    request_body = Revoke,
    responses(
        (status = 200, description = "Revoked.", body = Done),
        (status = 400, description = "A body that cannot be read, or an invalid address.", body = ErrorBody),
        (status = 404, description = "There is no pending invitation for this address.", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(body): JsonBody<Revoke>,
) -> ApiResult<Done> {
    invites::revoke_address(&state, &me, &body.email).await?;
    let email = body.email.trim().to_lowercase();
    Ok(Json(Done {
        detail: format!("The invitation for {email} was revoked; its link no longer works."),
    }))
}
