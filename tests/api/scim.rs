//! SCIM 2.0 provisioning (SPEC section 11): the request sequences Okta and Microsoft Entra ID send
//! (written out from their public SCIM documentation in `tests/scim/*.json`) replayed against the
//! server, its errors, the seats and the single Owner under concurrency, and what deactivation
//! ends. scim2-tester checks the release build besides (`.ci/scim`).

use std::collections::HashMap;

use gatehouse::domain::Role;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    okta_requests_provision_regroup_deactivate_and_remove,
    entra_requests_provision_regroup_deactivate_and_remove,
    only_the_live_token_of_the_organization_is_taken,
    errors_are_scim_errors_with_their_type,
    the_owner_is_never_deactivated_or_removed_and_users_are_unique,
    creates_racing_for_the_last_seats_leave_the_rest_pending,
    deactivation_ends_sessions_and_tokens_and_races_a_role_change_consistently,
    a_provisioned_account_is_mailed_a_link_to_choose_its_password,
    filters_and_paging_find_members_and_groups,
    settings_are_read_by_admins_and_changed_by_the_owner,
);

/// The organization's SCIM token, made by the Owner (the app's own client).
async fn scim_token(app: &TestApp) -> String {
    scim_token_of(app, &app.client).await
}

/// The SCIM token of the organization whose Owner `owner` is signed in as.
async fn scim_token_of(app: &TestApp, owner: &reqwest::Client) -> String {
    let res = app.server_fn(owner, "scim/create_token", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token: String = res.json().await.unwrap();
    assert!(token.starts_with("ghs_"), "{token}");
    token
}

/// A SCIM request with `token`, and its status and JSON body (`Null` when there is none).
async fn scim(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    scim_as(app, token, method, path, body, "application/scim+json").await
}

async fn scim_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
) -> (StatusCode, Value) {
    let mut request = new_client()
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(body) = body {
        request = request
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_string());
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    if status != StatusCode::NO_CONTENT {
        let kind = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            kind.as_deref(),
            Some("application/scim+json"),
            "{path}: every answer is SCIM JSON"
        );
    }
    let text = res.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))
    };
    (status, json)
}

/// The role of the member with `email` in the Owner's organization, `None` when not a member.
async fn role_of(app: &TestApp, email: &str) -> Option<Role> {
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let page: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/memberships?search={email}"),
            &owner,
        )
        .json_ok()
        .await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .map(|m| serde_json::from_value(m["role"].clone()).unwrap())
}

/// Whether `actual` holds everything `expected` says: objects key by key, arrays element by
/// element (of the same length), other values equal.
fn holds(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|found| holds(found, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| holds(x, y))
        }
        _ => actual == expected,
    }
}

