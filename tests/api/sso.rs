//! Single sign-on through OpenID Connect (SPEC section 10), against a real, certified provider:
//! `oidc-provider` (npm), started on a loopback port for each test, with accounts and groups the
//! test chooses. The browser's part is played by a cookie-keeping client that follows the
//! redirects by hand.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use gatehouse::domain::Role;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// The provider, killed when dropped.
struct Provider {
    issuer: String,
    child: Child,
    http: Client,
}

impl Provider {
    /// Starts a provider whose one client (`gatehouse`, secret `s3cret`) may be sent back to
    /// `redirect_url`.
    fn start(redirect_url: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/end2end/oidc/provider.mjs");
        let clients = json!([{
            "client_id": "gatehouse",
            "client_secret": "s3cret",
            "redirect_uris": [redirect_url],
        }]);
        let mut child = Command::new("node")
            .arg(script)
            .env("OIDC_PORT", "0")
            .env("OIDC_CLIENTS", clients.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test provider (npm ci in end2end/ installs it)");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the provider says where it listens");
        let issuer = line
            .trim()
            .strip_prefix("OIDC_READY ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        Self {
            issuer,
            child,
            http: Client::new(),
        }
    }

    /// Stores (or replaces) the account `id` with `claims`.
    async fn account(&self, id: &str, claims: Value) {
        let res = self
            .http
            .put(format!("{}/test/accounts/{id}", self.issuer))
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An app whose Owner set up OpenID Connect with the provider, mapping `label-admins` to
/// Administrator and `annotators` to Annotator, for addresses at `domain`.
struct Setup {
    app: TestApp,
    provider: Provider,
    owner: String,
    domain: String,
}

async fn set_up(backend: Backend, extra: Value) -> Setup {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let settings: Value = app
        .api(Method::GET, "/api/oidc/settings", &owner)
        .json_ok()
        .await;
    let redirect_url = settings["redirect_url"].as_str().unwrap().to_owned();
    assert!(
        redirect_url.starts_with(&app.address) && redirect_url.ends_with("/oidc/callback"),
        "{redirect_url}"
    );
    let provider = Provider::start(&redirect_url);
    let domain = format!("{}.example.com", unique("corp"));
    let mut body = json!({
        "issuer": provider.issuer,
        "client_id": "gatehouse",
        "client_secret": "s3cret",
        "domain": domain,
        "roles_groups": [["Administrator", "label-admins"], ["ANNOTATOR", "annotators"]],
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let saved: Value = app
        .api(Method::POST, "/api/oidc/settings", &owner)
        .json(&body)
        .json_ok()
        .await;
    assert_eq!(saved["client_secret_set"], true);
    assert!(
        saved.get("client_secret").is_none(),
        "the secret is never sent back"
    );
    Setup {
        app,
        provider,
        owner,
        domain,
    }
}

/// Where an answer sends the browser.
fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location in a {} answer", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn absolute(app: &TestApp, location: &str) -> String {
    if location.starts_with('/') {
        app.url(location)
    } else {
        location.to_owned()
    }
}

/// "Continue with SSO" with `email`, through the provider (whose interaction signs in the account
/// the address names), up to the callback address it sends the browser back to (not visited).
async fn to_callback(app: &TestApp, browser: &Client, email: &str) -> String {
    let res = browser
        .get(app.url("/sso/start"))
        .query(&[("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let next = regex::Regex::new(r#"<a id="continue" href="([^"]+)""#)
        .unwrap()
        .captures(&html)
        .unwrap_or_else(|| panic!("no way on in {html}"))[1]
        .replace("&amp;", "&");
    follow_to_callback(app, browser, absolute(app, &next)).await
}

/// From `next` (the organization's sign-in address, or the provider's) up to the callback.
async fn follow_to_callback(app: &TestApp, browser: &Client, mut next: String) -> String {
    for _ in 0..20 {
        if next.starts_with(&app.address) && next.contains("/oidc/callback") {
            return next;
        }
        let res = browser.get(&next).send().await.unwrap();
        assert!(
            res.status().is_redirection(),
            "{next} answered {}: {}",
            res.status(),
            res.text().await.unwrap()
        );
        let to = location(&res);
        next = if to.starts_with('/') {
            let origin = url_origin(&next);
            format!("{origin}{to}")
        } else {
            to
        };
    }
    panic!("the sign-in never came back to the app");
}

fn url_origin(url: &str) -> String {
    let rest = url.split_once("://").unwrap();
    let host = rest.1.split('/').next().unwrap();
    format!("{}://{host}", rest.0)
}

/// Visits the callback: where the app sends the browser then.
async fn callback(browser: &Client, url: &str) -> String {
    let res = browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{url}");
    location(&res)
}

/// Signs `email` in through single sign-on with a new browser; the browser and where it ended.
async fn sign_in(app: &TestApp, email: &str) -> (Client, String) {
    let browser = new_client();
    let url = to_callback(app, &browser, email).await;
    let landed = callback(&browser, &url).await;
    (browser, landed)
}

/// The reason a failure page names, when the browser was sent to one.
fn failure(landed: &str) -> Option<String> {
    let query = landed.strip_prefix("/sso/failed?")?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("reason="))
        .map(str::to_owned)
}

async fn audit_actions(app: &TestApp, owner: &str) -> Vec<Value> {
    let org = app.organization(owner).await.id;
    let page: Value = app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?page_size=100"),
            owner,
        )
        .json_ok()
        .await;
    page["results"].as_array().unwrap().clone()
}

async fn sso_just_in_time_accounts_get_the_role_of_their_groups(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("ada@{}", s.domain);
    s.provider
        .account(
            "ada",
            json!({"email": email, "email_verified": true, "given_name": "Ada", "family_name": "Lovelace", "groups": ["staff", "label-admins", "annotators"]}),
        )
        .await;
    let (browser, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/", "signed in and sent to the app");
    let me = s.app.whoami(&browser).await;
    assert_eq!(me.email, email);
    let row = s.app.member_row(&email).await;
    assert_eq!(
        row.role,
        Role::Administrator,
        "the most elevated mapped group"
    );
    assert_eq!(row.first_name, "Ada");
    assert_eq!(row.last_name, "Lovelace");
    // The address is verified, and no password signs in to the account.
    let profile: Value = s.app.get_json(&browser, "/api/current-user").await;
    assert_eq!(profile["email"], email.as_str());
    let res = s.app.log_in_with(&new_client(), &email, "").await;
    assert!(res.status().is_client_error());
    // The second sign-in finds the same account through its identity.
    let (_, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.count("sso_identities").await, 1);
    assert_eq!(s.app.count("users").await, 2);
    let log = audit_actions(&s.app, &s.owner).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for wanted in [
        "sso.account_created",
        "sso.account_linked",
        "sso.signed_in",
        "sso.settings_changed",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
    let created = log
        .iter()
        .find(|e| e["action"] == "sso.account_created")
        .unwrap();
    assert_eq!(created["actor"]["kind"], "sso");
}

async fn sso_roles_follow_the_groups_at_every_sign_in(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("bob@{}", s.domain);
    let claims = |groups: Value| json!({"email": email, "email_verified": true, "groups": groups});
    s.provider
        .account("bob", claims(json!(["annotators"])))
        .await;
    let (_, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.member_row(&email).await.role, Role::Annotator);
    s.provider
        .account("bob", claims(json!(["label-admins"])))
        .await;
    sign_in(&s.app, &email).await;
    assert_eq!(s.app.member_row(&email).await.role, Role::Administrator);
    // In no mapped group: deactivated, and not signed in.
    s.provider.account("bob", claims(json!(["other"]))).await;
    let (browser, landed) = sign_in(&s.app, &email).await;
    assert_eq!(failure(&landed).as_deref(), Some("deactivated"), "{landed}");
    assert_eq!(
        status_of_whoami(&s.app, &browser).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.app.member_row(&email).await.role, Role::Deactivated);
    // Back in a mapped group: restored.
    s.provider
        .account("bob", claims(json!(["annotators"])))
        .await;
    let (_, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.member_row(&email).await.role, Role::Annotator);
    let log = audit_actions(&s.app, &s.owner).await;
    let by_sso: Vec<&str> = log
        .iter()
        .filter(|e| e["actor"]["kind"] == "sso")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for wanted in [
        "member.role_changed",
        "member.deactivated",
        "member.restored",
    ] {
        assert!(by_sso.contains(&wanted), "{wanted} in {by_sso:?}");
    }
}

async fn sso_manual_role_management_maps_only_new_accounts_and_the_owner_is_never_changed(
    backend: Backend,
) {
    let s = set_up(backend, json!({"manual_role_management": true})).await;
    let email = format!("cy@{}", s.domain);
    s.provider
        .account(
            "cy",
            json!({"email": email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    sign_in(&s.app, &email).await;
    let row = s.app.member_row(&email).await;
    assert_eq!(row.role, Role::Annotator);
    s.app.set_role(row.user_id, Role::Manager).await;
    s.provider
        .account(
            "cy",
            json!({"email": email, "email_verified": true, "groups": []}),
        )
        .await;
    let (_, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.member_row(&email).await.role, Role::Manager, "kept");
}

/// Signs `email` in from the organization's own sign-in address (an address outside its domains).
async fn sign_in_at_login_url(s: &Setup, email: &str) -> (Client, String) {
    let settings: Value = s
        .app
        .api(Method::GET, "/api/oidc/settings", &s.owner)
        .json_ok()
        .await;
    let start = format!(
        "{}?login_hint={email}",
        settings["login_url"].as_str().unwrap()
    );
    let browser = new_client();
    let url = follow_to_callback(&s.app, &browser, start).await;
    let landed = callback(&browser, &url).await;
    (browser, landed)
}

async fn sso_linking_an_existing_member_follows_the_setting(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let member = s.app.add_member(Role::Reviewer).await;
    s.provider
        .account(
            "m",
            json!({"email": member.email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    // Linking off: refused with what to do, nothing linked.
    let (_, landed) = sign_in_at_login_url(&s, &member.email).await;
    assert_eq!(
        failure(&landed).as_deref(),
        Some("account_exists"),
        "{landed}"
    );
    assert_eq!(s.app.count("sso_identities").await, 0);
    let page = new_client()
        .get(s.app.url(&landed))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(
            "Sign in with your password, then link single sign-on from your Account page."
        ),
        "{html}"
    );
    assert!(html.contains("sso-reference"), "a reference is shown");
    let log = audit_actions(&s.app, &s.owner).await;
    let failed = log
        .iter()
        .find(|e| e["action"] == "sso.sign_in_failed")
        .expect("logged");
    assert_eq!(failed["details"]["reason"], "account_exists");
    assert_eq!(failed["target"]["label"], member.email.as_str());
    // Linking on: the identity is linked to the member's account, and the groups decide.
    s.app
        .api(Method::POST, "/api/oidc/settings", &s.owner)
        .json(&json!({"link_existing_by_email": true}))
        .json_ok::<Value>()
        .await;
    let (browser, landed) = sign_in_at_login_url(&s, &member.email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.whoami(&browser).await.email, member.email);
    assert_eq!(s.app.member_row(&member.email).await.role, Role::Annotator);
    assert_eq!(s.app.count("sso_identities").await, 1);
}

async fn sso_never_signs_in_an_account_of_another_organization(backend: Backend) {
    let s = set_up(backend, json!({"link_existing_by_email": true})).await;
    // Someone with an address at the domain has their own organization.
    let email = format!("eve@{}", s.domain);
    let other = new_client();
    assert_eq!(
        s.app.sign_up_with(&other, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    s.provider
        .account(
            "eve",
            json!({"email": email, "email_verified": true, "groups": ["label-admins"]}),
        )
        .await;
    let (browser, landed) = sign_in(&s.app, &email).await;
    assert_eq!(
        failure(&landed).as_deref(),
        Some("other_organization"),
        "{landed}"
    );
    assert_eq!(
        status_of_whoami(&s.app, &browser).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.app.count("sso_identities").await, 0);
}

async fn sso_refuses_an_address_the_provider_did_not_verify(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("nv@{}", s.domain);
    s.provider
        .account(
            "nv",
            json!({"email": email, "email_verified": false, "groups": ["annotators"]}),
        )
        .await;
    let (_, landed) = sign_in(&s.app, &email).await;
    assert_eq!(
        failure(&landed).as_deref(),
        Some("no_verified_email"),
        "{landed}"
    );
    assert_eq!(s.app.count("users").await, 1, "no account made");
}

async fn sso_callbacks_that_were_not_started_here_or_came_back_twice_are_refused(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("st@{}", s.domain);
    s.provider
        .account(
            "st",
            json!({"email": email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    // A wrong state.
    let browser = new_client();
    let url = to_callback(&s.app, &browser, &email).await;
    let forged = regex::Regex::new("state=[^&]+")
        .unwrap()
        .replace(&url, "state=forged")
        .into_owned();
    assert_eq!(
        failure(&callback(&browser, &forged).await).as_deref(),
        Some("expired")
    );
    // The right one, in another browser (without the cookie of the one that started it).
    let stranger = new_client();
    assert_eq!(
        failure(&callback(&stranger, &url).await).as_deref(),
        Some("other_browser")
    );
    // Once taken, a state does not work again, even in the right browser.
    assert_eq!(
        failure(&callback(&browser, &url).await).as_deref(),
        Some("expired")
    );
    // A replayed code with a fresh state: the provider refuses it.
    let browser = new_client();
    let url = to_callback(&s.app, &browser, &email).await;
    assert_eq!(callback(&browser, &url).await, "/");
    let code = regex::Regex::new("code=([^&]+)")
        .unwrap()
        .captures(&url)
        .unwrap()[1]
        .to_owned();
    let again = to_callback(&s.app, &browser, &email).await;
    let replayed = regex::Regex::new("code=[^&]+")
        .unwrap()
        .replace(&again, format!("code={code}"))
        .into_owned();
    assert_eq!(
        failure(&callback(&browser, &replayed).await).as_deref(),
        Some("provider_refused")
    );
    // A nonce other than the one the ID token carries.
    let browser = new_client();
    let url = to_callback(&s.app, &browser, &email).await;
    sqlx::query("UPDATE sso_requests SET nonce = 'another nonce'")
        .execute(s.app.db().pool())
        .await
        .unwrap();
    assert_eq!(
        failure(&callback(&browser, &url).await).as_deref(),
        Some("invalid_answer")
    );
    assert_eq!(
        status_of_whoami(&s.app, &browser).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn sso_a_provider_that_went_away_ends_on_a_readable_page_in_time(backend: Backend) {
    let mut s = set_up(backend, json!({})).await;
    let email = format!("gone@{}", s.domain);
    s.provider
        .account(
            "gone",
            json!({"email": email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    let browser = new_client();
    let url = to_callback(&s.app, &browser, &email).await;
    s.provider.stop();
    let started = Instant::now();
    let landed = callback(&browser, &url).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        failure(&landed).as_deref(),
        Some("provider_unreachable"),
        "{landed}"
    );
    let html = new_client()
        .get(s.app.url(&landed))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("could not be reached"), "{html}");
}

async fn sso_without_a_free_seat_leaves_the_new_member_pending(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let org = s.app.org_id().await;
    s.app.set_seats(org, 1);
    let email = format!("late@{}", s.domain);
    s.provider
        .account(
            "late",
            json!({"email": email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    let (browser, landed) = sign_in(&s.app, &email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.member_row(&email).await.role, Role::NotActivated);
    let me: Value = s.app.get_json(&browser, "/api/current-user").await;
    assert_eq!(me["email"], email.as_str(), "signed in, as Pending");
}

async fn sso_settings_are_the_owners_and_a_domain_signs_in_one_organization(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let admin = s.app.add_member(Role::Administrator).await;
    let admin = s.app.token(&admin.client).await;
    let annotator = s.app.add_member(Role::Annotator).await;
    let annotator = s.app.token(&annotator.client).await;
    let read: Value = s
        .app
        .api(Method::GET, "/api/oidc/settings/", &admin)
        .json_ok()
        .await;
    assert_eq!(read["issuer"], s.provider.issuer.as_str());
    assert_eq!(read["domain"], s.domain.as_str());
    assert_eq!(
        read["roles_groups"],
        json!([
            ["Administrator", "label-admins"],
            ["Annotator", "annotators"]
        ])
    );
    assert!(read.get("client_secret").is_none());
    s.app
        .api(Method::POST, "/api/oidc/settings", &admin)
        .json(&json!({"sso_required": true}))
        .error(StatusCode::FORBIDDEN)
        .await;
    s.app
        .api(Method::GET, "/api/oidc/settings", &annotator)
        .error(StatusCode::FORBIDDEN)
        .await;
    for (body, field) in [
        (
            json!({"roles_groups": [["Owner", "x"]]}),
            "Owner cannot be given by a group",
        ),
        (json!({"issuer": "http://idp.example.com"}), "issuer"),
        (json!({"domain": "not a domain!"}), "domain"),
        (json!({"default_role": "DEACTIVATED"}), "default_role"),
    ] {
        let res = s
            .app
            .api(Method::POST, "/api/oidc/settings", &s.owner)
            .json(&body)
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = res.text().await.unwrap();
        assert!(text.contains(field), "{body}: {text}");
    }
    // Another organization cannot claim the domain.
    let client = new_client();
    assert_eq!(
        s.app
            .sign_up_with(&client, &format!("{}@example.org", unique("o2-")), PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let owner2 = s.app.token(&client).await;
    let res = s
        .app
        .api(Method::POST, "/api/oidc/settings", &owner2)
        .json(&json!({"issuer": s.provider.issuer, "client_id": "x", "domain": s.domain}))
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("already signs in"));
    // Removing the settings: the domain no longer leads anywhere.
    let res = s
        .app
        .api(Method::DELETE, "/api/oidc/settings", &s.owner)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = new_client()
        .get(s.app.url("/sso/start"))
        .query(&[("email", format!("x@{}", s.domain))])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/sso/failed?reason=unknown_domain");
}

async fn sso_required_refuses_members_passwords_but_not_the_owners(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let member = s.app.add_member(Role::Manager).await;
    let owner_email = s.app.whoami(&s.app.client).await.email;
    s.app
        .api(Method::POST, "/api/oidc/settings", &s.owner)
        .json(&json!({"sso_required": true}))
        .json_ok::<Value>()
        .await;
    let res = s
        .app
        .log_in_with(&new_client(), &member.email, PASSWORD)
        .await;
    let message = server_fn_error(res, StatusCode::FORBIDDEN).await;
    assert!(message.contains("Continue with SSO"), "{message}");
    // The Owner keeps a password, for when the provider fails.
    let res = s
        .app
        .log_in_with(&new_client(), &owner_email, PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // API tokens keep working.
    let token = s.app.token(&member.client).await;
    assert_eq!(s.app.organization(&token).await.id, s.app.org_id().await);
    // No password reset for them either.
    let row = s.app.member_row(&member.email).await;
    let res = s
        .app
        .server_fn(
            &s.app.client,
            "members/send_password_reset",
            &[("user_id", &row.user_id.to_string())],
        )
        .await;
    let message = server_fn_error(res, StatusCode::CONFLICT).await;
    assert!(message.contains("requires single sign-on"), "{message}");
}

async fn sso_identities(app: &TestApp, client: &Client) -> Value {
    let res = app.server_fn(client, "sso/identities", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn sso_a_member_links_and_unlinks_their_identity_from_the_account_page(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let member = s.app.add_member(Role::Reviewer).await;
    let found = sso_identities(&s.app, &member.client).await;
    assert_eq!(found["identities"], json!([]));
    assert_eq!(found["has_password"], true);
    let link = found["link_url"]
        .as_str()
        .expect("a provider to link")
        .to_owned();
    // The provider signs in someone with another address: nothing is linked.
    s.provider
        .account(
            "other",
            json!({"email": member.email.replace('@', "+x@"), "email_verified": true}),
        )
        .await;
    let other = link.replace(
        &format!("login_hint={}", member.email.replace('@', "%40")),
        "login_hint=other",
    );
    let url = follow_to_callback(&s.app, &member.client, s.app.url(&other)).await;
    assert_eq!(
        failure(&callback(&member.client, &url).await).as_deref(),
        Some("other_address")
    );
    // Their own address: linked.
    s.provider
        .account(
            "m",
            json!({"email": member.email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    let url = follow_to_callback(&s.app, &member.client, s.app.url(&link)).await;
    assert_eq!(
        callback(&member.client, &url).await,
        "/user/account?linked=1"
    );
    let found = sso_identities(&s.app, &member.client).await;
    let identities = found["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1);
    assert_eq!(identities[0]["issuer"], s.provider.issuer.as_str());
    // Signing in through the provider now reaches the member's account (linking by address is off).
    let (browser, landed) = sign_in_at_login_url(&s, &member.email).await;
    assert_eq!(landed, "/");
    assert_eq!(s.app.whoami(&browser).await.id, member.id);
    // Unlinked: the next sign-in through the provider is refused again.
    let id = identities[0]["id"].as_i64().unwrap().to_string();
    let res = s
        .app
        .server_fn(&member.client, "sso/unlink", &[("id", &id)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        sso_identities(&s.app, &member.client).await["identities"],
        json!([])
    );
    let (_, landed) = sign_in_at_login_url(&s, &member.email).await;
    assert_eq!(failure(&landed).as_deref(), Some("account_exists"));
    let actions: Vec<String> = audit_actions(&s.app, &s.owner)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"sso.account_unlinked".to_owned()),
        "{actions:?}"
    );
}

async fn sso_an_account_made_by_single_sign_on_keeps_its_only_way_in(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("only@{}", s.domain);
    s.provider
        .account(
            "only",
            json!({"email": email, "email_verified": true, "groups": ["annotators"]}),
        )
        .await;
    let (browser, _) = sign_in(&s.app, &email).await;
    let found = sso_identities(&s.app, &browser).await;
    assert_eq!(found["has_password"], false);
    let id = found["identities"][0]["id"].as_i64().unwrap().to_string();
    let res = s
        .app
        .server_fn(&browser, "sso/unlink", &[("id", &id)])
        .await;
    let message = server_fn_error(res, StatusCode::CONFLICT).await;
    assert!(message.contains("set a password first"), "{message}");
    assert_eq!(s.app.count("sso_identities").await, 1);
}

async fn sso_a_test_sign_in_shows_the_answer_and_signs_nobody_in(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("tess@{}", s.domain);
    s.provider
        .account("tess", json!({"email": email, "email_verified": true, "given_name": "Tess", "groups": ["label-admins", "<b>x</b>"]}))
        .await;
    let settings: Value = s
        .app
        .api(Method::GET, "/api/oidc/settings", &s.owner)
        .json_ok()
        .await;
    let start = format!(
        "{}?test=1&login_hint={email}",
        settings["login_url"].as_str().unwrap()
    );
    // Only the organization's Owner and Administrators may run one.
    let res = new_client().get(&start).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let url = follow_to_callback(&s.app, &s.app.client, start).await;
    let res = s.app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Would make the account"), "{html}");
    assert!(html.contains("as Administrator"), "{html}");
    assert!(
        html.contains("&lt;b&gt;x&lt;/b&gt;"),
        "group names are escaped: {html}"
    );
    assert!(!html.contains("<b>x</b>"));
    assert_eq!(s.app.count("users").await, 1, "nobody was made");
    assert_eq!(s.app.count("sso_identities").await, 0);
}

crate::on_both_databases!(
    sso_a_member_links_and_unlinks_their_identity_from_the_account_page,
    sso_an_account_made_by_single_sign_on_keeps_its_only_way_in,
    sso_a_test_sign_in_shows_the_answer_and_signs_nobody_in,
    sso_required_refuses_members_passwords_but_not_the_owners,
    sso_just_in_time_accounts_get_the_role_of_their_groups,
    sso_roles_follow_the_groups_at_every_sign_in,
    sso_manual_role_management_maps_only_new_accounts_and_the_owner_is_never_changed,
    sso_linking_an_existing_member_follows_the_setting,
    sso_never_signs_in_an_account_of_another_organization,
    sso_refuses_an_address_the_provider_did_not_verify,
    sso_callbacks_that_were_not_started_here_or_came_back_twice_are_refused,
    sso_a_provider_that_went_away_ends_on_a_readable_page_in_time,
    sso_without_a_free_seat_leaves_the_new_member_pending,
    sso_settings_are_the_owners_and_a_domain_signs_in_one_organization,
);
