//! The user's own account: names (given at signup, changed later, shown and searchable), the
//! password (changing it ends the other sessions) and the sessions list.

use gatehouse::domain::{MemberPage, Profile, Role, SessionView, SignInMethod};
use reqwest::{Client, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::helpers::*;

crate::on_both_databases!(
    names_given_at_signup_and_changed_later_are_shown_and_searchable,
    changing_the_password_ends_other_sessions_and_keeps_this_one,
    wrong_current_passwords_are_refused_and_limited,
    sessions_are_listed_without_secrets_and_ended_one_by_one_or_all_but_this,
    the_account_page_shows_name_password_and_sessions,
    each_session_records_how_it_was_opened,
    create_owner_on_the_command_line_takes_a_name,
);

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const NEW_PASSWORD: &str = "a brand new passphrase";

#[derive(Deserialize)]
struct Sessions {
    results: Vec<SessionView>,
}

fn client_with_agent(agent: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(agent)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn members_matching(app: &TestApp, token: &str, search: &str) -> MemberPage {
    let org = app.org_id().await;
    let path = format!("/api/organizations/{org}/memberships?search={search}");
    app.api(Method::GET, &path, token).json_ok().await
}

async fn validation_errors(res: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    body["validation_errors"].clone()
}

async fn names_given_at_signup_and_changed_later_are_shown_and_searchable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = format!("{}@example.com", unique("ada-"));
    let res = app
        .server_fn(
            &app.client,
            "auth/sign_up",
            &[
                ("email", &email),
                ("password", PASSWORD),
                ("first_name", " Ada "),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let owner = app.token(&app.client).await;
    let found = members_matching(&app, &owner, "lovelace").await;
    assert_eq!(found.count, 1, "{found:?}");
    let row = &found.results[0];
    assert_eq!(
        (
            row.name.as_str(),
            row.first_name.as_str(),
            row.last_name.as_str()
        ),
        ("Ada Lovelace", "Ada", "Lovelace")
    );

    // A member who signed up without a name (as old callers do) gives one later.
    let member = app.add_member(Role::Annotator).await;
    let member_token = app.token(&member.client).await;
    assert_eq!(members_matching(&app, &owner, "grace").await.count, 0);
    let saved: Profile = app
        .api(Method::PATCH, "/api/current-user", &member_token)
        .json(&json!({"first_name": "  Grace ", "last_name": "Hopper"}))
        .json_ok()
        .await;
    assert_eq!(
        (saved.first_name.as_str(), saved.last_name.as_str()),
        ("Grace", "Hopper")
    );
    assert_eq!(saved.email, member.email);
    let found = members_matching(&app, &owner, "grace%20hop").await;
    assert_eq!(found.count, 1, "first and last name are searched together");
    assert_eq!(found.results[0].user_id, member.id);
    assert_eq!(found.results[0].name, "Grace Hopper");

    // A field left out keeps its value.
    let saved: Profile = app
        .api(Method::PATCH, "/api/current-user", &member_token)
        .json(&json!({"last_name": "Murray Hopper"}))
        .json_ok()
        .await;
    assert_eq!(
        (saved.first_name.as_str(), saved.last_name.as_str()),
        ("Grace", "Murray Hopper")
    );

    // Too long, or with characters that would change how the table reads: refused, nothing saved.
    for (body, field) in [
        (json!({"first_name": "x".repeat(151)}), "first_name"),
        (json!({"last_name": "evil\u{202E}gpj.exe"}), "last_name"),
        (json!({"first_name": "two\nlines"}), "first_name"),
    ] {
        let res = app
            .api(Method::PATCH, "/api/current-user", &member_token)
            .json(&body)
            .send()
            .await;
        let errors = validation_errors(res, StatusCode::BAD_REQUEST).await;
        assert!(errors.get(field).is_some(), "{body}: {errors}");
    }
    let res = app
        .server_fn(
            &app.client,
            "auth/sign_up",
            &[
                ("email", "toolong@example.com"),
                ("password", PASSWORD),
                ("first_name", &"x".repeat(151)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The Account page's server functions.
    let res = app
        .server_fn(
            &member.client,
            "account/rename",
            &[("first_name", "Grace"), ("last_name", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let profile: Profile = app
        .server_fn(&member.client, "account/profile", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (profile.first_name.as_str(), profile.last_name.as_str()),
        ("Grace", "")
    );
    let found = members_matching(&app, &owner, &member.email).await;
    assert_eq!(found.results[0].name, "Grace");
}

async fn changing_the_password_ends_other_sessions_and_keeps_this_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let laptop = new_client();
    assert_eq!(
        app.log_in_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(status_of_whoami(&app, &laptop).await, StatusCode::OK);

    let res = app
        .server_fn(
            &app.client,
            "account/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        status_of_whoami(&app, &laptop).await,
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        app.log_in_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    assert_eq!(
        app.log_in_with(&laptop, &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    // Over REST with the API token: every session ends (the token belongs to none), the token
    // keeps working.
    let token = app.token(&app.client).await;
    let res = app
        .api(Method::POST, "/api/current-user/password", &token)
        .json(&json!({"current_password": NEW_PASSWORD, "new_password": PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of_whoami(&app, &laptop).await,
        StatusCode::UNAUTHORIZED
    );
    app.api(Method::GET, "/api/current-user/whoami", &token)
        .json_ok::<Value>()
        .await;
    assert_eq!(
        app.log_in_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );

    // A new password that is too short, or is the email address, is refused on its field.
    for bad in ["short", email.as_str()] {
        let res = app
            .api(Method::POST, "/api/current-user/password", &token)
            .json(&json!({"current_password": PASSWORD, "new_password": bad}))
            .send()
            .await;
        let errors = validation_errors(res, StatusCode::BAD_REQUEST).await;
        assert!(errors.get("new_password").is_some(), "{bad}: {errors}");
    }
    assert_eq!(
        status_of_whoami(&app, &laptop).await,
        StatusCode::OK,
        "nothing changed"
    );
}

async fn wrong_current_passwords_are_refused_and_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let wrong = json!({"current_password": "not my password", "new_password": NEW_PASSWORD});
    for _ in 0..3 {
        let res = app
            .api(Method::POST, "/api/current-user/password", &token)
            .json(&wrong)
            .send()
            .await;
        let errors = validation_errors(res, StatusCode::BAD_REQUEST).await;
        assert!(errors.get("current_password").is_some(), "{errors}");
    }
    let res = app
        .api(Method::POST, "/api/current-user/password", &token)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "past the limit even the right password waits"
    );
    assert!(res.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert_eq!(
        app.log_in_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "guesses here count as failed logins of the account"
    );
    assert_eq!(status_of_whoami(&app, &app.client).await, StatusCode::OK);
}

async fn sessions_are_listed_without_secrets_and_ended_one_by_one_or_all_but_this(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let chrome = client_with_agent(CHROME);
    let curl = client_with_agent("curl/8.5.0");
    for client in [&chrome, &curl] {
        assert_eq!(
            app.log_in_with(client, &email, PASSWORD).await.status(),
            StatusCode::OK
        );
    }
    let res = app
        .client
        .get(app.url("/api/current-user/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains("ghc_"), "no session secret is shown: {text}");
    let sessions: Sessions = serde_json::from_str(&text).unwrap();
    let sessions = sessions.results;
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    assert!(
        sessions.iter().all(|s| s.client_address == "127.0.0.1"),
        "{sessions:?}"
    );
    let browsers: Vec<&str> = sessions.iter().map(|s| s.browser.as_str()).collect();
    assert!(browsers.contains(&"Chrome 120 on Linux"), "{browsers:?}");
    assert!(browsers.contains(&"curl"), "{browsers:?}");
    let curl_id = sessions
        .iter()
        .find(|s| s.browser == "curl")
        .unwrap()
        .id
        .clone();
    let chrome_view = sessions.iter().find(|s| s.user_agent == CHROME).unwrap();
    assert!(!chrome_view.current);
    assert!(!chrome_view.signed_in_at.is_empty() && !chrome_view.last_seen_at.is_empty());

    // Seen from the Chrome session, that one is current.
    let seen: Vec<SessionView> = app
        .server_fn(&chrome, "account/sessions", &[])
        .await
        .json()
        .await
        .unwrap();
    let current: Vec<_> = seen.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].browser, "Chrome 120 on Linux");

    // Another user cannot end this user's sessions, even knowing the id.
    let member = app.add_member(Role::Manager).await;
    let member_token = app.token(&member.client).await;
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/current-user/sessions/{curl_id}"),
            &member_token,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(status_of_whoami(&app, &curl).await, StatusCode::OK);

    // One session ends; the others go on.
    let res = app
        .client
        .delete(app.url(&format!("/api/current-user/sessions/{curl_id}")))
        .header(reqwest::header::ORIGIN, &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of_whoami(&app, &curl).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_of_whoami(&app, &chrome).await, StatusCode::OK);
    let res = app
        .server_fn(&app.client, "account/end_session", &[("id", &curl_id)])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "already ended");

    // Sign out everywhere else.
    assert_eq!(
        app.log_in_with(&curl, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = app
        .server_fn(&app.client, "account/end_other_sessions", &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ended: u64 = res.json().await.unwrap();
    assert_eq!(ended, 2);
    assert_eq!(
        status_of_whoami(&app, &chrome).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of_whoami(&app, &curl).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_of_whoami(&app, &app.client).await, StatusCode::OK);
    let left: Sessions = app
        .get_json(&app.client, "/api/current-user/sessions")
        .await;
    assert_eq!(left.results.len(), 1);
    assert!(left.results[0].current);

    // With the API token, which belongs to no session, every session ends.
    let token = app.token(&app.client).await;
    assert_eq!(
        app.log_in_with(&chrome, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = app
        .api(Method::DELETE, "/api/current-user/sessions", &token)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of_whoami(&app, &chrome).await,
        StatusCode::UNAUTHORIZED
    );
    let none: Sessions = app
        .api(Method::GET, "/api/current-user/sessions", &token)
        .json_ok()
        .await;
    assert!(none.results.is_empty());
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::OK,
        "other users keep theirs"
    );
}

async fn the_account_page_shows_name_password_and_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signup = app
        .client
        .get(app.url("/user/signup"))
        .send()
        .await
        .unwrap();
    let page = signup.text().await.unwrap();
    assert!(page.contains("name=\"first_name\"") && page.contains("name=\"last_name\""));

    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    app.api(Method::PATCH, "/api/current-user", &token)
        .json(&json!({"first_name": "Ada", "last_name": "Lovelace"}))
        .json_ok::<Profile>()
        .await;
    let laptop = client_with_agent(CHROME);
    assert_eq!(
        app.log_in_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = app
        .client
        .get(app.url("/user/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    for expected in [
        "value=\"Ada\"",
        "value=\"Lovelace\"",
        "name=\"current_password\"",
        "name=\"new_password\"",
        "This device",
        "Chrome 120 on Linux",
        ">Sign out<",
        "Sign out everywhere else",
    ] {
        assert!(page.contains(expected), "{expected} is on the page");
    }
    assert!(!page.contains("ghc_"), "no session secret on the page");
}

/// How each of a client's sessions was opened, as the sessions list says.
async fn opened_by(app: &TestApp, client: &Client) -> Vec<Option<SignInMethod>> {
    let sessions: Sessions = app.get_json(client, "/api/current-user/sessions").await;
    sessions.results.iter().map(|s| s.opened_by).collect()
}

async fn each_session_records_how_it_was_opened(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    assert_eq!(
        opened_by(&app, &app.client).await,
        [Some(SignInMethod::Signup)]
    );
    let laptop = client_with_agent(CHROME);
    assert_eq!(
        app.log_in_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let mut both = opened_by(&app, &laptop).await;
    both.sort_by_key(|m| m.map(SignInMethod::as_str));
    assert_eq!(
        both,
        [Some(SignInMethod::Password), Some(SignInMethod::Signup)]
    );
    // Signing up through an email invitation or the invite link.
    for role in [Role::Annotator, Role::NotActivated] {
        let member = app.add_member(role).await;
        assert_eq!(
            opened_by(&app, &member.client).await,
            [Some(SignInMethod::Invitation)],
            "{role:?}"
        );
        // Logging in again is a password sign-in, whatever the first session was.
        let again = new_client();
        assert_eq!(
            app.log_in_with(&again, &member.email, PASSWORD)
                .await
                .status(),
            StatusCode::OK
        );
        let seen: Sessions = app.get_json(&again, "/api/current-user/sessions").await;
        let current: Vec<_> = seen.results.iter().filter(|s| s.current).collect();
        assert_eq!(current.len(), 1, "{:?}", seen.results);
        assert_eq!(current[0].opened_by, Some(SignInMethod::Password));
    }
    // The Account page says it.
    let (status, page) = load_page(&laptop, &app.url("/user/account")).await;
    assert_eq!(status, StatusCode::OK);
    for said in ["with a password", "by signing up"] {
        assert!(page.contains(said), "{said:?} is on the page");
    }
}

async fn create_owner_on_the_command_line_takes_a_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = format!("{}@example.com", unique("root-"));
    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            &email,
            "--password-stdin",
            "--first-name",
            " Root ",
            "--last-name",
            "Admin",
        ],
        PASSWORD,
    );
    assert!(ok, "{out}");
    assert_eq!(
        app.log_in_with(&app.client, &email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let token = app.token(&app.client).await;
    let found = members_matching(&app, &token, "root%20admin").await;
    assert_eq!(found.count, 1);
    assert_eq!(found.results[0].name, "Root Admin");

    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            "other@example.com",
            "--password-stdin",
            "--last-name",
            "a\u{202E}b",
        ],
        PASSWORD,
    );
    assert!(!ok, "a name with a bidi override is refused: {out}");
}
