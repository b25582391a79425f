//! The server key, the data folder's permissions, passwords too easy to guess, and what people
//! type that ends up in mail.

use std::path::{Path, PathBuf};

use gatehouse::{
    domain::{InviteStatus, Role},
    server::{config::MailTransport, startup::Application, Config},
};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::*,
    smtp::{invitation_link, token_of},
};

crate::on_both_databases!(
    a_short_server_key_stops_the_server_with_what_to_do,
    a_key_file_is_made_for_the_owner_only_and_kept,
    the_data_folder_and_the_mail_files_are_readable_by_their_owner_only,
    common_passwords_and_the_email_address_are_refused_at_signup,
    titles_with_direction_controls_are_refused,
    look_alike_addresses_and_invisible_characters_are_refused,
    the_mail_subject_quotes_the_organization_title,
);

/// A folder of the test's own, removed with the value.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        Self(std::env::temp_dir().join(unique("gatehouse-hardening-")))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What `Application::build` (what `main` runs) answers for these key settings.
async fn start(
    database: &TestDatabase,
    data_dir: &Path,
    secret_key: Option<&str>,
) -> Result<(), String> {
    let config = Config {
        database_url: database.url.clone(),
        site_addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        secret_key: secret_key.map(str::to_owned),
        mail_transport: MailTransport::Memory,
        ..Config::default()
    };
    Application::build(config).await.map(drop)
}

async fn a_short_server_key_stops_the_server_with_what_to_do(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let scratch = Scratch::new();
    let data = scratch.0.join("data");

    let err = start(&database, &data, Some("integration tests"))
        .await
        .unwrap_err();
    assert!(
        err.contains("LABEL_STUDIO_SECRET_KEY is 17 bytes long"),
        "{err}"
    );
    assert!(
        err.contains("at least 32") && err.contains("openssl rand -hex 32"),
        "{err}"
    );
    assert!(
        start(&database, &data, Some(&"k".repeat(31)))
            .await
            .is_err(),
        "31 bytes are too few"
    );
    start(&database, &data, Some(&"k".repeat(32)))
        .await
        .expect("32 bytes are enough");

    // A key file that is empty, or cut short, is never silently replaced.
    std::fs::create_dir_all(&data).unwrap();
    let key_file = data.join("secret.key");
    for (contents, words) in [
        ("", "is empty"),
        ("  \n", "is empty"),
        ("3f9a0c5e7d21b4a6", "holds 16 bytes"),
    ] {
        std::fs::write(&key_file, contents).unwrap();
        let err = start(&database, &data, None).await.unwrap_err();
        assert!(err.contains(&key_file.display().to_string()), "{err}");
        assert!(err.contains(words), "{contents:?}: {err}");
        assert!(
            err.contains("delete the file") && err.contains("backup"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&key_file).unwrap(), contents);
    }
    // Deleting it, as the message says, has a new key made.
    std::fs::remove_file(&key_file).unwrap();
    start(&database, &data, None)
        .await
        .expect("a new key is made");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().len(), 64);
}

async fn a_key_file_is_made_for_the_owner_only_and_kept(backend: Backend) {
    let scratch = Scratch::new();
    let data = scratch.0.join("data");
    let first = TestApp::spawn_with(backend, |c| {
        c.secret_key = None;
        c.data_dir = data.clone();
    })
    .await;
    first.sign_up().await;
    let token = first.token(&first.client).await;
    let key_file = data.join("secret.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.len(), 64, "256 random bits in hex");
    #[cfg(unix)]
    {
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(&data), 0o700);
    }
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["secret.key"], "no temporary file is left");

    // A second instance on the same data folder reads the same key: the token still works.
    let url = first.database.url.clone();
    let second = TestApp::spawn_with(backend, |c| {
        c.secret_key = None;
        c.data_dir = data.clone();
        c.database_url = url;
    })
    .await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    assert_eq!(second.token(&first.client).await, token);
    let whoami = second
        .client
        .get(second.url("/api/current-user/whoami"))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
}

async fn the_data_folder_and_the_mail_files_are_readable_by_their_owner_only(backend: Backend) {
    let scratch = Scratch::new();
    let data = scratch.0.join("data");
    // As an earlier version left it: open to everyone on the machine.
    std::fs::create_dir_all(data.join("mail")).unwrap();
    #[cfg(unix)]
    for dir in [data.clone(), data.join("mail")] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let app = TestApp::spawn_with(backend, |c| {
        c.data_dir = data.clone();
        c.mail_transport = MailTransport::Settings;
    })
    .await;
    #[cfg(unix)]
    {
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("mail")), 0o700);
    }
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let results = app
        .invite(&token, &["eml@example.com"], Role::Annotator)
        .await;
    assert_eq!(results[0].status, InviteStatus::Invited);
    // The Owner's verification mail and the invitation.
    let (file, text) = eventually("the invitation's .eml file", || async {
        std::fs::read_dir(app.config.mail_dir())
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
            .find(|(_, t)| invitation_link(t).is_some())
    })
    .await;
    assert!(text.contains("To: eml@example.com"), "{text}");
    #[cfg(unix)]
    for entry in std::fs::read_dir(app.config.mail_dir()).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    // A data folder that does not exist yet is made private from the start.
    let fresh = TestApp::spawn(backend).await;
    #[cfg(unix)]
    assert_eq!(mode(&fresh.config.data_dir), 0o700);
}

