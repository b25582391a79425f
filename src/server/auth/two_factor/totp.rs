//! The authenticator app (TOTP, RFC 6238): 30-second steps, 6 digits, a step either side
//! accepted, each step accepted once. The 160-bit secret is kept masked under a key derived from
//! the server key ([`crate::server::auth::keys::Keys::totp_mask`]).

use totp_rs::{Builder, Secret, Totp};

use crate::domain::{normalize_code, AppError};
use crate::server::{auth::secrets, db, error::OrInternal, AppState};

/// The name apps show beside the code.
const ISSUER: &str = "Gatehouse";

/// A secret as stored: masked, with its nonce.
pub struct Masked {
    pub secret: Vec<u8>,
    pub nonce: Vec<u8>,
}

/// A new 160-bit secret for `user_id`, masked for storage, and its plain bytes.
pub fn new_secret(state: &AppState, user_id: i64) -> ([u8; 20], Masked) {
    let secret = secrets::random_bytes::<20>();
    let nonce = secrets::random_bytes::<16>();
    let masked = apply_mask(state, user_id, &nonce, &secret);
    (
        secret,
        Masked {
            secret: masked,
            nonce: nonce.to_vec(),
        },
    )
}

/// The secret of a stored record.
pub fn unmask(state: &AppState, user_id: i64, record: &db::two_factor::TotpRecord) -> Vec<u8> {
    apply_mask(state, user_id, &record.nonce, &record.masked_secret)
}

fn apply_mask(state: &AppState, user_id: i64, nonce: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mask = state.keys.totp_mask(user_id, nonce);
    bytes.iter().zip(mask.iter()).map(|(b, m)| b ^ m).collect()
}

/// The generator for a secret, named for `account` in apps.
pub fn generator(secret: &[u8], account: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(ISSUER))
        // An address has no colon, but the otpauth label would take one as its separator.
        .with_account_name(account.replace(':', ""))
        .build()
        .or_internal("making a TOTP generator")
}

/// The time step a code matches at `now` (the current one, or one either side), if any.
pub fn matching_step(totp: &Totp, typed: &str, now: i64) -> Option<i64> {
    let code = normalize_code(typed);
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    totp.check(&code, now)
        .and_then(|step| i64::try_from(step).ok())
}

/// The secret in base32, in groups of four, as people type it into an app.
pub fn readable_secret(totp: &Totp) -> String {
    let base32 = totp.secret().to_base32();
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` address of a generator.
pub fn uri(totp: &Totp) -> Result<String, AppError> {
    totp.to_url().or_internal("writing the otpauth address")
}

/// The QR code of `text` as an SVG element, to be placed in a page.
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    use qrcode::{render::svg, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_internal("drawing a QR code")?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The element alone: the XML declaration has no place inside an HTML page.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code of the authenticator app's secret\"",
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test vector for SHA-1 (its secret is the 20 bytes of "12345678901234567890"),
    /// cut to 6 digits.
    #[test]
    fn codes_match_the_rfc_test_vectors_with_a_step_either_side() {
        let totp = generator(b"12345678901234567890", "ana@example.com").unwrap();
        assert_eq!(matching_step(&totp, "287082", 59), Some(1));
        assert_eq!(
            matching_step(&totp, "287 082", 59 + 30),
            Some(1),
            "a step late"
        );
        assert_eq!(
            matching_step(&totp, "287082", 59 + 60),
            None,
            "two steps late"
        );
        assert_eq!(
            matching_step(&totp, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        assert_eq!(matching_step(&totp, "28708", 59), None);
        assert_eq!(matching_step(&totp, "abcdef", 59), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_element() {
        let svg = qr_svg("otpauth://totp/Gatehouse:ana%40example.com?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..40]);
        assert!(!svg.contains("<?xml"));
    }
}
