//! The members table: listing, role changes, removal and ownership transfer (Owner and
//! Administrator only; the transfer, the Owner only).

use leptos::prelude::*;

use crate::domain::{AppError, MemberPage, MemberRow, Role};

/// A page of the members table. `role` filters by role or status; `search` matches email or name.
#[server(prefix = "/_sfn", endpoint = "members/list")]
pub async fn list_members(
    page: i64,
    page_size: i64,
    role: Option<Role>,
    search: String,
) -> Result<MemberPage, AppError> {
    use super::ssr::*;
    use crate::{
        domain::{Page, Search},
        server::{auth::Admin, members},
    };
    authorized(|state, me: Admin| async move {
        let page = Page::parse(page, page_size)?;
        let search = Search::parse("search", &search)?;
        members::list(&state, &me, page, role, &search).await
    })
    .await
}

/// Changes a member's role; seat rules apply, and the Owner's role and one's own never change.
#[server(prefix = "/_sfn", endpoint = "members/change_role")]
pub async fn change_member_role(user_id: i64, role: Role) -> Result<MemberRow, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, roles};
    authorized(
        |state, me: Admin| async move { roles::change_role(&state, &me, user_id, role).await },
    )
    .await
}

/// Removes a member from the organization (any role but Owner, never oneself).
#[server(prefix = "/_sfn", endpoint = "members/remove")]
pub async fn remove_member(user_id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, roles};
    authorized(|state, me: Admin| async move { roles::remove_member(&state, &me, user_id).await })
        .await
}

/// The Owner hands the organization to an active member (by email), confirming with their password.
#[server(prefix = "/_sfn", endpoint = "members/transfer_ownership")]
pub async fn transfer_ownership(email: String, password: String) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::Owner, roles};
    authorized(|state, me: Owner| async move {
        roles::transfer_ownership(&state, &me, &email, &password).await?;
        land_on("/organization");
        Ok(())
    })
    .await
}
