//! The organization endpoints, API tokens, and who may use them.

use gatehouse::domain::{OrganizationView, Role};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    an_owner_reads_and_renames_the_organization_with_a_token,
    the_organization_is_addressed_by_id_and_other_ids_are_not_found,
    renaming_rejects_bad_titles_with_a_clear_message,
    missing_or_wrong_tokens_are_unauthorized,
    only_owner_and_administrator_may_rename,
    pending_members_get_403_and_deactivated_ones_401_from_every_endpoint,
    whoami_and_the_token_endpoints,
    resetting_the_token_kills_the_old_one,
);

async fn an_owner_reads_and_renames_the_organization_with_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let client = reqwest::Client::new();
    // Exactly the documented curl call.
    let res = client
        .patch(app.url("/api/organization/"))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Token {token}"))
        .body(r#"{"title": "new title"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let org: OrganizationView = res.json().await.unwrap();
    assert_eq!(org.title, "new title");
    assert_eq!(org.owner.email, email);
    assert!(org.created_at.ends_with('Z'));

    assert_eq!(app.organization(&token).await.title, "new title");
    // Without the trailing slash too; titles are trimmed.
    let org: OrganizationView = app
        .api(Method::PATCH, "/api/organization", &token)
        .json(&json!({"title": "  Labelers  "}))
        .json_ok()
        .await;
    assert_eq!(org.title, "Labelers");
    let res = app
        .api(Method::PATCH, "/api/organization/", &token)
        .json(&json!({"title": "t".repeat(1000)}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK, "1000 characters are allowed");
}

async fn the_organization_is_addressed_by_id_and_other_ids_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let other = new_client();
    app.sign_up_with(&other, "other@example.com", PASSWORD)
        .await;
    let other_token = app.token(&other).await;

    let mine = app.organization(&token).await;
    let theirs = app.organization(&other_token).await;
    let id = app.org_id().await;
    let by_id: OrganizationView = app
        .api(Method::GET, &format!("/api/organizations/{id}"), &token)
        .json_ok()
        .await;
    assert_eq!(by_id, mine);
    let renamed: OrganizationView = app
        .api(Method::PATCH, &format!("/api/organizations/{id}"), &token)
        .json(&json!({"title": "by id"}))
        .json_ok()
        .await;
    assert_eq!(renamed.title, "by id");

    let their_id = theirs.id;
    for path in [
        format!("/api/organizations/{their_id}"),
        "/api/organizations/999999".into(),
        "/api/organizations/abc".into(),
        // Not UTF-8, and the id with a space before it: neither is the caller's organization.
        "/api/organizations/%FF".into(),
        format!("/api/organizations/%20{id}"),
        "/api/organizations/%FF/memberships".into(),
    ] {
        assert_eq!(
            app.api(Method::GET, &path, &token)
                .error(StatusCode::NOT_FOUND)
                .await,
            "Organization not found."
        );
        let res = app
            .api(Method::PATCH, &path, &token)
            .json(&json!({"title": "hijack"}))
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(
        app.organization(&other_token).await.title,
        "other@example.com",
        "the other organization is untouched"
    );
}

async fn renaming_rejects_bad_titles_with_a_clear_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let patch = |body: String, content_type: &'static str| {
        let req = app
            .client
            .patch(app.url("/api/organization/"))
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let cases: Vec<(String, &str, StatusCode, &str)> = vec![
        (
            r#"{"title": ""}"#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "cannot be empty",
        ),
        (
            r#"{"title": "   "}"#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "cannot be empty",
        ),
        (
            json!({"title": "t".repeat(1001)}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "at most 1000",
        ),
        (
            r#"{"title": 5}"#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "expected a string",
        ),
        (
            r#"{"title": ["a"]}"#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "expected a string",
        ),
        (
            r#"{"title": "x""#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "EOF",
        ),
        (
            "not json".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "JSON",
        ),
        (
            "{}".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "title",
        ),
        (
            "[]".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "JSON",
        ),
        (
            r#"{"title": "x"}"#.into(),
            "text/plain",
            StatusCode::BAD_REQUEST,
            "Content-Type: application/json",
        ),
        (
            json!({"title": "x".repeat(300 * 1024)}).to_string(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (body, content_type, status, words) in cases {
        let detail = error_detail(patch(body.clone(), content_type).await, status).await;
        assert!(detail.contains(words), "{body:.60}: {detail}");
    }
    let res = patch(r#"{"title": ""}"#.into(), "application/json").await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["validation_errors"]["title"][0],
        "The title cannot be empty."
    );
    assert_eq!(
        app.organization(&token).await.title,
        email,
        "nothing was renamed"
    );
}

async fn missing_or_wrong_tokens_are_unauthorized(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let anonymous = new_client();
    for (method, path) in [
        (Method::GET, "/api/organization/"),
        (Method::PATCH, "/api/organization/"),
        (Method::GET, "/api/organizations/1"),
        (Method::GET, "/api/current-user/whoami"),
        (Method::GET, "/api/current-user/token"),
        (Method::POST, "/api/current-user/reset-token"),
    ] {
        let res = anonymous
            .request(method.clone(), app.url(path))
            .json(&json!({"title": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Token"
        );
        assert_eq!(
            error_detail(res, StatusCode::UNAUTHORIZED).await,
            "Sign in to continue."
        );
        for bad in [
            format!("Token {token}x"),
            "Token ".into(),
            format!("Bearer {token}"),
            token.clone(),
        ] {
            let res = anonymous
                .request(method.clone(), app.url(path))
                .header(header::AUTHORIZATION, bad.clone())
                .json(&json!({"title": "x"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}"
            );
        }
    }
    // A wrong token is not rescued by a valid session cookie.
    let res = app
        .client
        .get(app.url("/api/organization/"))
        .header(header::AUTHORIZATION, "Token nope")
        .send()
        .await
        .unwrap();
    assert!(error_detail(res, StatusCode::UNAUTHORIZED)
        .await
        .contains("Invalid token"));
}

async fn only_owner_and_administrator_may_rename(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    for (role, allowed) in [
        (Role::Administrator, true),
        (Role::Manager, false),
        (Role::Reviewer, false),
        (Role::Annotator, false),
    ] {
        let member = app.add_member(role).await;
        let token = app.token(&member.client).await;
        let res = app
            .api(Method::GET, "/api/organization/", &token)
            .send()
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{role} reads the organization"
        );
        let res = app
            .api(Method::PATCH, "/api/organization/", &token)
            .json(&json!({"title": role}))
            .send()
            .await;
        if allowed {
            assert_eq!(
                res.json::<OrganizationView>().await.unwrap().title,
                role.as_str()
            );
        } else {
            assert!(
                error_detail(res, StatusCode::FORBIDDEN)
                    .await
                    .contains("Only the Owner or an Administrator"),
                "{role}"
            );
            // The same through the app's own server function.
            let res = app
                .server_fn(&member.client, "organization/rename", &[("title", "nope")])
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
            let res = app.server_fn(&member.client, "organization/get", &[]).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
        }
    }
}

async fn pending_members_get_403_and_deactivated_ones_401_from_every_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    for role in [Role::NotActivated, Role::Deactivated] {
        // Active first: a Pending or Deactivated member cannot read their token.
        let Member {
            id, client: member, ..
        } = app.add_member(Role::Annotator).await;
        let token = app.token(&member).await;
        app.set_role(id, role).await;
        for (method, path) in [
            (Method::GET, "/api/organization/"),
            (Method::PATCH, "/api/organization/"),
            (Method::GET, "/api/current-user/whoami"),
            (Method::GET, "/api/current-user/token"),
            (Method::POST, "/api/current-user/reset-token"),
        ] {
            for res in [
                app.api(method.clone(), path, &token)
                    .json(&json!({"title": "x"}))
                    .send()
                    .await,
                member
                    .request(method.clone(), app.url(path))
                    .json(&json!({"title": "x"}))
                    .send()
                    .await
                    .unwrap(),
            ] {
                // Deactivation ended the session and replaced the token.
                let expected = if role == Role::Deactivated {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(res.status(), expected, "{role} {method} {path}");
            }
        }
    }
}

async fn whoami_and_the_token_endpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let me: WhoAmI = app
        .api(Method::GET, "/api/current-user/whoami", &token)
        .json_ok()
        .await;
    assert_eq!(me.email, email);
    assert_eq!(me.role, Role::Owner);
    assert!(me.id > 0);
    assert!(me.organization_id > 0);
    // The token is stable until reset.
    assert_eq!(app.token(&app.client).await, token);
}

async fn resetting_the_token_kills_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let old = app.token(&app.client).await;
    let new = app
        .api(Method::POST, "/api/current-user/reset-token", &old)
        .json_ok::<ApiToken>()
        .await
        .token;
    assert_ne!(new, old);
    let res = app
        .api(Method::GET, "/api/organization/", &old)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .api(Method::GET, "/api/organization/", &new)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.token(&app.client).await,
        new,
        "the account page shows the new token"
    );
    // Through the account page's server function too.
    let res = app
        .server_fn(&app.client, "account/reset_api_token", &[])
        .await;
    let newest: String = res.json().await.unwrap();
    assert_ne!(newest, new);
    assert_eq!(
        app.api(Method::GET, "/api/organization/", &new)
            .send()
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}
