//! The administrator's command line, run as the real binary against the test database.

use std::{io::Write, process::{Command, Stdio}};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

crate::on_both_databases!(
    create_owner_makes_the_first_owner_of_an_instance_with_signup_disabled,
    create_owner_refuses_bad_input_with_a_message,
    set_seats_changes_the_limit,
);

fn gatehouse(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("DATABASE_URL", &app.database.url)
        .env("LABEL_STUDIO_SECRET_KEY", SECRET_KEY)
        .env("LABEL_STUDIO_DATA_DIR", &app.config.data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn create_owner_makes_the_first_owner_of_an_instance_with_signup_disabled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.disable_signup_without_link = true).await;
    let (ok, out) = gatehouse(&app, &["create-owner", "--email", "Root@Example.com", "--password-stdin"], "first owner pass\n");
    assert!(ok, "{out}");
    assert!(out.contains("root@example.com"), "{out}");
    let res = app.log_in_with(&app.client, "root@example.com", "first owner pass").await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = app.token(&app.client).await;
    let org: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    assert_eq!(org["owner"]["email"], "root@example.com");
    assert_eq!(org["title"], "root@example.com");

    let file = app.config.data_dir.join("password.txt");
    std::fs::create_dir_all(&app.config.data_dir).unwrap();
    std::fs::write(&file, "second owner pass\n").unwrap();
    let (ok, out) = gatehouse(&app, &["create-owner", "--email", "two@example.com", "--password-file", file.to_str().unwrap()], "");
    assert!(ok, "{out}");
    assert_eq!(app.log_in_with(&new_client(), "two@example.com", "second owner pass").await.status(), StatusCode::OK);
}

async fn create_owner_refuses_bad_input_with_a_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    for (args, stdin, words) in [
        (vec!["create-owner", "--email", email.as_str(), "--password-stdin"], "long enough pass", "already exists"),
        (vec!["create-owner", "--email", "nope", "--password-stdin"], "long enough pass", "valid email"),
        (vec!["create-owner", "--email", "x@example.com", "--password-stdin"], "short", "at least 8"),
        (vec!["create-owner", "--email", "x@example.com"], "", "--password-stdin"),
    ] {
        let (ok, out) = gatehouse(&app, &args, stdin);
        assert!(!ok, "{args:?} should fail");
        assert!(out.contains(words), "{args:?}: {out}");
    }
    assert_eq!(app.count("users").await, 1);
}

async fn set_seats_changes_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let org: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    let id = org["id"].to_string();
    let (ok, out) = gatehouse(&app, &["set-seats", "--org", &id, "--seats", "10"], "");
    assert!(ok, "{out}");
    let org: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    assert_eq!(org["seats"], serde_json::json!({"used": 1, "limit": 10}));
    let (ok, _) = gatehouse(&app, &["set-seats", "--org", &id, "--seats", "unlimited"], "");
    assert!(ok);
    let org: Value = app.api(Method::GET, "/api/organization/", &token).await.send().await.unwrap().json().await.unwrap();
    assert_eq!(org["seats"]["limit"], Value::Null);
    let (ok, out) = gatehouse(&app, &["set-seats", "--org", "999999", "--seats", "3"], "");
    assert!(!ok && out.contains("no organization with id 999999"), "{out}");
    let (ok, out) = gatehouse(&app, &["set-seats", "--org", &id, "--seats", "-1"], "");
    assert!(!ok && out.contains("--seats"), "{out}");
}
