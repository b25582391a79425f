//! The SAML 2.0 service provider (SPEC section 10), with `samael` and the distribution's xmlsec1:
//! the IdP's metadata read once when the settings are saved, AuthnRequests sent by HTTP-Redirect,
//! and HTTP-POST responses verified: a signature (RSA-SHA256 or stronger) by a certificate of
//! the metadata over the Response or over the Assertion whose data is used (what no signature
//! covers is dropped before it is read, so a wrapped or commented document yields nothing
//! unsigned), one Assertion, our entity id as Audience, our ACS as Destination and Recipient, the
//! times with 2 minutes of skew, `InResponseTo` naming a request this server sent, and no DTD.
//! Replays are refused by the caller, which records each Assertion ID once.

use std::collections::BTreeMap;

use samael::{
    crypto::AllowedSignatureAlgorithm,
    metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING},
    schema::Assertion,
    service_provider::{ServiceProvider, ServiceProviderBuilder},
    traits::ToXml,
};

/// What the IdP's metadata says: who it is and where people sign in.
#[derive(Clone, Debug)]
pub struct Idp {
    pub entity_id: String,
    pub sso_url: String,
    metadata: EntityDescriptor,
}

/// Reads the IdP's metadata: its entity id, its HTTP-Redirect sign-in address and at least one
/// signing certificate; a readable reason when something is missing.
pub fn idp(xml: &str) -> Result<Idp, String> {
    if has_dtd(xml) {
        return Err("the metadata has a DOCTYPE, which is not accepted".into());
    }
    let metadata: EntityDescriptor = xml
        .parse()
        .map_err(|e| format!("it is not SAML metadata (an EntityDescriptor): {e}"))?;
    let entity_id = metadata
        .entity_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or("it names no entityID")?;
    let descriptor = metadata
        .idp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or("it has no IDPSSODescriptor (is it an identity provider's metadata?)")?;
    let sso_url = descriptor
        .single_sign_on_services
        .iter()
        .find(|s| s.binding == HTTP_REDIRECT_BINDING)
        .map(|s| s.location.clone())
        .ok_or("it has no SingleSignOnService with the HTTP-Redirect binding")?;
    let probe = ServiceProvider {
        idp_metadata: metadata.clone(),
        ..Default::default()
    };
    match probe.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => {}
        Ok(_) => return Err("it has no signing certificate".into()),
        Err(e) => return Err(format!("its signing certificate cannot be read: {e}")),
    }
    Ok(Idp {
        entity_id,
        sso_url,
        metadata,
    })
}

/// Whether an XML text declares a document type (entities, external references): never needed
/// by SAML, and refused before any parser sees it.
pub fn has_dtd(xml: &str) -> bool {
    xml.contains("<!DOCTYPE") || xml.contains("<!doctype") || xml.contains("<!ENTITY")
}

/// Our side, toward `idp`: `entity_id` is our metadata's address, `acs_url` where responses are
/// posted. With `unsolicited`, responses to no request of ours are taken (IdP-initiated).
pub fn service_provider(
    idp: &Idp,
    entity_id: &str,
    acs_url: &str,
    unsolicited: bool,
) -> Result<ServiceProvider, String> {
    let sp = ServiceProviderBuilder::default()
        .entity_id(entity_id.to_owned())
        .metadata_url(entity_id.to_owned())
        .acs_url(acs_url.to_owned())
        .slo_url(acs_url.replace("/acs", "/slo"))
        .idp_metadata(idp.metadata.clone())
        .max_clock_skew(chrono::Duration::minutes(2))
        .max_issue_delay(chrono::Duration::minutes(5))
        .allow_idp_initiated(unsolicited)
        .allowed_signature_algorithms(vec![
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha512,
            AllowedSignatureAlgorithm::EcdsaSha256,
        ])
        .build()
        .map_err(|e| format!("cannot set up the service provider: {e}"))?;
    // Without a certificate samael checks no signature at all: never run so.
    match sp.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => Ok(sp),
        _ => Err("the identity provider's metadata has no signing certificate".into()),
    }
}

/// Our metadata, for the IdP.
pub fn metadata(sp: &ServiceProvider) -> Result<String, String> {
    sp.metadata()
        .and_then(|m| m.to_string())
        .map_err(|e| format!("cannot write the service provider's metadata: {e}"))
}

