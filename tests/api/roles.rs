//! Roles, seats and the single Owner, under concurrency.

use gatehouse::domain::{InviteStatus, MemberRow, PendingInvitations, Role, SeatsView};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    role_changes_follow_the_rules,
    deactivation_ends_access_at_once_and_frees_the_seat,
    fifty_concurrent_assignments_for_five_free_seats_give_five,
    twenty_concurrent_invitations_for_three_free_seats_give_three,
    ten_concurrent_ownership_transfers_leave_one_owner,
    the_administrator_transfers_ownership_from_the_command_line,
    resending_an_invitation_that_finds_no_free_seat_says_so_and_sends_nothing,
    the_page_and_the_api_refuse_alike_when_no_address_can_take_a_seat,
    the_transfer_form_says_the_same_for_no_account_and_an_account_elsewhere,
    two_administrators_deactivating_each_other_never_both_win,
    an_administrator_demoted_after_authenticating_is_refused_under_the_lock,
);

/// The error of a failed server function, as the app's own type.
async fn app_error(res: reqwest::Response, status: StatusCode) -> gatehouse::domain::AppError {
    assert_eq!(res.status(), status);
    res.json()
        .await
        .expect("server function errors are the app's error type")
}

async fn change(
    app: &TestApp,
    token: &str,
    org: i64,
    user_id: i64,
    role: Role,
) -> reqwest::Response {
    app.api(
        Method::PATCH,
        &format!("/api/organizations/{org}/memberships"),
        token,
    )
    .json(&json!({"user_id": user_id, "role": role}))
    .send()
    .await
}

