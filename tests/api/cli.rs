//! The administrator's command line, run as the real binary against the test database.

use reqwest::StatusCode;

use gatehouse::domain::SeatsView;

use crate::helpers::*;

crate::on_both_databases!(
    create_owner_makes_the_first_owner_of_an_instance_with_signup_disabled,
    create_owner_refuses_bad_input_with_a_message,
    set_seats_changes_the_limit,
);

async fn create_owner_makes_the_first_owner_of_an_instance_with_signup_disabled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.disable_signup_without_link = true).await;
    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            "Root@Example.com",
            "--password-stdin",
        ],
        "first owner pass\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("root@example.com"), "{out}");
    let res = app
        .log_in_with(&app.client, "root@example.com", "first owner pass")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = app.token(&app.client).await;
    let org = app.organization(&token).await;
    assert_eq!(org.owner.email, "root@example.com");
    assert_eq!(org.title, "root@example.com");

    let file = app.config.data_dir.join("password.txt");
    std::fs::create_dir_all(&app.config.data_dir).unwrap();
    std::fs::write(&file, "second owner pass\n").unwrap();
    let (ok, out) = app.cli(
        &[
            "create-owner",
            "--email",
            "two@example.com",
            "--password-file",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{out}");
    assert_eq!(
        app.log_in_with(&new_client(), "two@example.com", "second owner pass")
            .await
            .status(),
        StatusCode::OK
    );
}

async fn create_owner_refuses_bad_input_with_a_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    for (args, stdin, words) in [
        (
            vec![
                "create-owner",
                "--email",
                email.as_str(),
                "--password-stdin",
            ],
            "long enough pass",
            "already exists",
        ),
        (
            vec!["create-owner", "--email", "nope", "--password-stdin"],
            "long enough pass",
            "valid email",
        ),
        (
            vec![
                "create-owner",
                "--email",
                "x@example.com",
                "--password-stdin",
            ],
            "short",
            "at least 8",
        ),
        (
            vec!["create-owner", "--email", "x@example.com"],
            "",
            "--password-stdin",
        ),
    ] {
        let (ok, out) = app.cli(&args, stdin);
        assert!(!ok, "{args:?} should fail");
        assert!(out.contains(words), "{args:?}: {out}");
    }
    assert_eq!(app.count("users").await, 1);
}

async fn set_seats_changes_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let id = app.org_id().await.to_string();
    let (ok, out) = app.cli(&["set-seats", "--org", &id, "--seats", "10"], "");
    assert!(ok, "{out}");
    assert_eq!(
        app.organization(&token).await.seats,
        SeatsView {
            used: 1,
            limit: Some(10)
        }
    );
    let (ok, _) = app.cli(&["set-seats", "--org", &id, "--seats", "unlimited"], "");
    assert!(ok);
    assert_eq!(app.organization(&token).await.seats.limit, None);
    let (ok, out) = app.cli(&["set-seats", "--org", "999999", "--seats", "3"], "");
    assert!(
        !ok && out.contains("no organization with id 999999"),
        "{out}"
    );
    let (ok, out) = app.cli(&["set-seats", "--org", &id, "--seats", "-1"], "");
    assert!(!ok && out.contains("--seats"), "{out}");
}
