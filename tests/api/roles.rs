//! Roles, seats and the single Owner, under concurrency.

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
);

/// Members straight in the database (fast setup for large counts); returns their user ids.
async fn insert_members(app: &TestApp, organization_id: i64, n: usize, role: &str) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let email = format!("{}@example.com", unique("bulk-"));
        let id: i64 = sqlx::query_scalar("INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'x', 0) RETURNING id")
            .bind(&email)
            .fetch_one(app.db().pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, 0, 0)")
            .bind(organization_id)
            .bind(id)
            .bind(role)
            .execute(app.db().pool())
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn set_seats(app: &TestApp, organization_id: i64, seats: i64) {
    sqlx::query("UPDATE organizations SET seats = $1 WHERE id = $2").bind(seats).bind(organization_id).execute(app.db().pool()).await.unwrap();
}

async fn organization(app: &TestApp, token: &str) -> Value {
    app.api(Method::GET, "/api/organization/", token).await.send().await.unwrap().json().await.unwrap()
}

async fn change(app: &TestApp, token: &str, org: i64, user_id: i64, role: &str) -> reqwest::Response {
    app.api(Method::PATCH, &format!("/api/organizations/{org}/memberships"), token)
        .await
        .json(&json!({"user_id": user_id, "role": role}))
        .send()
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, client: &reqwest::Client) -> i64 {
    client.get(app.url("/api/current-user/whoami")).send().await.unwrap().json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn role_changes_follow_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner_token = app.token(&app.client).await;
    let owner_id = user_id(&app, &app.client).await;
    let org = organization(&app, &owner_token).await["id"].as_i64().unwrap();
    let (_, admin) = app.add_member("ADMINISTRATOR").await;
    let admin_token = app.token(&admin).await;
    let admin_id = user_id(&app, &admin).await;
    let (_, other_admin) = app.add_member("ADMINISTRATOR").await;
    let other_admin_id = user_id(&app, &other_admin).await;
    let (_, manager) = app.add_member("MANAGER").await;
    let manager_token = app.token(&manager).await;
    let manager_id = user_id(&app, &manager).await;

    let res = change(&app, &owner_token, org, manager_id, "OWNER").await;
    assert!(error_detail(res, StatusCode::BAD_REQUEST).await.contains("cannot be assigned"));
    let res = change(&app, &admin_token, org, owner_id, "ANNOTATOR").await;
    assert_eq!(error_detail(res, StatusCode::FORBIDDEN).await, "Nobody can change the Owner's role.");
    let res = change(&app, &admin_token, org, admin_id, "MANAGER").await;
    assert_eq!(error_detail(res, StatusCode::FORBIDDEN).await, "You cannot change your own role.");
    let res = change(&app, &manager_token, org, admin_id, "ANNOTATOR").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a Manager changes no role");
    let res = change(&app, &admin_token, org, other_admin_id, "REVIEWER").await;
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "REVIEWER", "an Administrator changes another Administrator");
    let res = change(&app, &admin_token, org, 999_999, "REVIEWER").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = change(&app, &admin_token, org + 1000, manager_id, "REVIEWER").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = change(&app, &admin_token, org, manager_id, "KING").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The same through the page's server function.
    let res = app.server_fn(&admin, "members/change_role", &[("user_id", &manager_id.to_string()), ("role", "ANNOTATOR")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.server_fn(&manager, "members/change_role", &[("user_id", &admin_id.to_string()), ("role", "ANNOTATOR")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn deactivation_ends_access_at_once_and_frees_the_seat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner_token = app.token(&app.client).await;
    let org = organization(&app, &owner_token).await["id"].as_i64().unwrap();
    let (_, member) = app.add_member("ANNOTATOR").await;
    let member_token = app.token(&member).await;
    let member_id = user_id(&app, &member).await;
    set_seats(&app, org, 2).await;
    assert_eq!(organization(&app, &owner_token).await["seats"], json!({"used": 2, "limit": 2}));

    let res = change(&app, &owner_token, org, member_id, "DEACTIVATED").await;
    assert_eq!(res.status(), StatusCode::OK);
    for res in [
        member.get(app.url("/api/current-user/whoami")).send().await.unwrap(),
        app.api(Method::GET, "/api/organization/", &member_token).await.send().await.unwrap(),
    ] {
        assert!(error_detail(res, StatusCode::FORBIDDEN).await.contains("deactivated"), "session and token end at once");
    }
    assert_eq!(organization(&app, &owner_token).await["seats"]["used"], 1, "the seat is free at once");

    // The seat goes to an invitation; reactivation now finds none free.
    let res = app.api(Method::POST, "/api/invite/send-email", &owner_token).await.json(&json!({"emails": ["seat@example.com"]})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["results"][0]["status"], "invited");
    let res = change(&app, &owner_token, org, member_id, "ANNOTATOR").await;
    assert_eq!(
        error_detail(res, StatusCode::CONFLICT).await,
        "No free seats: 2 of 2 in use. Deactivate a member or raise the license."
    );
    let res = app.api(Method::POST, "/api/invite/send-email", &owner_token).await.json(&json!({"emails": ["more@example.com"]})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "nothing could be invited");
    let body = res.json::<Value>().await.unwrap();
    assert_eq!(body["detail"], "No free seats: 2 of 2 in use. Deactivate a member or raise the license.");
    let result = &body["results"][0];
    assert_eq!(result["status"], "no_free_seat");
    assert!(result["detail"].as_str().unwrap().starts_with("No free seats: 2 of 2 in use."));
    // Revoking frees the seat, and the member comes back with their sessions working again.
    let res = app.api(Method::POST, "/api/invite/revoke", &owner_token).await.json(&json!({"email": "seat@example.com"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = change(&app, &owner_token, org, member_id, "REVIEWER").await;
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "REVIEWER");
    assert_eq!(member.get(app.url("/api/current-user/whoami")).send().await.unwrap().status(), StatusCode::OK);
}

async fn fifty_concurrent_assignments_for_five_free_seats_give_five(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org = organization(&app, &token).await["id"].as_i64().unwrap();
    let pending = insert_members(&app, org, 50, "NOT_ACTIVATED").await;
    set_seats(&app, org, 6).await; // the Owner and 5 free
    let attempts = pending.iter().map(|id| change(&app, &token, org, *id, "ANNOTATOR"));
    let responses = futures::future::join_all(attempts).await;
    let mut ok = 0;
    let mut refused = 0;
    for res in responses {
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {
                assert_eq!(error_detail(res, StatusCode::CONFLICT).await, "No free seats: 6 of 6 in use. Deactivate a member or raise the license.");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!((ok, refused), (5, 45));
    assert_eq!(organization(&app, &token).await["seats"], json!({"used": 6, "limit": 6}));
}

async fn twenty_concurrent_invitations_for_three_free_seats_give_three(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org = organization(&app, &token).await["id"].as_i64().unwrap();
    set_seats(&app, org, 4).await;
    let attempts = (0..20).map(|i| {
        let req = app.client
            .post(app.url("/api/invite/send-email"))
            .header(reqwest::header::AUTHORIZATION, format!("Token {token}"))
            .json(&json!({"emails": [format!("race{i}@example.com")], "role": "ANNOTATOR"}));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["results"][0]["status"].as_str().unwrap().to_owned() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| *s == "invited").count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "no_free_seat").count(), 17, "{statuses:?}");
    assert_eq!(organization(&app, &token).await["seats"], json!({"used": 4, "limit": 4}));
}

async fn ten_concurrent_ownership_transfers_leave_one_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let mut admins = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..10 {
        let (email, client) = app.add_member("ADMINISTRATOR").await;
        admins.push(email);
        clients.push(client);
    }
    let attempts = admins.iter().map(|email| async {
        app.server_fn(&app.client, "members/transfer_ownership", &[("email", email.as_str()), ("password", PASSWORD)]).await
    });
    let responses = futures::future::join_all(attempts).await;
    let ok = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
    assert_eq!(ok, 1);
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK || r.status() == StatusCode::CONFLICT || r.status() == StatusCode::FORBIDDEN));
    let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE role = 'OWNER' AND organization_id = (SELECT MIN(id) FROM organizations)")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(owners, 1);
    let me: Value = app.client.get(app.url("/api/current-user/whoami")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "ADMINISTRATOR", "the old Owner is an Administrator");
    // The new Owner cannot hand it on without their password.
    let winner = responses.iter().position(|r| r.status() == StatusCode::OK).unwrap();
    let res = app
        .server_fn(&clients[winner], "members/transfer_ownership", &[("email", admins[(winner + 1) % 10].as_str()), ("password", "not my password")])
        .await;
    assert_eq!(server_fn_error(res, StatusCode::BAD_REQUEST).await, "That is not your password.");
    let owner: String = sqlx::query_scalar("SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.role = 'OWNER' AND m.organization_id = (SELECT MIN(id) FROM organizations)")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    assert_eq!(owner, admins[winner]);
}

async fn the_administrator_transfers_ownership_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let (admin, _) = app.add_member("MANAGER").await;
    let (pending, _) = app.add_member("NOT_ACTIVATED").await;
    let org = organization(&app, &app.token(&app.client).await).await["id"].to_string();
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(&args)
            .env("DATABASE_URL", &app.database.url)
            .env("LABEL_STUDIO_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (ok, out) = run(vec!["transfer-ownership".into(), "--org".into(), org.clone(), "--to".into(), pending.clone()]);
    assert!(!ok && out.contains("active member"), "{out}");
    let (ok, out) = run(vec!["transfer-ownership".into(), "--org".into(), org.clone(), "--to".into(), admin.clone()]);
    assert!(ok, "{out}");
    let roles: Vec<(String, String)> = sqlx::query_as("SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email IN ($1, $2) ORDER BY m.role DESC")
        .bind(&owner)
        .bind(&admin)
        .fetch_all(app.db().pool())
        .await
        .unwrap();
    assert!(roles.contains(&(admin.clone(), "OWNER".into())) && roles.contains(&(owner.clone(), "ADMINISTRATOR".into())), "{roles:?}");
    let (ok, out) = run(vec!["transfer-ownership".into(), "--org".into(), "999999".into(), "--to".into(), admin]);
    assert!(!ok && out.contains("999999"), "{out}");
}
