//! Removing a member: the seat is freed, their credentials die, the account stays in no
//! organization, and any organization may invite it again.

use gatehouse::domain::{InviteStatus, MemberPage, Role, Visit};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

crate::on_both_databases!(
    a_removed_member_loses_seat_sessions_and_token_and_keeps_the_account,
    nobody_removes_the_owner_or_themselves_and_only_admins_remove,
    concurrent_removal_and_role_change_leave_one_consistent_state,
    a_removed_member_rejoins_through_the_invite_link_as_pending,
    admins_are_told_how_many_wait_for_a_role,
    an_email_invitation_proves_the_address_and_the_invite_link_does_not,
);

fn remove_path(org: i64, user_id: i64) -> String {
    format!("/api/organizations/{org}/memberships/{user_id}")
}

async fn a_removed_member_loses_seat_sessions_and_token_and_keeps_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Reviewer).await;
    let member_token = app.token(&member.client).await;
    assert_eq!(app.organization(&owner).await.seats.used, 2);

    let res = app
        .api(Method::DELETE, &remove_path(org, member.id), &owner)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.organization(&owner).await.seats.used,
        1,
        "the seat is free"
    );
    let page: MemberPage = app
        .api(
            Method::GET,
            &format!(
                "/api/organizations/{org}/memberships?search={}",
                member.email
            ),
            &owner,
        )
        .json_ok()
        .await;
    assert_eq!(page.count, 0);
    // Their session and token are dead.
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .api(Method::GET, "/api/current-user/whoami", &member_token)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The account remains: they sign in, and belong to no organization.
    let res = app
        .log_in_with(&member.client, &member.email, PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = member
        .client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_detail(res, StatusCode::FORBIDDEN).await,
        "You are not a member of any organization. Ask an administrator for an invitation."
    );
    let res = app
        .server_fn(&member.client, "auth/current_user", &[])
        .await;
    let me = res.json::<Visit>().await.unwrap().user.expect("signed in");
    assert_eq!((me.role, me.organization_id), (None, None));
    let (status, page) = {
        let res = member
            .client
            .get(app.url("/"))
            .header(reqwest::header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("You are not a member of any organization"),
        "one page says where they stand"
    );

    // Another organization may invite the address again; the account accepts by logging in.
    let other = another_owner(&app).await;
    let results = app.invite(&other, &[&member.email], Role::Annotator).await;
    assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
    let link = app.invitation_link_to(&member.email, 2).await;
    let token = crate::smtp::token_of(&link);
    let info: Value = app
        .server_fn(&new_client(), "invites/info", &[("token", &token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["Email"]["has_account"], true, "{info}");
    let (res, _) = app.join(&token, &member.email).await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        "An account with this email already exists: log in to accept the invitation."
    );
    let res = app
        .server_fn(
            &member.client,
            "auth/log_in",
            &[
                ("email", &member.email),
                ("password", PASSWORD),
                ("token", &token),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let me = app.whoami(&member.client).await;
    assert_eq!(me.role, Role::Annotator);
    assert_ne!(
        me.organization_id, org,
        "in the organization that invited them"
    );
    // An account in an organization cannot join a second one.
    let res = app
        .server_fn(
            &new_client(),
            "auth/log_in",
            &[
                ("email", &member.email),
                ("password", PASSWORD),
                ("token", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let link: Value = app.api(Method::GET, "/api/invite", &owner).json_ok().await;
    let res = app
        .server_fn(
            &new_client(),
            "auth/log_in",
            &[
                ("email", &member.email),
                ("password", PASSWORD),
                ("token", link["token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::CONFLICT).await,
        gatehouse::server::auth::invitation::ALREADY_IN_AN_ORGANIZATION
    );
}

async fn a_removed_member_rejoins_through_the_invite_link_as_pending(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Manager).await;
    app.api(Method::DELETE, &remove_path(org, member.id), &owner)
        .send()
        .await;
    let link: Value = app.api(Method::GET, "/api/invite", &owner).json_ok().await;
    let res = app
        .server_fn(
            &member.client,
            "auth/log_in",
            &[
                ("email", &member.email),
                ("password", PASSWORD),
                ("token", link["token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = app
        .server_fn(&member.client, "auth/current_user", &[])
        .await
        .json::<Visit>()
        .await
        .unwrap()
        .user
        .expect("signed in");
    assert_eq!(
        (me.role, me.organization_id),
        (Some(Role::NotActivated), Some(org))
    );
}

/// Signs up the Owner of another organization on the same app; returns their token.
async fn another_owner(app: &TestApp) -> String {
    let (_, client) = app.owner_elsewhere().await;
    app.token(&client).await
}

async fn nobody_removes_the_owner_or_themselves_and_only_admins_remove(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let owner_id = app.whoami(&app.client).await.id;
    let admin = app.add_member(Role::Administrator).await;
    let admin_token = app.token(&admin.client).await;
    let manager = app.add_member(Role::Manager).await;
    let manager_token = app.token(&manager.client).await;
    let pending = app.add_member(Role::NotActivated).await;

    let detail = app
        .api(Method::DELETE, &remove_path(org, owner_id), &admin_token)
        .error(StatusCode::FORBIDDEN)
        .await;
    assert!(detail.contains("Nobody can remove the Owner"), "{detail}");
    let detail = app
        .api(Method::DELETE, &remove_path(org, admin.id), &admin_token)
        .error(StatusCode::FORBIDDEN)
        .await;
    assert!(detail.contains("cannot remove yourself"), "{detail}");
    app.api(
        Method::DELETE,
        &remove_path(org, pending.id),
        &manager_token,
    )
    .error(StatusCode::FORBIDDEN)
    .await;
    app.api(Method::DELETE, &remove_path(org, 999_999), &owner)
        .error(StatusCode::NOT_FOUND)
        .await;
    app.api(
        Method::DELETE,
        &format!("/api/organizations/{org}/memberships/x"),
        &owner,
    )
    .error(StatusCode::NOT_FOUND)
    .await;
    // Another organization's Owner cannot reach these members.
    let stranger = another_owner(&app).await;
    app.api(Method::DELETE, &remove_path(org, pending.id), &stranger)
        .error(StatusCode::NOT_FOUND)
        .await;
    // An Administrator removes a Pending member (any status but Owner), through the page's
    // server function too.
    let res = app
        .server_fn(
            &admin.client,
            "members/remove",
            &[("user_id", &pending.id.to_string())],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = app
        .api(Method::DELETE, &remove_path(org, pending.id), &owner)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "already removed");
}

async fn concurrent_removal_and_role_change_leave_one_consistent_state(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for _ in 0..3 {
        let member = app.add_member(Role::Annotator).await;
        let removal = app
            .api(Method::DELETE, &remove_path(org, member.id), &owner)
            .send();
        let change = app
            .api(
                Method::PATCH,
                &format!("/api/organizations/{org}/memberships"),
                &owner,
            )
            .json(&serde_json::json!({"user_id": member.id, "role": "MANAGER"}))
            .send();
        let (removed, changed) = tokio::join!(removal, change);
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        // The change either came first (and the removal then removed a Manager) or found no
        // such member.
        let changed_status = changed.status();
        assert!(
            [StatusCode::OK, StatusCode::NOT_FOUND].contains(&changed_status),
            "{changed_status}"
        );
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE user_id = $1")
                .bind(member.id)
                .fetch_optional(app.db().pool())
                .await
                .unwrap();
        assert_eq!(role, None, "removed whatever the order");
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
            .bind(member.id)
            .fetch_one(app.db().pool())
            .await
            .unwrap();
        assert_eq!(sessions, 0);
    }
    let seats: Value = app
        .api(Method::GET, "/api/organization/", &owner)
        .json_ok()
        .await;
    assert_eq!(seats["seats"]["used"], 1, "only the Owner holds a seat");
}

async fn admins_are_told_how_many_wait_for_a_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let annotator = app.add_member(Role::Annotator).await;
    assert_eq!(app.organization(&owner).await.pending_members, 0);
    app.add_member(Role::NotActivated).await;
    let waiting = app.add_member(Role::NotActivated).await;
    assert_eq!(app.organization(&owner).await.pending_members, 2);

    let me = |client: reqwest::Client| {
        let app = &app;
        async move {
            let visit: Visit = app
                .server_fn(&client, "auth/current_user", &[])
                .await
                .json()
                .await
                .unwrap();
            visit.user.expect("signed in").pending_members
        }
    };
    assert_eq!(
        me(app.client.clone()).await,
        2,
        "the Owner's menu counts them"
    );
    assert_eq!(me(annotator.client.clone()).await, 0, "others are not told");
    let page = app
        .client
        .get(app.url("/organization"))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("2 people are waiting for a role."),
        "the page says so"
    );
    assert!(
        page.contains("href=\"/organization?role=NOT_ACTIVATED\""),
        "the menu links to them"
    );

    app.set_role(waiting.id, Role::Reviewer).await;
    assert_eq!(app.organization(&owner).await.pending_members, 1);
}

async fn an_email_invitation_proves_the_address_and_the_invite_link_does_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let invited = app.add_member(Role::Reviewer).await;
    let linked = app.add_member(Role::NotActivated).await;
    let page: MemberPage = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/memberships?page_size=100"),
            &owner,
        )
        .json_ok()
        .await;
    let verified = |email: &str| {
        page.results
            .iter()
            .find(|m| m.email == email)
            .map(|m| m.email_verified)
            .unwrap()
    };
    assert!(
        verified(&invited.email),
        "the invitation reached the address"
    );
    assert!(
        !verified(&linked.email),
        "anyone with the link could type any address"
    );
    let html = app
        .client
        .get(app.url("/organization"))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("Email not verified").count(),
        1,
        "the Pending member with an unproven address carries the badge"
    );
}
