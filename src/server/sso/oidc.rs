//! The OpenID Connect relying party (SPEC section 10), with the `openidconnect` crate: the
//! authorization code flow with PKCE (S256), `state` and `nonce` bound to the browser that
//! started it; the ID token verified against the provider's keys (fetched again once when it
//! names a key we do not know), its issuer, audience, expiry and nonce.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
        CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
        CoreProviderMetadata, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
        CoreTokenIntrospectionResponse, CoreTokenType,
    },
    reqwest, AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError,
    Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpClientError, IdTokenClaims, IdTokenFields, IssuerUrl,
    LoginHint, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::settings::StoredOidc;
use crate::domain::{EmailAddress, Protocol, SsoProblem};
use crate::server::auth::single_sign_on::{Answer, Failed};

/// Every claim of the ID token that is not a standard one (`groups`, or whatever carries the
/// address at this provider).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type TokenAnswer = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long the HTTP client waits for a provider, in all.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a provider's discovery document is used before it is fetched again.
const DISCOVERY_LIFETIME: Duration = Duration::from_secs(3600);
/// The signing algorithms accepted (never `none`, never HMAC with the client secret).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];
/// How far the provider's clock may run ahead of ours when the token's expiry is checked.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// The providers' discovery documents (with their keys), and the HTTP client that fetches them:
/// it follows no redirects and gives up after [`PROVIDER_TIMEOUT`].
pub struct Providers {
    http: reqwest::Client,
    discovered: Mutex<HashMap<String, (Arc<CoreProviderMetadata>, Instant)>>,
}

impl Providers {
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .connect_timeout(PROVIDER_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make the HTTP client for single sign-on: {e}"))?;
        Ok(Self {
            http,
            discovered: Mutex::new(HashMap::new()),
        })
    }

    /// A text document from `url` (the IdP's SAML metadata): at most 1 MB, no redirects, 10 s.
    pub async fn fetch_text(&self, url: &str) -> Result<String, String> {
        let response = self.http.get(url).send().await.map_err(|e| chain(&e))?;
        if !response.status().is_success() {
            return Err(format!("it answered {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > 1_000_000) {
            return Err("the document is larger than 1 MB".into());
        }
        let bytes = response.bytes().await.map_err(|e| chain(&e))?;
        if bytes.len() > 1_000_000 {
            return Err("the document is larger than 1 MB".into());
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| "the document is not UTF-8 text".into())
    }

    fn cached(&self, issuer: &str) -> Option<Arc<CoreProviderMetadata>> {
        let cache = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(issuer)
            .filter(|(_, at)| at.elapsed() < DISCOVERY_LIFETIME)
            .map(|(metadata, _)| metadata.clone())
    }

    fn remember(&self, issuer: &str, metadata: CoreProviderMetadata) -> Arc<CoreProviderMetadata> {
        let metadata = Arc::new(metadata);
        let mut cache = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(issuer.to_owned(), (metadata.clone(), Instant::now()));
        metadata
    }

    /// The provider's discovery document, from the cache or fetched.
    async fn metadata(&self, issuer: &str) -> Result<Arc<CoreProviderMetadata>, Failed> {
        if let Some(metadata) = self.cached(issuer) {
            return Ok(metadata);
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| {
            Failed::problem(
                SsoProblem::ProviderUnreachable,
                format!("the issuer is not an address: {e}"),
            )
        })?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| {
                let problem = match &e {
                    openidconnect::DiscoveryError::Request(_) => SsoProblem::ProviderUnreachable,
                    _ => SsoProblem::ProviderRefused,
                };
                Failed::problem(
                    problem,
                    format!("discovery of {issuer} failed: {}", chain(&e)),
                )
            })?;
        Ok(self.remember(issuer, metadata))
    }

    /// Fetches the provider's keys again (a token named a key we did not know).
    async fn refresh_keys(
        &self,
        issuer: &str,
        metadata: &CoreProviderMetadata,
    ) -> Result<Arc<CoreProviderMetadata>, Failed> {
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                Failed::problem(
                    SsoProblem::ProviderUnreachable,
                    format!("fetching the keys of {issuer} failed: {}", chain(&e)),
                )
            })?;
        Ok(self.remember(issuer, metadata.clone().set_jwks(keys)))
    }
}

/// The error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn client(
    metadata: &CoreProviderMetadata,
    settings: &StoredOidc,
    redirect_url: &str,
) -> Result<OidcClient, Failed> {
    let secret = (!settings.client_secret.is_empty())
        .then(|| ClientSecret::new(settings.client_secret.clone()));
    let redirect = RedirectUrl::new(redirect_url.to_owned()).map_err(|e| {
        Failed::Error(crate::domain::AppError::Internal(format!(
            "the redirect address {redirect_url} cannot be read: {e}"
        )))
    })?;
    Ok(OidcClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(settings.client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect))
}

