//! Two factors and passkeys (SPEC section 12). Codes are computed by pyotp (an implementation
//! independent of the one under test) at the app's clock; passkeys are played by
//! webauthn-authenticator-rs's software authenticators, through the same server functions the
//! browser's script calls.

use std::{process::Command, time::Duration};

use gatehouse::domain::Role;
use reqwest::{header, Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use url::Url;
use webauthn_authenticator_rs::{
    prelude::WebauthnAuthenticator, softpasskey::SoftPasskey, softtoken::SoftToken,
    AuthenticatorBackend,
};
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

use crate::helpers::*;

crate::on_both_databases!(
    an_authenticator_app_is_confirmed_then_asked_for_at_every_password_sign_in,
    a_code_works_once_and_a_step_either_side,
    recovery_codes_work_once_and_their_use_is_mailed,
    wrong_codes_count_toward_the_login_lockout,
    a_pending_sign_in_lasts_five_minutes_works_once_and_stays_in_its_browser,
    a_password_reset_keeps_the_second_factor,
    the_last_factor_goes_only_with_the_password_and_a_code,
    the_policy_bars_members_without_a_factor_after_the_grace,
    an_administrator_resets_a_members_factors,
    a_software_passkey_registers_signs_in_and_is_a_second_factor,
    forged_passkey_answers_are_refused,
    a_key_answering_a_ceremony_that_is_over_neither_counts_nor_clears_failures,
    an_invitation_is_accepted_only_with_the_second_factor,
);

/// The six digits pyotp computes for `secret` (base32, as the page shows it) at `at`.
pub fn pyotp(secret: &str, at: i64) -> String {
    let venv = std::env::var("GATEHOUSE_VENV")
        .unwrap_or_else(|_| format!("{}/.cache/gatehouse-venv", std::env::var("HOME").unwrap()));
    let out = Command::new(format!("{venv}/bin/python"))
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            &secret.replace(' ', ""),
            &at.to_string(),
        ])
        .output()
        .expect("the venv's python runs pyotp (.ci/setup installs it)");
    assert!(
        out.status.success(),
        "pyotp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Sets up the authenticator app of whoever `client` is signed in as; its secret and the
/// recovery codes that came with it.
pub async fn set_up_app(app: &TestApp, client: &Client) -> (String, Vec<String>) {
    let res = app.server_fn(client, "two_factor/start_app", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let setup: Value = res.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        secret.replace(' ', "").len(),
        32,
        "160 bits in base32: {secret}"
    );
    let uri = setup["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Gatehouse:"), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let code = pyotp(&secret, app.now());
    let res = app
        .server_fn(client, "two_factor/confirm_app", &[("code", &code)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Value = res.json().await.unwrap();
    let codes: Vec<String> = serde_json::from_value(codes["codes"].clone()).unwrap();
    (secret, codes)
}

/// Six digits that are none of the codes accepted at `at` (a step either side).
fn wrong_code(secret: &str, at: i64) -> String {
    let accepted = [
        pyotp(secret, at - 30),
        pyotp(secret, at),
        pyotp(secret, at + 30),
    ];
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !accepted.iter().any(|a| a == c))
        .unwrap()
        .to_owned()
}

/// Moves the clock to the start of a time step that no code was given in yet.
fn next_step(app: &TestApp) {
    let into = app.now().rem_euclid(30);
    app.advance(Duration::from_secs((30 - into) as u64));
}

/// Logs in with the password: the answer must send the browser to the second step.
async fn log_in_to_second_step(app: &TestApp, client: &Client, email: &str) {
    let res = app.log_in_with(client, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/user/login/two-factor");
    assert_eq!(
        status_of_whoami(app, client).await,
        StatusCode::UNAUTHORIZED,
        "the password alone opens no session"
    );
}

async fn verify(app: &TestApp, client: &Client, code: &str) -> Response {
    app.server_fn(client, "two_factor/verify", &[("code", code)])
        .await
}

async fn status(app: &TestApp, client: &Client) -> Value {
    app.get_json(client, "/api/current-user/two-factor").await
}

async fn an_authenticator_app_is_confirmed_then_asked_for_at_every_password_sign_in(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let before = status(&app, &app.client).await;
    assert_eq!(before["enabled"], false);

    // A wrong code does not confirm it; the secret does not count until a right one does.
    let res = app
        .server_fn(&app.client, "two_factor/start_app", &[])
        .await;
    let setup: Value = res.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap();
    let wrong = &wrong_code(secret, app.now());
    let res = app
        .server_fn(&app.client, "two_factor/confirm_app", &[("code", wrong)])
        .await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST)
        .await
        .contains("does not match"));
    assert_eq!(status(&app, &app.client).await["enabled"], false);

    let (secret, codes) = set_up_app(&app, &app.client).await;
    assert_eq!(codes.len(), 10);
    let now_on = status(&app, &app.client).await;
    assert_eq!(now_on["enabled"], true);
    assert_eq!(now_on["authenticator_app"], true);
    assert_eq!(now_on["recovery_codes_left"], 10);
    // A second app cannot replace the first without removing it.
    let res = app
        .server_fn(&app.client, "two_factor/start_app", &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    next_step(&app);
    let res = verify(&app, &client, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(status_of_whoami(&app, &client).await, StatusCode::OK);

    // The log says how.
    let token = app.token(&app.client).await;
    let org = app.org_id().await;
    let log: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?action=two_factor.enabled"),
            &token,
        )
        .json_ok()
        .await;
    assert_eq!(log["count"], 1, "{log}");
}

async fn a_code_works_once_and_a_step_either_side(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (secret, _) = set_up_app(&app, &app.client).await;

    // The code of the step before is still taken (a slow typist)... (two steps on: the step
    // before is not the one that confirmed the app)
    next_step(&app);
    next_step(&app);
    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    let previous = pyotp(&secret, app.now() - 30);
    assert_eq!(
        verify(&app, &client, &previous).await.status(),
        StatusCode::OK
    );

    // ...but only once: the same code, or one of an earlier step, is refused after it.
    let again = new_client();
    log_in_to_second_step(&app, &again, &email).await;
    let res = verify(&app, &again, &previous).await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST)
        .await
        .contains("used already"));
    // The current step's code works (a later step than the one used).
    let res = verify(&app, &again, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Two steps away is too far, either way.
    next_step(&app);
    let third = new_client();
    log_in_to_second_step(&app, &third, &email).await;
    for off in [-60, 60] {
        let res = verify(&app, &third, &pyotp(&secret, app.now() + off)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{off} s away");
    }
    let res = verify(&app, &third, &pyotp(&secret, app.now() + 30)).await;
    assert_eq!(res.status(), StatusCode::OK, "the step after is taken");
}

async fn recovery_codes_work_once_and_their_use_is_mailed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (_, codes) = set_up_app(&app, &app.client).await;

    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    // Typed as people do: upper case, with spaces.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(verify(&app, &client, &typed).await.status(), StatusCode::OK);
    let mail = app.wait_for_mail_to(&email, 1).await;
    assert!(
        mail.subject.contains("recovery code was used"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains("9 recovery codes are left"),
        "{}",
        mail.text
    );
    assert_eq!(status(&app, &client).await["recovery_codes_left"], 9);

    let again = new_client();
    log_in_to_second_step(&app, &again, &email).await;
    let res = verify(&app, &again, &codes[3]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a code works once");
    assert_eq!(
        verify(&app, &again, &codes[4]).await.status(),
        StatusCode::OK
    );

    // New codes need the password, and end the old ones.
    let res = app
        .server_fn(
            &app.client,
            "two_factor/recovery_codes",
            &[("password", "not it")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .server_fn(
            &app.client,
            "two_factor/recovery_codes",
            &[("password", PASSWORD)],
        )
        .await;
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(fresh["codes"].as_array().unwrap().len(), 10);
    let third = new_client();
    log_in_to_second_step(&app, &third, &email).await;
    assert_eq!(
        verify(&app, &third, &codes[5]).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn wrong_codes_count_toward_the_login_lockout(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let email = app.sign_up().await;
    let (secret, _) = set_up_app(&app, &app.client).await;
    next_step(&app);
    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    for _ in 0..3 {
        let res = verify(&app, &client, &wrong_code(&secret, app.now())).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    // Locked out: even the right code is refused, with the wait.
    let res = verify(&app, &client, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    // And so is the password, for this address.
    let res = app.log_in_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn a_pending_sign_in_lasts_five_minutes_works_once_and_stays_in_its_browser(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (secret, codes) = set_up_app(&app, &app.client).await;

    // Another browser, without the pending sign-in's cookie, gets nothing from a right code.
    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    let stranger = new_client();
    let res = verify(&app, &stranger, &codes[0]).await;
    assert!(server_fn_error(res, StatusCode::UNAUTHORIZED)
        .await
        .contains("Log in again"));

    // Five minutes on, the pending sign-in is gone.
    app.advance(Duration::from_secs(301));
    let res = verify(&app, &client, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // It works once: the cookie it left cannot open a second session.
    next_step(&app);
    let client = new_client();
    log_in_to_second_step(&app, &client, &email).await;
    assert_eq!(
        verify(&app, &client, &codes[1]).await.status(),
        StatusCode::OK
    );
    let res = verify(&app, &client, &codes[2]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the pending sign-in is used up"
    );
}

async fn a_password_reset_keeps_the_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (_, codes) = set_up_app(&app, &app.client).await;
    let client = new_client();
    let res = app
        .server_fn(&client, "password_reset/request", &[("email", &email)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mail = app
        .wait_for_mail_where("the reset mail", |sent| {
            sent.iter()
                .any(|m| m.to == email && m.text.contains("reset-password?token="))
        })
        .await;
    let text = &mail
        .iter()
        .find(|m| m.text.contains("reset-password?token="))
        .unwrap()
        .text;
    let start = text.find("token=").unwrap() + "token=".len();
    let token = text[start..].split_whitespace().next().unwrap().to_owned();
    let res = app
        .server_fn(
            &client,
            "password_reset/confirm",
            &[("token", &token), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let landing: String = res.json().await.unwrap();
    assert_eq!(
        landing, "/user/login/two-factor",
        "the reset link is one factor"
    );
    assert_eq!(
        status_of_whoami(&app, &client).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        verify(&app, &client, &codes[0]).await.status(),
        StatusCode::OK
    );
    assert_eq!(status(&app, &client).await["authenticator_app"], true);
}

async fn the_last_factor_goes_only_with_the_password_and_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = app.sign_up().await;
    let (secret, _) = set_up_app(&app, &app.client).await;
    next_step(&app);
    let remove = |password: &'static str, code: String| {
        let app = &app;
        async move {
            app.server_fn(
                &app.client,
                "two_factor/remove_app",
                &[("password", password), ("code", &code)],
            )
            .await
        }
    };
    let res = remove("wrong password", pyotp(&secret, app.now())).await;
    assert!(server_fn_error(res, StatusCode::BAD_REQUEST)
        .await
        .contains("not your password"));
    let res = remove(PASSWORD, String::new()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a code is needed");
    assert_eq!(status(&app, &app.client).await["enabled"], true);
    let res = remove(PASSWORD, pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = status(&app, &app.client).await;
    assert_eq!(after["enabled"], false);
    assert_eq!(after["recovery_codes_left"], 0);
    // The password alone signs in again.
    let res = app.log_in_with(&new_client(), &email, PASSWORD).await;
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/");
}

async fn the_policy_bars_members_without_a_factor_after_the_grace(backend: Backend) {
    // Sessions that outlive the grace period.
    let app = TestApp::spawn_with(backend, |c| {
        c.session_idle = Duration::from_secs(30 * 86_400);
        c.session_max_age = Duration::from_secs(30 * 86_400);
    })
    .await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    let member_token = app.token(&member.client).await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let path = format!("/api/organizations/{org}/two-factor-policy");

    // Administrators only; a grace outside 0 to 365 days is refused.
    let res = app
        .api(Method::PATCH, &path, &member_token)
        .json(&json!({"required": true}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .api(Method::PATCH, &path, &owner)
        .json(&json!({"grace_period_days": 400}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let policy: Value = app
        .api(Method::PATCH, &path, &owner)
        .json(&json!({"required": true, "grace_period_days": 2}))
        .json_ok()
        .await;
    assert_eq!(policy["required"], true);
    assert_eq!(policy["grace_period_days"], 2);
    assert_eq!(policy["sso_exempt"], true);

    // During the grace the member works, and is told by when.
    assert_eq!(status_of_whoami(&app, &member.client).await, StatusCode::OK);
    let theirs = status(&app, &member.client).await;
    assert_eq!(theirs["organization_requires"], true);
    assert!(theirs["required_by"].is_string(), "{theirs}");

    // After it, their session serves their own account only; their API token keeps working.
    app.advance(Duration::from_secs(2 * 86_400 + 1));
    let res = member
        .client
        .get(app.url("/api/organization/"))
        .send()
        .await
        .unwrap();
    let detail = error_detail(res, StatusCode::FORBIDDEN).await;
    assert!(
        detail.contains("requires two-factor authentication"),
        "{detail}"
    );
    let visit: Value = app
        .server_fn(&member.client, "auth/current_user", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(visit["user"]["two_factor_required"], true, "{visit}");
    let res = app
        .api(Method::GET, "/api/organization/", &member_token)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK, "API tokens are not asked");
    // The Owner without a factor is barred too.
    assert_eq!(
        status_of_whoami(&app, &app.client).await,
        StatusCode::FORBIDDEN
    );

    // Adding a factor lifts it.
    set_up_app(&app, &member.client).await;
    assert_eq!(status_of_whoami(&app, &member.client).await, StatusCode::OK);
    // The members table shows it (read with the Owner's API token: their session is barred).
    let found: gatehouse::domain::MemberPage = app
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
    assert!(found.results[0].two_factor, "{found:?}");

    // Turning it off lifts it for everyone.
    let res = app
        .api(Method::PATCH, &path, &owner)
        .json(&json!({"required": false}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(status_of_whoami(&app, &app.client).await, StatusCode::OK);
}

async fn an_administrator_resets_a_members_factors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let member = app.add_member(Role::Annotator).await;
    let admin = app.add_member(Role::Administrator).await;
    set_up_app(&app, &member.client).await;

    // Nobody but an administrator, and not the Owner's.
    let res = app
        .server_fn(
            &member.client,
            "members/reset_two_factor",
            &[("user_id", &admin.id.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let owner_id = app.whoami(&app.client).await.id;
    let res = app
        .server_fn(
            &admin.client,
            "members/reset_two_factor",
            &[("user_id", &owner_id.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .server_fn(
            &admin.client,
            "members/reset_two_factor",
            &[("user_id", &member.id.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        status_of_whoami(&app, &member.client).await,
        StatusCode::UNAUTHORIZED,
        "their sessions ended"
    );
    let mail = app.wait_for_mail_to(&member.email, 2).await;
    assert!(
        mail.subject.contains("two-factor authentication was reset"),
        "{}",
        mail.subject
    );
    let client = new_client();
    let res = app.log_in_with(&client, &member.email, PASSWORD).await;
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/", "the password alone signs in again");
    assert!(!app.member_row(&member.email).await.two_factor);
    let token = app.token(&app.client).await;
    let org = app.org_id().await;
    let log: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?action=two_factor.reset"),
            &token,
        )
        .json_ok()
        .await;
    assert_eq!(log["count"], 1, "{log}");

    // The same through the REST API, for a script: the member set up an app again.
    set_up_app(&app, &client).await;
    assert!(app.member_row(&member.email).await.two_factor);
    let reset = |user: String| {
        app.api(
            Method::DELETE,
            &format!("/api/organizations/{org}/memberships/{user}/two-factor"),
            &token,
        )
        .send()
    };
    let res = reset(member.id.to_string()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!app.member_row(&member.email).await.two_factor);
    assert_eq!(
        status_of_whoami(&app, &client).await,
        StatusCode::UNAUTHORIZED,
        "their sessions ended"
    );
    app.wait_for_mail_to(&member.email, 3).await;
    let res = reset(member.id.to_string()).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "nothing left to reset");
    let res = reset(owner_id.to_string()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "one's own");
    let res = reset("someone".into()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no such member")),
        "{body}"
    );
}

/// Logging in with an invite token accepts the invitation for an account with a second factor
/// only once the factor is given: the password alone joins nothing.
async fn an_invitation_is_accepted_only_with_the_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let org = app.org_id().await;
    let member = app.add_member(Role::Annotator).await;
    let (secret, _) = set_up_app(&app, &member.client).await;
    // Removed from their organization: the account and its second factor remain.
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/organizations/{org}/memberships/{}", member.id),
            &owner,
        )
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let memberships = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM memberships WHERE user_id = $1")
            .bind(member.id)
            .fetch_one(app.db().pool())
            .await
            .unwrap()
    };
    assert_eq!(memberships().await, 0);

    // Another organization's invite link.
    let (_, inviter) = app.owner_elsewhere().await;
    let other = app.token(&inviter).await;
    let other_org = app.whoami(&inviter).await.organization_id;
    let invite_link = || async {
        let link: Value = app.api(Method::GET, "/api/invite", &other).json_ok().await;
        link["token"].as_str().unwrap().to_owned()
    };

    // A link reset while the second factor is asked for is refused with the factor.
    let browser = log_in_with_invitation(&app, &member.email, &invite_link().await).await;
    app.api(Method::POST, "/api/invite/reset-token", &other)
        .send()
        .await;
    next_step(&app);
    let res = verify(&app, &browser, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("invite link is invalid"));
    assert_eq!(memberships().await, 0);

    let browser = log_in_with_invitation(&app, &member.email, &invite_link().await).await;
    assert_eq!(memberships().await, 0, "the password alone joins nothing");
    next_step(&app);
    let res = verify(&app, &browser, &wrong_code(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(memberships().await, 0, "nor does a wrong code");

    let res = verify(&app, &browser, &pyotp(&secret, app.now())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (joined, role): (i64, String) =
        sqlx::query_as("SELECT organization_id, role FROM memberships WHERE user_id = $1")
            .bind(member.id)
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(joined, other_org, "joined with the second factor");
    assert_eq!(
        role,
        Role::NotActivated.as_str(),
        "as the invite link makes them"
    );
    // Signed in, waiting for an administrator as a member who came by the invite link does.
    assert_eq!(
        status_of_whoami(&app, &browser).await,
        StatusCode::FORBIDDEN
    );
}

/// Logs in with the password and an invite token, which leads to the second step; returns the
/// browser.
async fn log_in_with_invitation(app: &TestApp, email: &str, token: &str) -> Client {
    let browser = new_client();
    let res = app
        .server_fn(
            &browser,
            "auth/log_in",
            &[("email", email), ("password", PASSWORD), ("token", token)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<String>().await.unwrap(),
        "/user/login/two-factor"
    );
    browser
}

/// The app as a browser at `http://localhost:PORT` sees it: passkeys work there without a
/// configured public address.
pub struct Localhost {
    pub origin: String,
}

impl Localhost {
    pub fn of(app: &TestApp) -> Self {
        Self {
            origin: app.address.replace("127.0.0.1", "localhost"),
        }
    }

    pub fn url(&self) -> Url {
        Url::parse(&self.origin).unwrap()
    }

    pub async fn call(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(format!("{}/_sfn/{endpoint}", self.origin))
            .header(header::ORIGIN, &self.origin)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Value {
        let res = self.call(client, endpoint, form).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{endpoint}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn whoami(&self, client: &Client) -> StatusCode {
        client
            .get(format!("{}/api/current-user/whoami", self.origin))
            .send()
            .await
            .unwrap()
            .status()
    }

    pub async fn sign_up(&self, client: &Client) -> String {
        let email = format!("{}@example.com", unique("passkey-"));
        let res = self
            .call(
                client,
                "auth/sign_up",
                &[("email", &email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        email
    }

    /// Registers `authenticator`'s credential for whoever `client` is; its id.
    pub async fn register(
        &self,
        client: &Client,
        authenticator: &mut impl AuthenticatorBackend,
        name: &str,
    ) -> (Vec<u8>, Value) {
        let challenge = self
            .json(client, "passkeys/registration_challenge", &[])
            .await;
        let selection = &challenge["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required", "{challenge}");
        assert_eq!(selection["userVerification"], "required");
        let mut options: CreationChallengeResponse =
            serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
        // The software authenticators keep no resident keys: they are asked for a plain one,
        // and the sign-in below names it (as a browser's passkey would by itself).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
        }
        let answer = authenticator
            .do_registration(self.url(), options)
            .expect("the authenticator registers");
        let id = answer.raw_id.to_vec();
        let added = self
            .json(
                client,
                "passkeys/register",
                &[
                    ("ceremony", challenge["ceremony"].as_str().unwrap()),
                    ("name", name),
                    ("credential", &serde_json::to_string(&answer).unwrap()),
                ],
            )
            .await;
        (id, added)
    }
}

/// The challenge's options as `authenticator` is given them: naming `credential` and, as a
/// discoverable credential's answer carries it, its account's user handle put in afterwards.
fn sign_in_options(challenge: &Value, credential: &[u8]) -> RequestChallengeResponse {
    let mut options: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: credential.to_vec(),
        transports: None,
    }];
    options
}

pub async fn sign_in_answer(
    host: &Localhost,
    client: &Client,
    authenticator: &mut impl AuthenticatorBackend,
    credential: &[u8],
    user_handle: &[u8],
) -> (String, PublicKeyCredential) {
    let challenge = host.json(client, "passkeys/sign_in_challenge", &[]).await;
    let mut answer = authenticator
        .do_authentication(host.url(), sign_in_options(&challenge, credential))
        .expect("the authenticator signs");
    answer.response.user_handle = Some(user_handle.to_vec());
    (challenge["ceremony"].as_str().unwrap().to_owned(), answer)
}

pub async fn finish_sign_in(
    host: &Localhost,
    client: &Client,
    ceremony: &str,
    answer: &PublicKeyCredential,
) -> Response {
    host.call(
        client,
        "passkeys/sign_in",
        &[
            ("ceremony", ceremony),
            ("credential", &serde_json::to_string(answer).unwrap()),
        ],
    )
    .await
}

/// The user handle the app gave `credential` (a discoverable credential's answer carries it).
pub async fn user_handle_of(app: &TestApp, credential: &[u8]) -> Vec<u8> {
    let user_id: i64 = sqlx::query_scalar("SELECT user_id FROM passkeys WHERE credential_id = $1")
        .bind(credential.to_vec())
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    app.state.keys.passkey_user_handle(user_id).to_vec()
}

async fn a_software_passkey_registers_signs_in_and_is_a_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let host = Localhost::of(&app);
    let client = new_client();
    let email = host.sign_up(&client).await;
    let mut key = SoftPasskey::new(true);
    let (credential, added) = host.register(&client, &mut key, "Laptop").await;
    assert_eq!(added["passkey"]["name"], "Laptop");
    assert_eq!(
        added["recovery_codes"].as_array().unwrap().len(),
        10,
        "the first second factor comes with recovery codes"
    );
    let handle = user_handle_of(&app, &credential).await;

    // "Sign in with a passkey", without a password.
    let browser = new_client();
    let (ceremony, answer) = sign_in_answer(&host, &browser, &mut key, &credential, &handle).await;
    let res = finish_sign_in(&host, &browser, &ceremony, &answer).await;
    assert_eq!(res.status(), StatusCode::OK);
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/");
    assert_eq!(host.whoami(&browser).await, StatusCode::OK);

    // The same answer again (a replayed challenge) is refused.
    let again = new_client();
    let res = finish_sign_in(&host, &again, &ceremony, &answer).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the ceremony works once"
    );
    assert_eq!(host.whoami(&again).await, StatusCode::UNAUTHORIZED);

    // The password now asks for the key.
    let second = new_client();
    let res = host
        .call(
            &second,
            "auth/log_in",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/user/login/two-factor");
    let challenge = host
        .json(&second, "two_factor/passkey_challenge", &[])
        .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    let listed: Vec<Vec<u8>> = options
        .public_key
        .allow_credentials
        .iter()
        .map(|c| c.id.to_vec())
        .collect();
    assert_eq!(listed, vec![credential.clone()], "the account's own keys");
    let answer = key.do_authentication(host.url(), options).unwrap();
    let res = host
        .call(
            &second,
            "two_factor/passkey",
            &[
                ("ceremony", challenge["ceremony"].as_str().unwrap()),
                ("credential", &serde_json::to_string(&answer).unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(host.whoami(&second).await, StatusCode::OK);

    // Listed with its last use; removable (the last factor with the password and a code).
    let status: Value = second
        .get(format!("{}/api/current-user/two-factor", host.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let passkey = &status["passkeys"][0];
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["last_used_at"].is_string(), "{status}");
    let id = passkey["id"].as_i64().unwrap().to_string();
    let code = added["recovery_codes"][0].as_str().unwrap();
    let res = host
        .call(&second, "two_factor/remove_passkey", &[("id", &id)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the last factor needs the password"
    );
    let res = host
        .call(
            &second,
            "two_factor/remove_passkey",
            &[("id", &id), ("password", PASSWORD), ("code", code)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (ceremony, answer) =
        sign_in_answer(&host, &new_client(), &mut key, &credential, &handle).await;
    let res = finish_sign_in(&host, &new_client(), &ceremony, &answer).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a removed passkey signs nobody in"
    );
}

async fn forged_passkey_answers_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let host = Localhost::of(&app);
    let client = new_client();
    host.sign_up(&client).await;
    // A token whose state can be copied, to make its counter go backwards.
    let (mut token, _) = SoftToken::new(true).unwrap();
    let (credential, _) = host.register(&client, &mut token, "Key").await;
    let handle = user_handle_of(&app, &credential).await;

    // A signature from another key, over the same credential id.
    let mut other = SoftPasskey::new(true);
    let other_client = new_client();
    host.sign_up(&other_client).await;
    let (other_credential, _) = host.register(&other_client, &mut other, "Other").await;
    let browser = new_client();
    let challenge = host.json(&browser, "passkeys/sign_in_challenge", &[]).await;
    let mut answer = other
        .do_authentication(host.url(), sign_in_options(&challenge, &other_credential))
        .unwrap();
    answer.raw_id = credential.clone();
    answer.id = base64_url(&credential);
    answer.response.user_handle = Some(handle.clone());
    let res = finish_sign_in(
        &host,
        &browser,
        challenge["ceremony"].as_str().unwrap(),
        &answer,
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "another key's signature"
    );

    // Signed for another origin (a phishing page relaying the challenge).
    let challenge = host.json(&browser, "passkeys/sign_in_challenge", &[]).await;
    let evil = Url::parse("http://localhost.evil.test:1234").unwrap();
    let mut answer = AuthenticatorBackend::perform_auth(
        &mut token,
        evil,
        sign_in_options(&challenge, &credential).public_key,
        60_000,
    )
    .unwrap();
    answer.response.user_handle = Some(handle.clone());
    let res = finish_sign_in(
        &host,
        &browser,
        challenge["ceremony"].as_str().unwrap(),
        &answer,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong origin");

    // An answer to another challenge.
    let first = host.json(&browser, "passkeys/sign_in_challenge", &[]).await;
    let second = host.json(&browser, "passkeys/sign_in_challenge", &[]).await;
    let mut answer = token
        .do_authentication(host.url(), sign_in_options(&first, &credential))
        .unwrap();
    answer.response.user_handle = Some(handle.clone());
    let res = finish_sign_in(
        &host,
        &browser,
        second["ceremony"].as_str().unwrap(),
        &answer,
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the answer of another challenge"
    );

    // A counter that goes backwards: a copy of the key made before a sign-in signs again.
    let copy = token.to_cbor().unwrap();
    let (ceremony, answer) =
        sign_in_answer(&host, &browser, &mut token, &credential, &handle).await;
    assert_eq!(
        finish_sign_in(&host, &browser, &ceremony, &answer)
            .await
            .status(),
        StatusCode::OK
    );
    let mut cloned = SoftToken::from_cbor(&copy).unwrap();
    let late = new_client();
    let (ceremony, answer) = sign_in_answer(&host, &late, &mut cloned, &credential, &handle).await;
    let res = finish_sign_in(&host, &late, &ceremony, &answer).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a cloned key");
    assert_eq!(host.whoami(&late).await, StatusCode::UNAUTHORIZED);
}

/// A security key's answer at the second step to a ceremony that is over (expired, or answered
/// already) proves nothing either way: it does not count toward the lockout, and it does not
/// forget the wrong codes before it.
async fn a_key_answering_a_ceremony_that_is_over_neither_counts_nor_clears_failures(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |c| c.login_max_failures = 3).await;
    let host = Localhost::of(&app);
    let client = new_client();
    let email = host.sign_up(&client).await;
    let mut key = SoftPasskey::new(true);
    let (_, added) = host.register(&client, &mut key, "Laptop").await;
    let recovery_code = added["recovery_codes"][0].as_str().unwrap().to_owned();

    let browser = new_client();
    let res = host
        .call(
            &browser,
            "auth/log_in",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        res.json::<String>().await.unwrap(),
        "/user/login/two-factor"
    );
    let wrong_code = || async {
        let res = host
            .call(&browser, "two_factor/verify", &[("code", "aaaaa-aaaaa")])
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    };
    wrong_code().await;
    wrong_code().await;

    let challenge = host
        .json(&browser, "two_factor/passkey_challenge", &[])
        .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    let answer = key.do_authentication(host.url(), options).unwrap();
    let answer = serde_json::to_string(&answer).unwrap();
    // Not the challenge's ceremony: one that never was, as one that is over is to the server.
    let res = host
        .call(
            &browser,
            "two_factor/passkey",
            &[("ceremony", "over"), ("credential", &answer)],
        )
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("has expired"), "{text}");

    // The third wrong code is the third failure, not the fourth...
    wrong_code().await;
    // ...and it locks the address out: even the right code waits.
    let res = host
        .call(&browser, "two_factor/verify", &[("code", &recovery_code)])
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(bytes)
}
