//! Invitations (Owner and Administrator only, but for `get_invite_info`, which the signup page
//! calls for whoever holds a token).

use leptos::prelude::*;

/// The query parameter that carries the results of invitations sent without JavaScript.
pub const INVITED_PARAM: &str = "invited";

use crate::domain::{AppError, InviteInfo, InviteLink, InviteOutcome, PendingInvitations, Role};

/// The organization's invite link. Reading it never changes it.
#[server(prefix = "/_sfn", endpoint = "invites/link")]
pub async fn get_invite_link() -> Result<InviteLink, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, invites};
    authorized(|state, me: Admin| async move { invites::link(&state, &me).await }).await
}

/// Replaces the invite link; the old one stops working at once.
#[server(prefix = "/_sfn", endpoint = "invites/reset_link")]
pub async fn reset_invite_link() -> Result<InviteLink, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, invites};
    authorized(|state, me: Admin| async move { invites::reset_link(&state, &me).await }).await
}

/// Invites each address of `emails` (separated by commas, semicolons, spaces or new lines).
/// When no address could take a seat, the whole request is refused (409), as over REST.
#[server(prefix = "/_sfn", endpoint = "invites/send")]
pub async fn send_invites(emails: String, role: Role) -> Result<Vec<InviteOutcome>, AppError> {
    use super::ssr::*;
    use crate::{
        domain::split_email_list,
        server::{auth::Admin, invites},
    };
    authorized(|state, me: Admin| async move {
        let outcomes = invites::send(&state, &me, &split_email_list(&emails), role)
            .await?
            .into_result()?;
        // Without JavaScript, the dialog opens again on its results.
        land_on(&with_param(
            "/organization?invite=email",
            INVITED_PARAM,
            &crate::domain::InviteOutcome::to_query(&outcomes),
        ));
        Ok(outcomes)
    })
    .await
}

/// A page of the open email invitations (20 a page, newest first; the first page without
/// `page`) whose address contains `search`.
#[server(prefix = "/_sfn", endpoint = "invites/pending")]
pub async fn list_invitations(
    page: Option<i64>,
    search: Option<String>,
) -> Result<PendingInvitations, AppError> {
    use super::ssr::*;
    use crate::domain::{Page, Search};
    use crate::server::{auth::Admin, invites};
    authorized(|state, me: Admin| async move {
        let page = Page::parse(page.unwrap_or(1), invites::PENDING_PAGE_SIZE)?;
        let search = Search::parse("search", search.as_deref().unwrap_or_default())?;
        invites::pending(&state, &me, page, &search).await
    })
    .await
}

/// Sends the invitation again with a new secret and a new expiry; the old link stops working.
#[server(prefix = "/_sfn", endpoint = "invites/resend")]
pub async fn resend_invitation(id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, invites};
    authorized(|state, me: Admin| async move { invites::resend(&state, &me, id).await }).await
}

#[server(prefix = "/_sfn", endpoint = "invites/revoke")]
pub async fn revoke_invitation(id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, invites};
    authorized(|state, me: Admin| async move { invites::revoke(&state, &me, id).await }).await
}

/// What an invite token leads to, for the signup page; an unusable token is an error.
#[server(prefix = "/_sfn", endpoint = "invites/info")]
pub async fn get_invite_info(token: String) -> Result<InviteInfo, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Anyone, invites};
    authorized(|state, _: Anyone| async move { invites::info(&state, &token).await }).await
}
