//! Times signing in with a second factor against a running gatehouse and prints the figures
//! (run by `.ci/bench`; it asserts nothing):
//! - password + authenticator code: the server time of the password step and of the code step,
//!   and of the two together, p50/p99 over N sign-ins (each a fresh browser);
//! - a passkey (webauthn-authenticator-rs's software passkey): the server time of the challenge
//!   and of the answer, and of the two together, p50/p99 over N sign-ins.
//!
//! The server must be reached at `http://localhost:PORT` (passkeys are offered there without a
//! configured public address). Usage: two-factor-bench BASE [N]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{header, Client};
use serde_json::{json, Value};
use totp_rs::{Builder, Secret};
use url::Url;
use webauthn_authenticator_rs::{prelude::WebauthnAuthenticator, softpasskey::SoftPasskey};
use webauthn_rs_proto::{AllowCredentials, CreationChallengeResponse, RequestChallengeResponse};

const PASSWORD: &str = "benchmark-password";

/// A fresh browser, from an address of its own (the benchmark's server trusts 127.0.0.1 as its
/// proxy), so that no per-address limit counts the run's signups and sign-ins together.
fn client() -> Client {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut headers = header::HeaderMap::new();
    let address = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
    headers.insert("x-forwarded-for", address.parse().unwrap());
    Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A server function call, and how long the server took to answer it.
async fn call(
    client: &Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (Value, Duration) {
    let start = Instant::now();
    let res = client
        .post(format!("{base}/_sfn/{endpoint}"))
        .header(header::ORIGIN, base)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let took = start.elapsed();
    assert!(status.is_success(), "{endpoint}: {status} {text}");
    (serde_json::from_str(&text).unwrap_or(Value::Null), took)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |p: usize| ms(times[(times.len() * p / 100).min(times.len() - 1)]);
    println!(
        "{what}: p50 {:.1} ms, p99 {:.1} ms ({} sign-ins)",
        at(50),
        at(99),
        times.len()
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("usage: two-factor-bench BASE [N]");
    let n: usize = args.next().map_or(200, |n| n.parse().unwrap());
    let origin = Url::parse(&base).unwrap();
    let run = now();

    // N accounts with an authenticator app each: a code's time step is accepted once per
    // account, and N sign-ins of one account would wait 30 s each.
    let mut app_accounts = Vec::new();
    for i in 0..n {
        let browser = client();
        let email = format!("totp-{run}-{i}@example.com");
        call(
            &browser,
            &base,
            "auth/sign_up",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
        let (setup, _) = call(&browser, &base, "two_factor/start_app", &[]).await;
        let secret =
            Secret::try_from_base32(setup["secret"].as_str().unwrap().replace(' ', "")).unwrap();
        let totp = Builder::new().with_secret(secret).build_noncompliant();
        let code = totp.generate(now()).to_string();
        call(
            &browser,
            &base,
            "two_factor/confirm_app",
            &[("code", &code)],
        )
        .await;
        app_accounts.push((email, totp));
    }
    let (mut password_step, mut code_step, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for (email, totp) in &app_accounts {
        let browser = client();
        let (_, first) = call(
            &browser,
            &base,
            "auth/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
        // The step after the one that confirmed the app.
        let code = totp.generate(now() + 30).to_string();
        let (_, second) = call(&browser, &base, "two_factor/verify", &[("code", &code)]).await;
        password_step.push(first);
        code_step.push(second);
        both.push(first + second);
    }
    report(
        "sign-in with password + authenticator code, password step",
        password_step,
    );
    report(
        "sign-in with password + authenticator code, code step",
        code_step,
    );
    report(
        "sign-in with password + authenticator code, both steps",
        both,
    );

    // One account with a passkey, signing in N times without a password.
    let browser = client();
    let email = format!("passkey-{run}@example.com");
    call(
        &browser,
        &base,
        "auth/sign_up",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    let mut key = SoftPasskey::new(true);
    let (challenge, _) = call(&browser, &base, "passkeys/registration_challenge", &[]).await;
    let mut options: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = false;
    }
    let answer = key.do_registration(origin.clone(), options).unwrap();
    let credential = answer.raw_id.to_vec();
    let (added, _) = call(
        &browser,
        &base,
        "passkeys/register",
        &[
            ("ceremony", challenge["ceremony"].as_str().unwrap()),
            ("name", "Benchmark key"),
            ("credential", &serde_json::to_string(&answer).unwrap()),
        ],
    )
    .await;
    assert_eq!(added["passkey"]["name"], "Benchmark key");
    // The user handle a discoverable credential's answer carries: the software passkey keeps
    // none, so it is read off the registration's options.
    let user_handle = {
        let id = challenge["publicKey"]["user"]["id"].as_str().unwrap();
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        URL_SAFE_NO_PAD.decode(id).unwrap()
    };
    let (mut challenge_step, mut answer_step, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let browser = client();
        let (challenge, first) = call(&browser, &base, "passkeys/sign_in_challenge", &[]).await;
        let mut options: RequestChallengeResponse =
            serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: credential.clone(),
            transports: None,
        }];
        let mut answer = key.do_authentication(origin.clone(), options).unwrap();
        answer.response.user_handle = Some(user_handle.clone());
        let (landing, second) = call(
            &browser,
            &base,
            "passkeys/sign_in",
            &[
                ("ceremony", challenge["ceremony"].as_str().unwrap()),
                ("credential", &serde_json::to_string(&answer).unwrap()),
            ],
        )
        .await;
        assert_eq!(landing, "/");
        challenge_step.push(first);
        answer_step.push(second);
        both.push(first + second);
    }
    report("sign-in with a passkey, challenge", challenge_step);
    report("sign-in with a passkey, answer", answer_step);
    report("sign-in with a passkey, both steps", both);
}