async fn role_changes_follow_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner_token = app.token(&app.client).await;
    let owner_id = app.whoami(&app.client).await.id;
    let org = app.org_id().await;
    let admin = app.add_member(Role::Administrator).await;
    let admin_token = app.token(&admin.client).await;
    let other_admin = app.add_member(Role::Administrator).await;
    let manager = app.add_member(Role::Manager).await;
    let manager_token = app.token(&manager.client).await;

    let res = change(&app, &owner_token, org, manager.id, Role::Owner).await;
    assert!(error_detail(res, StatusCode::BAD_REQUEST)
        .await
        .contains("cannot be assigned"));
    let res = change(&app, &admin_token, org, owner_id, Role::Annotator).await;
    assert_eq!(
        error_detail(res, StatusCode::FORBIDDEN).await,
        "Nobody can change the Owner's role."
    );
    let res = change(&app, &admin_token, org, admin.id, Role::Manager).await;
    assert_eq!(
        error_detail(res, StatusCode::FORBIDDEN).await,
        "You cannot change your own role."
    );
    let res = change(&app, &manager_token, org, admin.id, Role::Annotator).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a Manager changes no role"
    );
    let res = change(&app, &admin_token, org, other_admin.id, Role::Reviewer).await;
    assert_eq!(
        res.json::<MemberRow>().await.unwrap().role,
        Role::Reviewer,
        "an Administrator changes another Administrator"
    );
    let res = change(&app, &admin_token, org, 999_999, Role::Reviewer).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = change(&app, &admin_token, org + 1000, manager.id, Role::Reviewer).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A role the app does not know is refused while reading the body.
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/organizations/{org}/memberships"),
            &admin_token,
        )
        .json(&json!({"user_id": manager.id, "role": "KING"}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The same through the page's server function.
    let res = app
        .server_fn(
            &admin.client,
            "members/change_role",
            &[("user_id", &manager.id.to_string()), ("role", "ANNOTATOR")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .server_fn(
            &manager.client,
            "members/change_role",
            &[("user_id", &admin.id.to_string()), ("role", "ANNOTATOR")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn deactivation_ends_access_at_once_and_frees_the_seat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner_token = app.token(&app.client).await;
    let org = app.org_id().await;
    let Member {
        id: member_id,
        client: member,
        email: member_email,
    } = app.add_member(Role::Annotator).await;
    let member_token = app.token(&member).await;
    app.set_seats(org, 2);
    assert_eq!(
        app.organization(&owner_token).await.seats,
        SeatsView {
            used: 2,
            limit: Some(2)
        }
    );

    let res = change(&app, &owner_token, org, member_id, Role::Deactivated).await;
    assert_eq!(res.status(), StatusCode::OK);
    for res in [
        member
            .get(app.url("/api/current-user/whoami"))
            .send()
            .await
            .unwrap(),
        app.api(Method::GET, "/api/organization/", &member_token)
            .send()
            .await,
    ] {
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "session and token end at once"
        );
    }
    assert_eq!(
        app.organization(&owner_token).await.seats.used,
        1,
        "the seat is free at once"
    );

    // The seat goes to an invitation; reactivation now finds none free.
    let res = app
        .api(Method::POST, "/api/invite/send-email", &owner_token)
        .json(&json!({"emails": ["seat@example.com"]}))
        .json_ok::<InviteResults>()
        .await;
    assert_eq!(res.results[0].status, InviteStatus::Invited);
    let res = change(&app, &owner_token, org, member_id, Role::Annotator).await;
    assert_eq!(
        error_detail(res, StatusCode::CONFLICT).await,
        "No free seats: 2 of 2 in use. Deactivate a member or raise the license."
    );
    let res = app
        .api(Method::POST, "/api/invite/send-email", &owner_token)
        .json(&json!({"emails": ["more@example.com"]}))
        .send()
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "nothing could be invited"
    );
    let body = res.json::<Value>().await.unwrap();
    assert_eq!(
        body["detail"],
        "No free seats: 2 of 2 in use. Deactivate a member or raise the license."
    );
    let result = &body["results"][0];
    assert_eq!(result["status"], "no_free_seat");
    assert!(result["detail"]
        .as_str()
        .unwrap()
        .starts_with("No free seats: 2 of 2 in use."));
    // Revoking frees the seat, and the member comes back; their old session stays ended, and
    // they sign in again.
    let res = app
        .api(Method::POST, "/api/invite/revoke", &owner_token)
        .json(&json!({"email": "seat@example.com"}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = change(&app, &owner_token, org, member_id, Role::Reviewer).await;
    assert_eq!(res.json::<MemberRow>().await.unwrap().role, Role::Reviewer);
    let whoami = || async {
        member
            .get(app.url("/api/current-user/whoami"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(whoami().await, StatusCode::UNAUTHORIZED);
    let res = app.log_in_with(&member, &member_email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami().await, StatusCode::OK);
}

async fn fifty_concurrent_assignments_for_five_free_seats_give_five(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org = app.org_id().await;
    let pending = app
        .insert_members_directly(org, 50, Role::NotActivated)
        .await;
    app.set_seats(org, 6); // the Owner and 5 free
    let attempts = pending
        .iter()
        .map(|id| change(&app, &token, org, *id, Role::Annotator));
    let responses = futures::future::join_all(attempts).await;
    let mut ok = 0;
    let mut refused = 0;
    for res in responses {
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {
                assert_eq!(
                    error_detail(res, StatusCode::CONFLICT).await,
                    "No free seats: 6 of 6 in use. Deactivate a member or raise the license."
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!((ok, refused), (5, 45));
    assert_eq!(
        app.organization(&token).await.seats,
        SeatsView {
            used: 6,
            limit: Some(6)
        }
    );
}

async fn twenty_concurrent_invitations_for_three_free_seats_give_three(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org = app.org_id().await;
    app.set_seats(org, 4);
    let attempts = (0..20).map(|i| {
        let req = app
            .api(Method::POST, "/api/invite/send-email", &token)
            .json(&json!({"emails": [format!("race{i}@example.com")], "role": "ANNOTATOR"}));
        // A refusal (409) carries the answers too.
        async move {
            req.send()
                .await
                .json::<InviteResults>()
                .await
                .unwrap()
                .results[0]
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == InviteStatus::Invited)
            .count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == InviteStatus::NoFreeSeat)
            .count(),
        17,
        "{statuses:?}"
    );
    assert_eq!(
        app.organization(&token).await.seats,
        SeatsView {
            used: 4,
            limit: Some(4)
        }
    );
}

async fn ten_concurrent_ownership_transfers_leave_one_owner(backend: Backend) {
    // Each password being checked counts as a failure until it matches: room for ten at once.
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 10).await;
    app.sign_up().await;
    let mut admins = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..10 {
        let Member { email, client, .. } = app.add_member(Role::Administrator).await;
        admins.push(email);
        clients.push(client);
    }
    let org = app.org_id().await;
    let attempts = admins.iter().map(|email| async {
        app.server_fn(
            &app.client,
            "members/transfer_ownership",
            &[("email", email.as_str()), ("password", PASSWORD)],
        )
        .await
    });
    let responses = futures::future::join_all(attempts).await;
    let ok = responses
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1);
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK
        || r.status() == StatusCode::CONFLICT
        || r.status() == StatusCode::FORBIDDEN));
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE role = 'OWNER' AND organization_id = $1",
    )
    .bind(org)
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!(owners, 1);
    assert_eq!(
        app.whoami(&app.client).await.role,
        Role::Administrator,
        "the old Owner is an Administrator"
    );
    // The new Owner cannot hand it on without their password.
    let winner = responses
        .iter()
        .position(|r| r.status() == StatusCode::OK)
        .unwrap();
    let res = app
        .server_fn(
            &clients[winner],
            "members/transfer_ownership",
            &[
                ("email", admins[(winner + 1) % 10].as_str()),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(
        server_fn_error(res, StatusCode::BAD_REQUEST).await,
        "That is not your password."
    );
    let owner: String = sqlx::query_scalar("SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.role = 'OWNER' AND m.organization_id = $1")
        .bind(org)
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(owner, admins[winner]);
}

async fn the_administrator_transfers_ownership_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let admin = app.add_member(Role::Manager).await.email;
    let pending = app.add_member(Role::NotActivated).await.email;
    let org = app.org_id().await.to_string();
    let (ok, out) = app.cli(&["transfer-ownership", "--org", &org, "--to", &pending], "");
    assert!(!ok && out.contains("active member"), "{out}");
    let (ok, out) = app.cli(&["transfer-ownership", "--org", &org, "--to", &admin], "");
    assert!(ok, "{out}");
    let roles: Vec<(String, String)> = sqlx::query_as("SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email IN ($1, $2) ORDER BY m.role DESC")
        .bind(&owner)
        .bind(&admin)
        .fetch_all(app.db().pool())
        .await
        .unwrap();
    assert!(
        roles.contains(&(admin.clone(), "OWNER".into()))
            && roles.contains(&(owner.clone(), "ADMINISTRATOR".into())),
        "{roles:?}"
    );
    let (ok, out) = app.cli(
        &["transfer-ownership", "--org", "999999", "--to", &admin],
        "",
    );
    assert!(!ok && out.contains("999999"), "{out}");
}

async fn resending_an_invitation_that_finds_no_free_seat_says_so_and_sends_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    app.set_seats(app.org_id().await, 2); // the Owner and one more
    assert_eq!(
        app.invite(&token, &["late@example.com"], Role::Reviewer)
            .await[0]
            .status,
        InviteStatus::Invited
    );
    app.wait_for_mail_to("late@example.com", 1).await;
    // The invitation expires and its seat goes to another one.
    app.expire_invitation_directly("late@example.com").await;
    assert_eq!(
        app.invite(&token, &["prompt@example.com"], Role::Reviewer)
            .await[0]
            .status,
        InviteStatus::Invited
    );
    let pending: PendingInvitations = {
        let res = app.server_fn(&app.client, "invites/pending", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    };
    let late = pending
        .results
        .iter()
        .find(|i| i.email == "late@example.com")
        .expect("still pending");
    assert!(late.expired);

    let res = app
        .server_fn(
            &app.client,
            "invites/resend",
            &[("id", &late.id.to_string())],
        )
        .await;
    assert_eq!(
        app_error(res, StatusCode::CONFLICT).await.to_string(),
        "No free seats: 2 of 2 in use. Deactivate a member or raise the license."
    );
    let still: PendingInvitations = app
        .server_fn(&app.client, "invites/pending", &[])
        .await
        .json()
        .await
        .unwrap();
    let late_again = still
        .results
        .iter()
        .find(|i| i.email == "late@example.com")
        .unwrap();
    assert!(late_again.expired, "nothing was renewed");
    app.wait_for_mail_to("prompt@example.com", 1).await;
    let to_late = app
        .state
        .mailer
        .memory()
        .unwrap()
        .messages()
        .iter()
        .filter(|m| m.to == "late@example.com")
        .count();
    assert_eq!(to_late, 1, "no second message was sent");
}

async fn the_page_and_the_api_refuse_alike_when_no_address_can_take_a_seat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    app.set_seats(app.org_id().await, 1); // the Owner only
    let full = "No free seats: 1 of 1 in use. Deactivate a member or raise the license.";

    let res = app
        .server_fn(
            &app.client,
            "invites/send",
            &[
                ("emails", "one@example.com two@example.com"),
                ("role", "ANNOTATOR"),
            ],
        )
        .await;
    assert_eq!(app_error(res, StatusCode::CONFLICT).await.to_string(), full);
    let detail = app
        .api(Method::POST, "/api/invite/send-email", &token)
        .json(&json!({"emails": ["one@example.com", "two@example.com"]}))
        .error(StatusCode::CONFLICT)
        .await;
    assert_eq!(detail, full);
    // With one address that needs no seat (already a member), the request is answered per address.
    let owner = app.whoami(&app.client).await.email;
    let res = app
        .server_fn(
            &app.client,
            "invites/send",
            &[
                ("emails", &format!("{owner} three@example.com")),
                ("role", "ANNOTATOR"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcomes: Vec<gatehouse::domain::InviteOutcome> = res.json().await.unwrap();
    let statuses: Vec<_> = outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        vec![InviteStatus::AlreadyMember, InviteStatus::NoFreeSeat]
    );
    assert_eq!(app.count("invitations").await, 0);
}

async fn the_transfer_form_says_the_same_for_no_account_and_an_account_elsewhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let elsewhere = format!("{}@example.com", unique("elsewhere-"));
    let res = app.sign_up_with(&new_client(), &elsewhere, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let nobody = format!("{}@example.com", unique("nobody-"));
    let mut messages = Vec::new();
    for address in [&nobody, &elsewhere] {
        let res = app
            .server_fn(
                &app.client,
                "members/transfer_ownership",
                &[("email", address.as_str()), ("password", PASSWORD)],
            )
            .await;
        let message = app_error(res, StatusCode::BAD_REQUEST).await.to_string();
        messages.push(message.replace(address.as_str(), "ADDRESS"));
    }
    assert_eq!(messages[0], messages[1]);
    assert_eq!(messages[0], "ADDRESS is not a member of this organization.");
    assert_eq!(app.whoami(&app.client).await.role, Role::Owner);
}

/// Administrators made straight in the database, each with an API token (for races that need
/// many of them: an Argon2 signup each would take longer than the race).
async fn administrators_directly(app: &TestApp, org: i64, n: usize) -> Vec<(i64, String)> {
    use gatehouse::server::{auth::secrets, db};
    let mut made = Vec::new();
    for id in app
        .insert_members_directly(org, n, Role::Administrator)
        .await
    {
        let salt = secrets::random_bytes::<16>();
        let token = app.state.keys.api_token(id, &salt);
        db::api_tokens::upsert(app.db().pool(), id, &secrets::hash(&token), &salt, 0)
            .await
            .unwrap();
        made.push((id, token));
    }
    made
}

async fn role_in_database(app: &TestApp, org: i64, user_id: i64) -> Role {
    let role: String = sqlx::query_scalar(
        "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
    )
    .bind(org)
    .bind(user_id)
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    role.parse().unwrap()
}

async fn two_administrators_deactivating_each_other_never_both_win(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let org = app.org_id().await;
    let mut refused_under_the_lock = 0;
    for round in 0..8 {
        let pair = administrators_directly(&app, org, 2).await;
        let [(a, a_token), (b, b_token)] = [pair[0].clone(), pair[1].clone()];
        let (to_b, to_a) = tokio::join!(
            change(&app, &a_token, org, b, Role::Deactivated),
            change(&app, &b_token, org, a, Role::Deactivated),
        );
        let mut statuses = [to_b.status(), to_a.status()];
        let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(won, 1, "round {round}: exactly one wins: {statuses:?}");
        // The other is refused: under the lock (403), or already at authentication when the
        // winner's change had ended their credentials (401).
        statuses.sort();
        assert!(
            matches!(
                statuses[1],
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ),
            "round {round}: {statuses:?}"
        );
        for res in [to_b, to_a] {
            if res.status() == StatusCode::FORBIDDEN {
                let detail = error_detail(res, StatusCode::FORBIDDEN).await;
                assert!(
                    detail.starts_with("Your role no longer allows this"),
                    "{detail}"
                );
                refused_under_the_lock += 1;
            }
        }
        let roles = [
            role_in_database(&app, org, a).await,
            role_in_database(&app, org, b).await,
        ];
        assert_eq!(
            roles.iter().filter(|r| **r == Role::Deactivated).count(),
            1,
            "round {round}: {roles:?}"
        );
    }
    println!("{refused_under_the_lock} of 8 rounds refused under the lock");
}

async fn an_administrator_demoted_after_authenticating_is_refused_under_the_lock(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let org = app.org_id().await;
    let pair = administrators_directly(&app, org, 2).await;
    let [(admin, token), (other, _)] = [pair[0].clone(), pair[1].clone()];
    let requests = [
        (
            "a role change",
            app.api(
                Method::PATCH,
                &format!("/api/organizations/{org}/memberships"),
                &token,
            )
            .json(&json!({"user_id": other, "role": Role::Annotator})),
        ),
        (
            "an invitation",
            app.api(Method::POST, "/api/invite/send-email", &token)
                .json(&json!({"emails": ["late@example.com"], "role": "ANNOTATOR"})),
        ),
        (
            "a rename",
            app.api(Method::PATCH, "/api/organization/", &token)
                .json(&json!({"title": "Taken over"})),
        ),
        (
            "a link reset",
            app.api(Method::POST, "/api/invite/reset-token", &token),
        ),
    ];
    for (what, request) in requests {
        // The request is authenticated as an Administrator, then waits for the organization's
        // lock, which this transaction holds while it demotes them.
        let mut tx = app.db().begin().await.unwrap();
        app.db()
            .lock_organization(&mut tx, org)
            .await
            .unwrap()
            .expect("the organization");
        let sent = tokio::spawn(request.send());
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        sqlx::query(
            "UPDATE memberships SET role = 'MANAGER' WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(org)
        .bind(admin)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let res = sent.await.unwrap();
        let detail = error_detail(res, StatusCode::FORBIDDEN).await;
        assert_eq!(
            detail,
            "Your role no longer allows this: you are now Manager in this organization. Reload the page.",
            "{what}"
        );
        sqlx::query("UPDATE memberships SET role = 'ADMINISTRATOR' WHERE organization_id = $1 AND user_id = $2")
            .bind(org)
            .bind(admin)
            .execute(app.db().pool())
            .await
            .unwrap();
    }
    assert_eq!(
        role_in_database(&app, org, other).await,
        Role::Administrator
    );
    let view = app.organization(&app.token(&app.client).await).await;
    assert_ne!(view.title, "Taken over");
    assert_eq!(app.count("invitations").await, 0);
}