/// What a sign-in stores while the browser is at the provider.
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The provider's authorization address for a new sign-in with `state`.
pub async fn start(
    providers: &Providers,
    settings: &StoredOidc,
    redirect_url: &str,
    state: String,
    login_hint: Option<&str>,
) -> Result<Started, Failed> {
    let metadata = providers.metadata(&settings.issuer).await?;
    let client = client(&metadata, settings, redirect_url)?;
    let nonce = random_text();
    let pkce_verifier = random_text();
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(pkce_verifier.clone()));
    let nonce_for_url = nonce.clone();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce_for_url),
        )
        .add_scopes(
            settings
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty() && *s != "openid")
                .map(|s| Scope::new(s.to_owned())),
        )
        .set_pkce_challenge(challenge);
    if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
        request = request.set_login_hint(LoginHint::new(hint.to_owned()));
    }
    let (url, _, _) = request.url();
    Ok(Started {
        url: url.to_string(),
        nonce,
        pkce_verifier,
    })
}

/// 32 random bytes in URL-safe base64: 43 characters (a PKCE verifier needs 43 to 128).
fn random_text() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(crate::server::auth::secrets::random_bytes::<32>())
}

/// Exchanges the code the provider sent back, verifies the ID token and reads who it names.
pub async fn finish(
    providers: &Providers,
    settings: &StoredOidc,
    redirect_url: &str,
    code: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<Answer, Failed> {
    let issuer = &settings.issuer;
    let metadata = providers.metadata(issuer).await?;
    let client = client(&metadata, settings, redirect_url)?;
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| {
            Failed::problem(
                SsoProblem::ProviderRefused,
                format!("the provider has no token endpoint: {e}"),
            )
        })?;
    let tokens = request
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&providers.http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(answer) => Failed::problem(
                SsoProblem::ProviderRefused,
                format!(
                    "the token endpoint refused the code: {}{}",
                    answer.error(),
                    answer
                        .error_description()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ),
            RequestTokenError::Request(HttpClientError::Reqwest(e)) => Failed::problem(
                SsoProblem::ProviderUnreachable,
                format!("the token endpoint could not be reached: {}", chain(&*e)),
            ),
            other => Failed::problem(
                SsoProblem::ProviderRefused,
                format!(
                    "the token endpoint's answer cannot be read: {}",
                    chain(&other)
                ),
            ),
        })?;
    let Some(id_token) = tokens.id_token() else {
        return Err(Failed::problem(
            SsoProblem::InvalidAnswer,
            "the token endpoint sent no ID token",
        ));
    };
    let nonce = Nonce::new(nonce.to_owned());
    let verify = |client: &OidcClient| -> Result<
        IdTokenClaims<OtherClaims, CoreGenderClaim>,
        ClaimsVerificationError,
    > {
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ALGORITHMS)
            .set_time_fn(|| chrono::Utc::now() - CLOCK_SKEW);
        id_token.claims(&verifier, &nonce).cloned()
    };
    let claims = match verify(&client) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            // The provider rolled its keys: fetch them again, once.
            let metadata = providers.refresh_keys(issuer, &metadata).await?;
            verify(&self::client(&metadata, settings, redirect_url)?)
        }
        verified => verified,
    }
    .map_err(|e| {
        Failed::problem(
            SsoProblem::InvalidAnswer,
            format!("the ID token failed verification: {}", chain(&e)),
        )
    })?;
    answer(settings, &claims)
}

/// Who the verified claims name, read through the settings' mappings.
fn answer(
    settings: &StoredOidc,
    claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>,
) -> Result<Answer, Failed> {
    let all = serde_json::to_value(claims).unwrap_or_default();
    let mapping = &settings.common;
    let text = |name: &str| -> Option<String> {
        if name.is_empty() {
            return None;
        }
        all.get(name).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            // A localized claim serialized as an object of languages: its untagged value.
            serde_json::Value::Object(map) => {
                map.values().find_map(|v| v.as_str().map(str::to_owned))
            }
            _ => None,
        })
    };
    let Some(address) = text(&mapping.mapping_email) else {
        return Err(Failed::problem(
            SsoProblem::NoVerifiedEmail,
            format!("the ID token has no \"{}\" claim", mapping.mapping_email),
        ));
    };
    if claims.email_verified() != Some(true) {
        return Err(Failed::problem(
            SsoProblem::NoVerifiedEmail,
            format!("the provider did not verify {address} (email_verified is not true)"),
        ));
    }
    let email = EmailAddress::parse(&address).map_err(|_| {
        Failed::problem(
            SsoProblem::NoVerifiedEmail,
            format!(
                "the \"{}\" claim is not an email address",
                mapping.mapping_email
            ),
        )
    })?;
    let groups = match all.get(&mapping.mapping_groups) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let name = |claim: &str| {
        text(claim)
            .map(|n| n.chars().filter(|c| !c.is_control()).take(150).collect())
            .unwrap_or_default()
    };
    Ok(Answer {
        protocol: Protocol::Oidc,
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email,
        first_name: name(&mapping.mapping_first_name),
        last_name: name(&mapping.mapping_last_name),
        groups,
    })
}