fn substitute(value: &Value, vars: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for (name, v) in vars {
                s = s.replace(&format!("${{{name}}}"), v);
            }
            Value::String(s)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn role_named(name: &str) -> Role {
    match name {
        "Pending" => Role::NotActivated,
        other => other.to_uppercase().parse().unwrap(),
    }
}

/// Replays `tests/scim/{name}.json` step by step.
async fn replay(backend: Backend, name: &str) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    let path = format!("{}/tests/scim/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let owner = app.token(&app.client).await;
    app.api(Method::POST, "/api/scim/settings", &owner)
        .json(&json!({"roles_groups": fixture["settings"]["roles_groups"]}))
        .json_ok::<Value>()
        .await;
    let mut vars = HashMap::new();
    for step in fixture["steps"].as_array().unwrap() {
        let what = step["name"].as_str().unwrap();
        let path = substitute(&step["path"], &vars);
        let body = step.get("body").map(|b| substitute(b, &vars));
        let method: Method = step["method"].as_str().unwrap().parse().unwrap();
        let content_type = step["content_type"]
            .as_str()
            .unwrap_or("application/scim+json");
        let (status, answer) = scim_as(
            &app,
            &token,
            method,
            path.as_str().unwrap(),
            body.as_ref(),
            content_type,
        )
        .await;
        let expect = &step["expect"];
        assert_eq!(
            status.as_u16() as u64,
            expect["status"].as_u64().unwrap(),
            "{name}: {what}: {answer}"
        );
        if let Some(expected) = expect.get("body") {
            let expected = substitute(expected, &vars);
            assert!(
                holds(&answer, &expected),
                "{name}: {what}:\n got {answer:#}\n expected at least {expected:#}"
            );
        }
        if let Some(capture) = step.get("capture").and_then(Value::as_object) {
            for (var, pointer) in capture {
                let value = answer.pointer(pointer.as_str().unwrap()).unwrap();
                vars.insert(var.clone(), value.as_str().unwrap().to_owned());
            }
        }
        if let Some(member) = step.get("member").filter(|m| !m.is_null()) {
            let email = member["email"].as_str().unwrap();
            let wanted = member["role"].as_str().map(role_named);
            assert_eq!(role_of(&app, email).await, wanted, "{name}: {what}");
        }
    }
    let org = app.org_id().await;
    let (ok, out) = app.cli(&["audit", "verify", "--org", &org.to_string()], "");
    assert!(ok, "the audit chain holds after the replay: {out}");
    // Every change the provider made is in the log as its own.
    let entries: Value = app
        .api(
            Method::GET,
            "/api/activity-logs?actor=scim&page_size=100",
            &owner,
        )
        .json_ok()
        .await;
    assert!(
        entries["count"].as_i64().unwrap() >= 5,
        "the provider's changes are logged with the actor scim: {entries}"
    );
}

async fn okta_requests_provision_regroup_deactivate_and_remove(backend: Backend) {
    replay(backend, "okta").await;
}

async fn entra_requests_provision_regroup_deactivate_and_remove(backend: Backend) {
    replay(backend, "entra").await;
}

async fn only_the_live_token_of_the_organization_is_taken(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let first = scim_token(&app).await;
    let (status, body) = scim(&app, &first, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 1, "the Owner is a User: {body}");

    // A new token replaces the old one at once.
    let second = scim_token(&app).await;
    let (status, body) = scim(&app, &first, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["status"], "401");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    for wrong in [
        "",
        "Bearer",
        "Bearer ght_x",
        "Token ghs_x",
        "Basic Z2hzXw==",
    ] {
        let res = new_client()
            .get(app.url("/scim/v2/Users"))
            .header(header::AUTHORIZATION, wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    // The Owner's session is not a SCIM credential.
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Another organization's token sees only its own members.
    let other_owner = new_client();
    let other_email = format!("{}@example.com", unique("other-owner-"));
    let res = app
        .sign_up_with(&other_owner, &other_email, "another-password-123")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let other_token = scim_token_of(&app, &other_owner).await;
    let other = &app;
    let (_, created) = scim(
        &app,
        &second,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": "only-here@example.com"})),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, _) = scim(
        other,
        &other_token,
        Method::GET,
        &format!("/scim/v2/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "one organization's token never reads another's member"
    );
    let (status, _) = scim(
        other,
        &other_token,
        Method::DELETE,
        &format!("/scim/v2/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoked, it is refused; the Owner's revocation is logged.
    let res = app.server_fn(&app.client, "scim/revoke_token", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _) = scim(&app, &second, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Only the Owner makes tokens.
    let admin = app.add_member(Role::Administrator).await;
    let res = app.server_fn(&admin.client, "scim/create_token", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn errors_are_scim_errors_with_their_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    // (method, path, body, status, scimType)
    type Case = (
        Method,
        &'static str,
        Option<Value>,
        u16,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20sw%20%22a%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?filter=title%20eq%20%22x%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22a%22%20or%20userName%20eq%20%22b%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?count=many",
            None,
            400,
            Some("invalidValue"),
        ),
        (Method::GET, "/scim/v2/Users/nonsense", None, 404, None),
        (Method::GET, "/scim/v2/Groups/99999", None, 404, None),
        (Method::GET, "/scim/v2/Nothing", None, 404, None),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"name": {"givenName": "A"}})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "a@example.com", "shoeSize": 9})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "a@example.com", "active": "perhaps"})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "a@example.com", "urn:example:custom:1.0": {}})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({"displayName": "g", "members": [{"value": "424242"}]})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/1",
            Some(json!({"Operations": [{"op": "move", "path": "x"}]})),
            400,
            Some("invalidSyntax"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/1",
            Some(json!({"Operations": [{"op": "remove"}]})),
            400,
            Some("noTarget"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/1",
            Some(json!({"Operations": [{"op": "add", "path": "groups", "value": []}]})),
            400,
            Some("mutability"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/1",
            Some(
                json!({"Operations": [{"op": "add", "path": "urn:example:x:1.0:User:y", "value": 1}]}),
            ),
            400,
            Some("invalidPath"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/1",
            Some(
                json!({"Operations": [{"op": "replace", "path": "emails[type eq]", "value": "x"}]}),
            ),
            400,
            Some("invalidFilter"),
        ),
        (
            Method::PUT,
            "/scim/v2/ServiceProviderConfig",
            Some(json!({})),
            405,
            None,
        ),
    ];
    for (method, path, body, status, scim_type) in cases {
        let (got, answer) = scim(&app, &token, method.clone(), path, body.as_ref()).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {answer}");
        assert_eq!(answer["status"], status.to_string(), "{path}");
        assert_eq!(
            answer["scimType"].as_str(),
            scim_type,
            "{method} {path}: {answer}"
        );
        assert!(
            answer["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{path}"
        );
    }
    // A body that is not JSON, and one of another type.
    let (status, answer) = scim_as(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!("x")),
        "application/scim+json",
    )
    .await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
    let res = new_client()
        .post(app.url("/scim/v2/Users"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = new_client()
        .post(app.url("/scim/v2/Users"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn the_owner_is_never_deactivated_or_removed_and_users_are_unique(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = app.sign_up().await;
    let token = scim_token(&app).await;
    let (_, list) = scim(
        &app,
        &token,
        Method::GET,
        &format!("/scim/v2/Users?filter=userName%20eq%20%22{owner_email}%22"),
        None,
    )
    .await;
    let owner_id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
        json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        json!({"Operations": [{"op": "replace", "path": "userName", "value": "taken-over@example.com"}]}),
    ] {
        let (status, answer) = scim(
            &app,
            &token,
            Method::PATCH,
            &format!("/scim/v2/Users/{owner_id}"),
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(answer["scimType"], "mutability");
    }
    let (status, answer) = scim(
        &app,
        &token,
        Method::DELETE,
        &format!("/scim/v2/Users/{owner_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::FORBIDDEN, Some("mutability"))
    );
    assert_eq!(role_of(&app, &owner_email).await, Some(Role::Owner));

    // The Owner's name may change; their role never does.
    let (status, _) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/scim/v2/Users/{owner_id}"),
        Some(
            &json!({"Operations": [{"op": "replace", "path": "name.givenName", "value": "Olga"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let jane = json!({"userName": "jane@example.com", "externalId": "e-1"});
    let (status, _) = scim(&app, &token, Method::POST, "/scim/v2/Users", Some(&jane)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = scim(&app, &token, Method::POST, "/scim/v2/Users", Some(&jane)).await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": "john@example.com", "externalId": "e-1"})),
    )
    .await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness")),
        "externalId is unique"
    );
    // An account of another organization is not taken.
    let other_owner = format!("{}@example.com", unique("other-owner-"));
    let res = app
        .sign_up_with(&new_client(), &other_owner, "another-password-123")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": other_owner})),
    )
    .await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );
    // A member who joined by invitation is taken over, with their role.
    let member = app.add_member(Role::Manager).await;
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": member.email, "externalId": "e-2"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["id"], member.id.to_string());
    assert_eq!(role_of(&app, &member.email).await, Some(Role::Manager));
    let row = app.member_row(&member.email).await;
    assert_eq!(row.role, Role::Manager);
}

async fn creates_racing_for_the_last_seats_leave_the_rest_pending(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    let org = app.org_id().await;
    // The Owner holds one seat: five are left.
    app.set_seats(org, 6);
    let requests = (0..50).map(|i| {
        let app = &app;
        let token = token.clone();
        async move {
            let body = json!({"userName": format!("racer-{i}@example.com"), "active": true});
            scim(app, &token, Method::POST, "/scim/v2/Users", Some(&body)).await
        }
    });
    let answers = futures::future::join_all(requests).await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let mut seated = 0;
    let mut pending = 0;
    for i in 0..50 {
        match role_of(&app, &format!("racer-{i}@example.com")).await {
            Some(Role::Annotator) => seated += 1,
            Some(Role::NotActivated) => pending += 1,
            other => panic!("racer-{i}: {other:?}"),
        }
    }
    assert_eq!((seated, pending), (5, 45));
    let (ok, out) = app.cli(&["audit", "verify", "--org", &org.to_string()], "");
    assert!(ok, "{out}");
}

async fn deactivation_ends_sessions_and_tokens_and_races_a_role_change_consistently(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    let member = app.add_member(Role::Annotator).await;
    let api_token = app.token(&member.client).await;
    assert_eq!(status_of_whoami(&app, &member.client).await, StatusCode::OK);
    let (status, answer) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/scim/v2/Users/{}", member.id),
        Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["active"], false);
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    let res = app
        .api(Method::GET, "/api/current-user/whoami", &api_token)
        .send()
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the API token was replaced"
    );
    // Restored: the role they had.
    let (_, answer) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/scim/v2/Users/{}", member.id),
        Some(&json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})),
    )
    .await;
    assert_eq!(answer["active"], true);
    assert_eq!(role_of(&app, &member.email).await, Some(Role::Annotator));

    // A deactivation racing an administrator's role change: each answer is a success or a clear
    // refusal, the member ends in one of the two states, and the log's chain holds.
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    for round in 0..5 {
        let target = app.add_member(Role::Annotator).await;
        let path = format!("/scim/v2/Users/{}", target.id);
        let body = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        let deactivate = scim(&app, &token, Method::PATCH, &path, Some(&body));
        let promote = app
            .api(
                Method::PATCH,
                &format!("/api/organizations/{org}/memberships"),
                &owner,
            )
            .json(&json!({"user_id": target.id, "role": "MANAGER"}))
            .send();
        let ((scim_status, _), promoted) = tokio::join!(deactivate, promote);
        assert!(
            scim_status == StatusCode::OK || scim_status == StatusCode::CONFLICT,
            "round {round}: {scim_status}"
        );
        assert!(
            promoted.status() == StatusCode::OK || promoted.status() == StatusCode::CONFLICT,
            "round {round}: {}",
            promoted.status()
        );
        let role = role_of(&app, &target.email).await.unwrap();
        assert!(
            matches!(role, Role::Deactivated | Role::Manager),
            "round {round}: {role:?}"
        );
        if role == Role::Deactivated {
            assert_eq!(
                status_of_whoami(&app, &target.client).await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let (ok, out) = app.cli(&["audit", "verify", "--org", &org.to_string()], "");
    assert!(ok, "{out}");
}

async fn a_provisioned_account_is_mailed_a_link_to_choose_its_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    let email = format!("{}@example.com", unique("provisioned-"));
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": email, "name": {"givenName": "Pat", "familyName": "Lee"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mail = app.wait_for_mail_to(&email, 1).await;
    assert!(
        mail.subject.contains("choose your password"),
        "{}",
        mail.subject
    );
    let link = mail
        .text
        .lines()
        .find(|l| l.contains("token=ghr_"))
        .expect("a ghr_ link")
        .trim()
        .to_owned();
    let reset_token = link.split("token=").nth(1).unwrap();
    let row = app.member_row(&email).await;
    assert_eq!(
        (row.first_name.as_str(), row.last_name.as_str()),
        ("Pat", "Lee")
    );
    assert_eq!(row.role, Role::Annotator);
    // Six days later it still works (it is valid for seven).
    app.advance(std::time::Duration::from_secs(6 * 24 * 3600));
    let res = new_client()
        .post(app.url("/api/password-reset/confirm"))
        .json(&json!({"token": reset_token, "password": "a-fresh-password-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "{}",
        res.text().await.unwrap()
    );
    let client = new_client();
    let res = app.log_in_with(&client, &email, "a-fresh-password-9").await;
    assert_eq!(res.status(), StatusCode::OK);

    // A User without any address gets none mailed, and an undeliverable placeholder.
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": "8c1f2d3e-no-address"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["userName"], "8c1f2d3e-no-address");
}

async fn filters_and_paging_find_members_and_groups(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = scim_token(&app).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let (_, answer) = scim(
            &app,
            &token,
            Method::POST,
            "/scim/v2/Users",
            Some(&json!({"userName": format!("Pager-{i}@Example.com"), "externalId": format!("x{i}")})),
        )
        .await;
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    let (_, page) = scim(
        &app,
        &token,
        Method::GET,
        "/scim/v2/Users?startIndex=3&count=2",
        None,
    )
    .await;
    assert_eq!(page["totalResults"], 8);
    assert_eq!(page["startIndex"], 3);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["Resources"].as_array().unwrap().len(), 2);
    let (_, page) = scim(&app, &token, Method::GET, "/scim/v2/Users?count=0", None).await;
    assert_eq!(
        (
            page["totalResults"].as_i64(),
            page["Resources"].as_array().map(Vec::len)
        ),
        (Some(8), Some(0))
    );
    for filter in [
        "userName eq \"PAGER-3@example.com\"",
        "externalId eq \"x3\"",
        "emails.value eq \"pager-3@example.com\"",
        "userName eq \"pager-3@example.com\" and externalId eq \"x3\"",
        &format!("id eq \"{}\"", ids[3]),
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .finish();
        let (status, page) = scim(
            &app,
            &token,
            Method::GET,
            &format!("/scim/v2/Users?{query}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{filter}");
        assert_eq!(page["totalResults"], 1, "{filter}: {page}");
        assert_eq!(page["Resources"][0]["userName"], "pager-3@example.com");
    }
    let (_, page) = scim(
        &app,
        &token,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22nobody%22",
        None,
    )
    .await;
    assert_eq!(
        page,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );

    let (status, group) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Groups",
        Some(
            &json!({"displayName": "Labelers", "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap();
    let (_, page) = scim(
        &app,
        &token,
        Method::GET,
        &format!("/scim/v2/Groups?filter=members%20eq%20%22{}%22", ids[1]),
        None,
    )
    .await;
    assert_eq!(page["totalResults"], 1);
    let (_, page) = scim(
        &app,
        &token,
        Method::GET,
        "/scim/v2/Groups?filter=displayName%20eq%20%22Labelers%22&excludedAttributes=members",
        None,
    )
    .await;
    assert_eq!(page["Resources"][0]["id"], gid);
    assert!(page["Resources"][0].get("members").is_none());
    let (_, user) = scim(
        &app,
        &token,
        Method::GET,
        &format!("/scim/v2/Users/{}?attributes=userName", ids[0]),
        None,
    )
    .await;
    assert_eq!(user["userName"], "pager-0@example.com");
    assert!(user.get("externalId").is_none() && user.get("id").is_some());
    let (_, user) = scim(
        &app,
        &token,
        Method::GET,
        &format!("/scim/v2/Users/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(user["groups"][0]["display"], "Labelers");
    let (_, search) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/Users/.search",
        Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "externalId eq \"x5\"", "attributes": ["userName"]})),
    )
    .await;
    assert_eq!(search["Resources"][0]["userName"], "pager-5@example.com");
    // At the root: Users, then Groups; a filter on a Group attribute selects only groups.
    let (_, everything) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/.search",
        Some(&json!({})),
    )
    .await;
    assert_eq!(
        everything["totalResults"], 9,
        "8 users and a group: {everything}"
    );
    assert_eq!(everything["Resources"][8]["displayName"], "Labelers");
    let (_, page) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/.search",
        Some(&json!({"startIndex": 8, "count": 2})),
    )
    .await;
    assert_eq!(page["Resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["Resources"][1]["id"], gid);
    let (_, groups) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/.search",
        Some(&json!({"filter": "displayName eq \"Labelers\""})),
    )
    .await;
    assert_eq!(groups["totalResults"], 1);
    let (status, answer) = scim(
        &app,
        &token,
        Method::POST,
        "/scim/v2/.search",
        Some(&json!({"filter": "title eq \"x\""})),
    )
    .await;
    assert_eq!(
        (status, answer["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"))
    );
}

async fn settings_are_read_by_admins_and_changed_by_the_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let admin = app.add_member(Role::Administrator).await;
    let admin_token = app.token(&admin.client).await;
    let saved: Value = app
        .api(Method::POST, "/api/scim/settings/", &owner)
        .json(&json!({"roles_groups": [["Administrator", "admins"], ["ANNOTATOR", "labelers"]]}))
        .json_ok()
        .await;
    assert_eq!(
        saved["roles_groups"],
        json!([["Administrator", "admins"], ["Annotator", "labelers"]])
    );
    let read: Value = app
        .api(Method::GET, "/api/scim/settings", &admin_token)
        .json_ok()
        .await;
    assert_eq!(read, saved);
    let res = app
        .api(Method::POST, "/api/scim/settings", &admin_token)
        .json(&json!({"roles_groups": []}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    for bad in [
        json!({"roles_groups": [["Owner", "owners"]]}),
        json!({"roles_groups": [["Administrator", ""]]}),
        json!({"roles_groups": "admins"}),
    ] {
        let res = app
            .api(Method::POST, "/api/scim/settings", &owner)
            .json(&bad)
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
