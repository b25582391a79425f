//! Single sign-on through SAML 2.0 (SPEC section 10), against a real IdP implementation: pysaml2
//! with the distribution's xmlsec1 (`tests/saml/idp.py`, in the venv `.ci/setup` makes) issues
//! the metadata and the signed responses (and the forged ones) that a browser would post.

use std::{io::Read, process::Command};

use base64::{engine::general_purpose::STANDARD, Engine};
use gatehouse::domain::Role;
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

pub const IDP_ENTITY: &str = "https://idp.test/saml";
pub const IDP_SSO: &str = "https://idp.test/sso";

/// The test IdP's metadata.
pub fn idp_metadata() -> String {
    idp(&["metadata", "--entity-id", IDP_ENTITY, "--sso-url", IDP_SSO])
}

/// Runs the test IdP with `args`; its standard output.
pub fn idp(args: &[&str]) -> String {
    let venv = std::env::var("GATEHOUSE_VENV")
        .unwrap_or_else(|_| format!("{}/.cache/gatehouse-venv", std::env::var("HOME").unwrap()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/saml/idp.py");
    let out = Command::new(format!("{venv}/bin/python"))
        .arg(script)
        .args(args)
        .output()
        .expect("the venv's python runs the test IdP (.ci/setup installs pysaml2)");
    assert!(
        out.status.success(),
        "idp.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// An app whose Owner set up SAML with the test IdP, mapping `label-admins` to Administrator and
/// `annotators` to Annotator, for addresses at `domain`.
struct Setup {
    app: TestApp,
    owner: String,
    domain: String,
    /// Our entity id (the Audience) and ACS.
    entity_id: String,
    acs_url: String,
}

async fn set_up(backend: Backend, extra: Value) -> Setup {
    let app = TestApp::spawn(backend).await;
    app.sign_up().await;
    let owner = app.token(&app.client).await;
    let defaults: Value = app
        .api(Method::GET, "/api/saml/settings", &owner)
        .json_ok()
        .await;
    let entity_id = defaults["metadata_xml_url"].as_str().unwrap().to_owned();
    let acs_url = defaults["acs_url"].as_str().unwrap().to_owned();
    let domain = format!("{}.example.com", unique("corp"));
    let metadata = idp_metadata();
    let mut body = json!({
        "metadata_xml": metadata,
        "domain": domain,
        "roles_groups": [["Administrator", "label-admins"], ["Annotator", "annotators"]],
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let saved: Value = app
        .api(Method::POST, "/api/saml/settings", &owner)
        .json(&body)
        .json_ok()
        .await;
    assert_eq!(saved["idp_entity_id"], IDP_ENTITY);
    Setup {
        app,
        owner,
        domain,
        entity_id,
        acs_url,
    }
}

/// "Continue with SSO" up to the IdP: the AuthnRequest's id.
async fn start(s: &Setup, browser: &Client, email: &str) -> String {
    let res = browser
        .get(s.app.url("/sso/start"))
        .query(&[("email", email)])
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    let next = regex::Regex::new(r#"<a id="continue" href="([^"]+)""#)
        .unwrap()
        .captures(&html)
        .unwrap_or_else(|| panic!("no way on in {html}"))[1]
        .replace("&amp;", "&");
    let res = browser.get(s.app.url(&next)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_idp = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to_idp.starts_with(IDP_SSO), "{to_idp}");
    let request = url_param(&to_idp, "SAMLRequest");
    let deflated = STANDARD.decode(request).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    regex::Regex::new(r#" ID="([^"]+)""#)
        .unwrap()
        .captures(&xml)
        .unwrap()[1]
        .to_owned()
}

fn url_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .map(|v| {
            let v = v.replace('+', " ");
            percent_decode(&v)
        })
        .unwrap()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A response from the test IdP for `name_id` (an address), with `groups`, answering
/// `in_response_to` when given, of `variant`, with `more` arguments.
fn response(
    s: &Setup,
    name_id: &str,
    groups: &[&str],
    in_response_to: Option<&str>,
    variant: &str,
    more: &[&str],
) -> String {
    let mut args = vec![
        "response",
        "--entity-id",
        IDP_ENTITY,
        "--sp-entity-id",
        &s.entity_id,
        "--acs-url",
        &s.acs_url,
        "--name-id",
        name_id,
        "--variant",
        variant,
    ];
    if let Some(id) = in_response_to {
        args.extend(["--in-response-to", id]);
    }
    let attrs: Vec<String> = groups.iter().map(|g| format!("groups={g}")).collect();
    for attr in &attrs {
        args.extend(["--attr", attr]);
    }
    args.extend(more);
    idp(&args)
}

/// Posts a SAMLResponse to the ACS as the IdP's page makes the browser do (from another site):
/// where the app sends the browser then.
async fn post(s: &Setup, browser: &Client, saml_response: &str) -> String {
    let res = browser
        .post(&s.acs_url)
        .header(header::ORIGIN, "https://idp.test")
        .form(&[("SAMLResponse", saml_response), ("RelayState", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

fn failure(landed: &str) -> Option<String> {
    landed
        .strip_prefix("/sso/failed?")?
        .split('&')
        .find_map(|p| p.strip_prefix("reason="))
        .map(str::to_owned)
}

async fn saml_sp_initiated_sign_in_makes_the_account_with_the_role_of_its_groups(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    // Our metadata names our entity id and ACS.
    let metadata = new_client().get(&s.entity_id).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let xml = metadata.text().await.unwrap();
    assert!(
        xml.contains(&s.entity_id) && xml.contains(&s.acs_url),
        "{xml}"
    );
    let email = format!("ada@{}", s.domain);
    let browser = new_client();
    let request = start(&s, &browser, &email).await;
    let signed = response(
        &s,
        &email,
        &["staff", "label-admins"],
        Some(&request),
        "good",
        &["--attr", "firstName=Ada", "--attr", "lastName=Lovelace"],
    );
    assert_eq!(post(&s, &browser, &signed).await, "/");
    assert_eq!(s.app.whoami(&browser).await.email, email);
    let row = s.app.member_row(&email).await;
    assert_eq!(row.role, Role::Administrator);
    assert_eq!(row.first_name, "Ada");
    // The same response again: its request was answered, its assertion used.
    assert_eq!(
        failure(&post(&s, &new_client(), &signed).await).as_deref(),
        Some("expired")
    );
    // A new request, answered with the assertion of the first: a replay.
    let browser = new_client();
    let request = start(&s, &browser, &email).await;
    let assertion_id = regex::Regex::new(r#"Assertion[^>]* ID="([^"]+)""#)
        .unwrap()
        .captures(&saml_xml(&signed))
        .unwrap()[1]
        .to_owned();
    let replayed = response(
        &s,
        &email,
        &["label-admins"],
        Some(&request),
        "good",
        &["--assertion-id", &assertion_id],
    );
    assert_eq!(
        failure(&post(&s, &browser, &replayed).await).as_deref(),
        Some("expired")
    );
    assert_eq!(
        status_of_whoami(&s.app, &browser).await,
        StatusCode::UNAUTHORIZED
    );
    // Each signing layout is accepted: the response signed, or both.
    for sign in ["response", "both"] {
        let browser = new_client();
        let request = start(&s, &browser, &email).await;
        let signed = response(
            &s,
            &email,
            &["annotators"],
            Some(&request),
            "good",
            &["--sign", sign],
        );
        assert_eq!(post(&s, &browser, &signed).await, "/", "--sign {sign}");
    }
    assert_eq!(
        s.app.member_row(&email).await.role,
        Role::Annotator,
        "the groups decide at every sign-in"
    );
    let actions: Vec<String> = audit(&s).await;
    for wanted in [
        "sso.account_created",
        "sso.signed_in",
        "sso.sign_in_failed",
        "member.role_changed",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} in {actions:?}"
        );
    }
}

fn saml_xml(encoded: &str) -> String {
    String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
}

async fn audit(s: &Setup) -> Vec<String> {
    let org = s.app.organization(&s.owner).await.id;
    let page: Value = s
        .app
        .api(
            Method::GET,
            &format!("/api/organizations/{org}/audit-log?page_size=100"),
            &s.owner,
        )
        .json_ok()
        .await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn saml_forged_and_tampered_responses_are_refused_and_make_nothing(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    let email = format!("eve@{}", s.domain);
    let variants: &[(&str, &[&str])] = &[
        ("unsigned", &[]),
        ("other-key", &[]),
        ("sha1", &[]),
        ("expired", &[]),
        ("not-yet-valid", &[]),
        ("wrong-audience", &[]),
        ("wrong-destination", &[]),
        ("wrong-recipient", &[]),
        ("two-assertions", &[]),
        ("wrapping-moved", &["--xsw", "2"]),
        ("wrapping-moved", &["--xsw", "3"]),
        ("wrapping-moved", &["--xsw", "4"]),
        ("wrapping-moved", &["--xsw", "5"]),
        ("wrapping-moved", &["--xsw", "7"]),
        ("comment-in-nameid", &["--sign", "both"]),
        ("signature-over-other-element", &[]),
    ];
    for (variant, more) in variants {
        let browser = new_client();
        let request = start(&s, &browser, &email).await;
        let forged = response(&s, &email, &["label-admins"], Some(&request), variant, more);
        let landed = post(&s, &browser, &forged).await;
        assert!(
            failure(&landed).is_some(),
            "{variant} {more:?} was taken: {landed}"
        );
        assert_eq!(
            status_of_whoami(&s.app, &browser).await,
            StatusCode::UNAUTHORIZED,
            "{variant}"
        );
    }
    assert_eq!(s.app.count("users").await, 1, "nothing was made");
    assert_eq!(s.app.count("sso_identities").await, 0);
    // A response to no request of ours: refused while IdP-initiated sign-in is off.
    let unsolicited = response(&s, &email, &["annotators"], None, "good", &[]);
    assert_eq!(
        failure(&post(&s, &new_client(), &unsolicited).await).as_deref(),
        Some("expired")
    );
    // A request id we never issued.
    let made_up = response(&s, &email, &["annotators"], Some("_not-ours"), "good", &[]);
    assert_eq!(
        failure(&post(&s, &new_client(), &made_up).await).as_deref(),
        Some("expired")
    );
    // Garbage is a readable page too, never a 500.
    assert_eq!(
        failure(&post(&s, &new_client(), "%%%not base64").await).as_deref(),
        Some("invalid_answer")
    );
    assert_eq!(s.app.count("users").await, 1);
}

async fn saml_idp_initiated_sign_in_works_only_when_allowed(backend: Backend) {
    let s = set_up(backend, json!({"allow_idp_initiated": true})).await;
    let email = format!("ida@{}", s.domain);
    let unsolicited = response(&s, &email, &["annotators"], None, "good", &[]);
    let browser = new_client();
    assert_eq!(post(&s, &browser, &unsolicited).await, "/");
    assert_eq!(s.app.member_row(&email).await.role, Role::Annotator);
    // Once only.
    assert_eq!(
        failure(&post(&s, &new_client(), &unsolicited).await).as_deref(),
        Some("expired")
    );
    // Still refused: a response naming a request we did not send.
    let made_up = response(&s, &email, &["annotators"], Some("_not-ours"), "good", &[]);
    assert_eq!(
        failure(&post(&s, &new_client(), &made_up).await).as_deref(),
        Some("expired")
    );
    // Turned off again: refused.
    s.app
        .api(Method::POST, "/api/saml/settings", &s.owner)
        .json(&json!({"allow_idp_initiated": false}))
        .json_ok::<Value>()
        .await;
    let again = response(&s, &email, &["annotators"], None, "good", &[]);
    assert_eq!(
        failure(&post(&s, &new_client(), &again).await).as_deref(),
        Some("expired")
    );
}

async fn saml_settings_refuse_metadata_that_cannot_be_used(backend: Backend) {
    let s = set_up(backend, json!({})).await;
    for (metadata, says) in [
        ("not xml at all", "cannot be used"),
        (
            r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"#,
            "DOCTYPE",
        ),
        (
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.test/x"></md:EntityDescriptor>"#,
            "IDPSSODescriptor",
        ),
    ] {
        let res = s
            .app
            .api(Method::POST, "/api/saml/settings", &s.owner)
            .json(&json!({"metadata_xml": metadata}))
            .send()
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{metadata}");
        let text = res.text().await.unwrap();
        assert!(
            text.contains(says) && text.contains("metadata_xml"),
            "{text}"
        );
    }
    let admin = s.app.add_member(Role::Administrator).await;
    let admin = s.app.token(&admin.client).await;
    let read: Value = s
        .app
        .api(Method::GET, "/api/saml/settings/", &admin)
        .json_ok()
        .await;
    assert_eq!(read["idp_entity_id"], IDP_ENTITY);
    s.app
        .api(Method::DELETE, "/api/saml/settings", &admin)
        .error(StatusCode::FORBIDDEN)
        .await;
    let res = s
        .app
        .api(Method::DELETE, "/api/saml/settings", &s.owner)
        .send()
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = new_client()
        .get(s.app.url(&format!(
            "/sso/{}/saml/login",
            read["token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("reason=not_configured"));
}

crate::on_both_databases!(
    saml_sp_initiated_sign_in_makes_the_account_with_the_role_of_its_groups,
    saml_forged_and_tampered_responses_are_refused_and_make_nothing,
    saml_idp_initiated_sign_in_works_only_when_allowed,
    saml_settings_refuse_metadata_that_cannot_be_used,
);