/// The IdP's sign-in address carrying a new AuthnRequest, and the request's id (128 random bits).
pub fn login_redirect(sp: &ServiceProvider, idp: &Idp) -> Result<(String, String), String> {
    let mut request = sp
        .make_authentication_request(&idp.sso_url)
        .map_err(|e| format!("cannot make an AuthnRequest: {e}"))?;
    request.id = format!(
        "_{}",
        hex::encode(crate::server::auth::secrets::random_bytes::<16>())
    );
    let url = request
        .redirect("")
        .map_err(|e| format!("cannot encode the AuthnRequest: {e}"))?
        .ok_or("the AuthnRequest has no destination")?;
    Ok((url.to_string(), request.id))
}

/// What a verified Assertion says.
#[derive(Debug)]
pub struct Verified {
    pub assertion_id: String,
    pub name_id: String,
    pub email_format: bool,
    /// When the assertion stops being valid (Unix seconds), if it says.
    pub not_on_or_after: Option<i64>,
    /// Whether it answers a request (`InResponseTo`).
    pub solicited: bool,
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Verifies a posted `SAMLResponse` (base64) that answers one of `request_ids` (none: an
/// unsolicited response, for a provider built with `unsolicited`).
pub fn verify(
    sp: &ServiceProvider,
    encoded: &str,
    request_ids: &[&str],
) -> Result<Verified, String> {
    let encoded: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let xml = decode(&encoded).ok_or("the response is not base64 XML")?;
    if has_dtd(&xml) {
        return Err("the response has a DOCTYPE".into());
    }
    // Exactly one Assertion: a second one, signed or not, is how signature wrapping hides the
    // data a careless reader would take.
    let assertions = count_elements(&xml, "Assertion");
    if assertions != 1 {
        return Err(format!(
            "the response has {assertions} Assertion elements, not one"
        ));
    }
    let ids = (!request_ids.is_empty()).then_some(request_ids);
    let assertion: Assertion = sp
        .parse_base64_response(&encoded, ids)
        .map_err(|e| e.to_string())?;
    let subject = assertion.subject.as_ref();
    let name_id = subject
        .and_then(|s| s.name_id.as_ref())
        .ok_or("the assertion has no NameID")?;
    let solicited = subject
        .and_then(|s| s.subject_confirmations.as_ref())
        .is_some_and(|confirmations| {
            confirmations.iter().any(|c| {
                c.subject_confirmation_data
                    .as_ref()
                    .is_some_and(|d| d.in_response_to.is_some())
            })
        });
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in assertion.attribute_statements.iter().flatten() {
        for attribute in &statement.attributes {
            let values = attribute.values.iter().filter_map(|v| v.value.clone());
            for name in [&attribute.name, &attribute.friendly_name]
                .into_iter()
                .flatten()
            {
                attributes
                    .entry(name.clone())
                    .or_default()
                    .extend(values.clone());
            }
        }
    }
    Ok(Verified {
        assertion_id: assertion.id.clone(),
        name_id: name_id.value.clone(),
        email_format: name_id
            .format
            .as_deref()
            .is_some_and(|f| f.ends_with(":emailAddress")),
        not_on_or_after: assertion
            .conditions
            .as_ref()
            .and_then(|c| c.not_on_or_after)
            .map(|t| t.timestamp()),
        solicited,
        attributes,
    })
}

/// How many elements named `local` (with or without a namespace prefix) the document opens.
fn count_elements(xml: &str, local: &str) -> usize {
    xml.match_indices('<')
        .filter(|(at, _)| {
            let name: String = xml[at + 1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            name.rsplit(':').next() == Some(local)
        })
        .count()
}

/// The XML of a base64 response, if it decodes.
pub fn decode(encoded: &str) -> Option<String> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let bytes = STANDARD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

/// The `InResponseTo` values a response names (read before it is verified, only to find the
/// request it claims to answer; the verification checks them).
pub fn claimed_requests(xml: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find("InResponseTo=") {
        rest = &rest[at + "InResponseTo=".len()..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let value = &rest[1..];
        if let Some(end) = value.find(quote) {
            let id = &value[..end];
            if !id.is_empty() && id.len() <= 256 && !found.iter().any(|f| f == id) {
                found.push(id.to_owned());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_counted_with_or_without_a_prefix() {
        let xml = r#"<samlp:Response><saml:Assertion ID="a"><saml:AssertionX/></saml:Assertion><Assertion>x</Assertion><saml:EncryptedAssertion/></samlp:Response>"#;
        assert_eq!(count_elements(xml, "Assertion"), 2);
    }

    #[test]
    fn the_requests_a_response_claims_to_answer_are_read() {
        let xml = r#"<r InResponseTo="_abc"><s InResponseTo='_abc'/><t InResponseTo="_def"/></r>"#;
        assert_eq!(claimed_requests(xml), vec!["_abc", "_def"]);
        assert!(claimed_requests("<r/>").is_empty());
    }
}