async fn common_passwords_and_the_email_address_are_refused_at_signup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "grace.hopper@example.com";
    for (password, words) in [
        ("password1", "too common"),
        ("Password1", "too common"),
        ("QWERTYUIOP", "too common"),
        ("baseball1", "too common"),
        ("grace.hopper@example.com", "email address"),
        ("Grace.Hopper@Example.com", "email address"),
        ("grace.hopper", "email address"),
    ] {
        let res = app.sign_up_with(&new_client(), email, password).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{password}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Invalid"]["field"], "password", "{body}");
        assert!(
            body["Invalid"]["message"].as_str().unwrap().contains(words),
            "{password}: {body}"
        );
    }
    assert_eq!(app.count("users").await, 0, "nothing was created");
    let res = app.sign_up_with(&app.client, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);

    // The administrator's command line checks the same.
    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            "root@example.com",
            "--password-stdin",
        ],
        "iloveyou1\n",
    );
    assert!(!ok && out.contains("too common"), "{out}");
    assert_eq!(app.count("users").await, 1);
}

async fn titles_with_direction_controls_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    for (title, named) in [
        ("Acme\u{202E}sbaL", "U+202E"),
        ("\u{2067}Acme", "U+2067"),
        ("Acme\u{200F}", "U+200F"),
        ("Acme\u{061C}", "U+061C"),
    ] {
        let res = app
            .client
            .patch(app.url("/api/organization/"))
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .json(&json!({ "title": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        let message = body["validation_errors"]["title"][0].as_str().unwrap();
        assert!(
            message.contains(named) && message.contains("text-direction"),
            "{body}"
        );

        // The page's form (a server function) says the same.
        let res = app
            .server_fn(&app.client, "organization/rename", &[("title", title)])
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Invalid"]["field"], "title", "{body}");
        assert!(body["Invalid"]["message"].as_str().unwrap().contains(named));
    }
    assert_eq!(
        app.organization(&token).await.title,
        email,
        "nothing was renamed"
    );
    // Right-to-left text is a title like any other.
    let res = app
        .client
        .patch(app.url("/api/organization/"))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .json(&json!({ "title": "מעבדת תיוג" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn look_alike_addresses_and_invisible_characters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let token = app.token(&app.client).await;
    let users = app.count("users").await;
    // Beside owner@a.test, none of these may become an account of its own.
    assert_eq!(
        app.sign_up_with(&new_client(), "owner@a.test", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    for (address, said) in [
        ("\u{043E}wner@a.test", "U+043E"),
        ("\u{FF4F}wner@a.test", "U+FF4F"),
        ("\u{1D428}wner@a.test", "U+1D428"),
        ("owner\u{0661}@a.test", "U+0661"),
        ("admin@a.t\u{0435}st", "alphabets"),
    ] {
        let res = app.sign_up_with(&new_client(), address, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{address}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Invalid"]["field"], "email", "{address}: {body}");
        let message = body["Invalid"]["message"].as_str().unwrap();
        assert!(message.contains(said), "{address}: {message}");
    }
    assert_eq!(app.count("users").await, users + 1);
    // An internationalized domain is welcome, and kept in its ASCII (punycode) form.
    let res = app
        .sign_up_with(&new_client(), "ada@b\u{00FC}cher.example", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@xn--bcher-kva.example'")
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(stored, 1);
    // A member with such a domain is listed as people read it, the stored form beside it.
    let results = app
        .invite(&token, &["ana@b\u{00FC}cher.example"], Role::Annotator)
        .await;
    assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
    let ascii = "ana@xn--bcher-kva.example";
    let link = app.invitation_link_to(ascii, 1).await;
    let (res, _) = app.join(&token_of(&link), ascii).await;
    assert_eq!(res.status(), StatusCode::OK);
    let row = app.member_row(ascii).await;
    assert_eq!(row.email, ascii);
    assert_eq!(
        row.email_display,
        "ana@b\u{00FC}cher.example (xn--bcher-kva.example)"
    );
    assert_eq!(app.member_row(&email).await.email_display, email);

    // Titles and names refuse invisible characters, separators and noncharacters.
    for (title, named) in [
        ("Acme\u{200B}Labs", "U+200B"),
        ("Acme\u{200D}", "U+200D"),
        ("Ac\u{2060}me", "U+2060"),
        ("\u{FEFF}Acme", "U+FEFF"),
        ("Acme\u{2028}Labs", "U+2028"),
        ("Acme\u{FFFF}", "U+FFFF"),
    ] {
        let res = app
            .client
            .patch(app.url("/api/organization/"))
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .json(&json!({ "title": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        let message = body["validation_errors"]["title"][0].as_str().unwrap();
        assert!(message.contains(named), "{body}");
        let res = app
            .client
            .patch(app.url("/api/current-user"))
            .header(header::AUTHORIZATION, format!("Token {token}"))
            .json(&json!({ "first_name": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        let message = body["validation_errors"]["first_name"][0].as_str().unwrap();
        assert!(message.contains(named), "{body}");
    }
    assert_eq!(app.organization(&token).await.title, email);
}

async fn the_mail_subject_quotes_the_organization_title(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let token = app.token(&app.client).await;
    let res = app
        .client
        .patch(app.url("/api/organization/"))
        .header(header::AUTHORIZATION, format!("Token {token}"))
        .json(&json!({ "title": "Your account is locked\" - verify at once \"" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.invite(&token, &["quoted@example.com"], Role::Reviewer)
        .await;
    let message = app.wait_for_mail_to("quoted@example.com", 1).await;
    assert_eq!(
        message.subject,
        format!(
            "Gatehouse: {owner} invited you to join \"Your account is locked\\\" - verify at once \\\"\""
        )
    );
}
