//! Email delivery: SMTP through lettre, or `.eml` files in the data folder when no SMTP server is
//! configured. The outbox worker delivers what invitations enqueue and retries with backoff until
//! it succeeds; several instances may run it against one database.

use std::{path::PathBuf, time::Duration};

use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use super::{
    config::{SmtpConfig, SmtpTls},
    db, now, AppState, Config,
};
use crate::domain::{format_timestamp, Role};

/// How long a worker holds a message it is delivering before another may retry it.
const LEASE_SECONDS: i64 = 120;
const MAX_RETRY_DELAY_SECONDS: i64 = 60 * 60;

pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Files { dir: PathBuf, from: Mailbox },
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let from: Mailbox = config
            .email_from
            .parse()
            .map_err(|e| format!("LABEL_STUDIO_EMAIL_FROM is not a valid address: {e}"))?;
        Ok(match &config.smtp {
            Some(smtp) => Mailer::Smtp { transport: smtp_transport(smtp)?, from },
            None => Mailer::Files { dir: config.mail_dir(), from },
        })
    }

    fn from(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from,
        }
    }

    async fn deliver(&self, outbox_id: i64, message: Message) -> Result<(), String> {
        match self {
            Mailer::Smtp { transport, .. } => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Files { dir, .. } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let path = dir.join(format!("{}-{outbox_id}.eml", now()));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
        }
    }
}

fn smtp_transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| format!("cannot use SMTP host {}: {e}", smtp.host))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| format!("cannot use SMTP host {}: {e}", smtp.host))?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(Duration::from_secs(20)));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The invitation message, with a plain-text and an HTML part.
pub struct Invitation<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub inviter: &'a str,
    pub role: Role,
    pub link: &'a str,
    pub expires_at: i64,
}

pub fn invitation_message(from: &Mailbox, i: &Invitation<'_>) -> Result<Message, String> {
    let expires = format_timestamp(i.expires_at).replace('T', " ").replace('Z', " UTC");
    let text = format!(
        "Hello,\n\n{inviter} invited you to join {org} as {role}.\n\nCreate your account here:\n{link}\n\n\
         The link is for {to} only, works once, and expires on {expires}.\n\
         If you did not expect this invitation, ignore this message.\n",
        inviter = i.inviter,
        org = i.organization,
        role = i.role.label(),
        link = i.link,
        to = i.to,
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n\
         <p>Hello,</p>\n<p>{inviter} invited you to join <strong>{org}</strong> as {role}.</p>\n\
         <p><a href=\"{link}\" style=\"display:inline-block;padding:10px 18px;background:#3b5bdb;\
         color:#fff;border-radius:6px;text-decoration:none\">Create your account</a></p>\n\
         <p>Or open this link:<br>\n<a href=\"{link}\">{link}</a></p>\n\
         <p style=\"color:#666\">The link is for {to} only, works once, and expires on {expires}.\n\
         If you did not expect this invitation, ignore this message.</p>\n</body></html>\n",
        inviter = escape_html(i.inviter),
        org = escape_html(i.organization),
        role = i.role.label(),
        link = escape_html(i.link),
        to = escape_html(i.to),
    );
    let to: Mailbox = i.to.parse().map_err(|e| format!("bad recipient {}: {e}", i.to))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("{} invited you to {}", i.inviter, i.organization))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| e.to_string())
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// Runs until the app stops: delivers due messages, then sleeps until woken or the poll interval.
pub async fn run_outbox(state: AppState) {
    loop {
        match deliver_due(&state).await {
            Ok(delivered) if delivered > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the outbox could not be read; retrying"),
        }
        tokio::select! {
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(state.config.mail_poll_interval) => {}
        }
    }
}

/// Delivers every message that is due; returns how many were handled.
pub async fn deliver_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = now();
    let due = db::outbox::due(state.db.pool(), now, 50).await?;
    let mut handled = 0;
    for item in due {
        if !db::outbox::claim(state.db.pool(), item.id, now, now + LEASE_SECONDS).await? {
            continue;
        }
        handled += 1;
        let invitation = db::invitations::find(state.db.pool(), item.invitation_id).await?;
        let Some(invitation) = invitation.filter(|i| i.is_open()) else {
            // Accepted or revoked since it was queued: nothing to send.
            db::outbox::delete(state.db.pool(), item.id).await?;
            continue;
        };
        let organization = db::organizations::title(state.db.pool(), invitation.organization_id).await?.unwrap_or_default();
        let link = format!("{}/user/signup?token={}", item.origin, state.keys.invitation(&invitation.salt));
        let role = invitation.role;
        let inviter = invitation.invited_by.as_deref().unwrap_or("An administrator");
        let message = invitation_message(
            state.mailer.from(),
            &Invitation {
                to: &item.recipient,
                organization: &organization,
                inviter,
                role,
                link: &link,
                expires_at: invitation.expires_at,
            },
        );
        let result = match message {
            Ok(message) => state.mailer.deliver(item.id, message).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                db::outbox::mark_sent(state.db.pool(), item.id, super::now()).await?;
                if matches!(*state.mailer, Mailer::Files { .. }) {
                    tracing::info!(to = %item.recipient, %link, "invitation written to the mail folder (no SMTP configured)");
                } else {
                    tracing::info!(to = %item.recipient, "invitation sent");
                }
            }
            Err(error) => {
                let delay = retry_delay(state.config.mail_retry_base_seconds, item.attempts);
                tracing::warn!(to = %item.recipient, attempts = item.attempts + 1, retry_in_seconds = delay, %error, "invitation not delivered");
                db::outbox::mark_failed(state.db.pool(), item.id, &error, super::now() + delay).await?;
            }
        }
    }
    Ok(handled)
}

/// Doubles with each failed attempt, from `base` up to an hour.
pub fn retry_delay(base: i64, attempts: i64) -> i64 {
    base.saturating_mul(1i64 << attempts.clamp(0, 20)).min(MAX_RETRY_DELAY_SECONDS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_an_hour() {
        assert_eq!(retry_delay(5, 0), 5);
        assert_eq!(retry_delay(5, 1), 10);
        assert_eq!(retry_delay(5, 3), 40);
        assert_eq!(retry_delay(5, 30), 3600);
    }

    #[test]
    fn the_invitation_has_text_and_html_parts_with_the_link() {
        let from: Mailbox = "Gatehouse <noreply@example.com>".parse().unwrap();
        let message = invitation_message(
            &from,
            &Invitation {
                to: "ada@example.com",
                organization: "Acme <Labs>",
                inviter: "owner@example.com",
                role: Role::Reviewer,
                link: "http://127.0.0.1:3000/user/signup?token=ghi_abc",
                expires_at: 0,
            },
        )
        .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("To: ada@example.com"));
        // Long lines are sent quoted-printable: undo its soft breaks and escapes.
        let decoded = raw.replace("=\r\n", "").replace("=3D", "=").replace("=0A", "\n");
        assert!(decoded.contains("http://127.0.0.1:3000/user/signup?token=ghi_abc\r\n"), "{decoded}");
        assert!(decoded.contains("Acme &lt;Labs&gt;"), "the HTML part escapes the title:\n{decoded}");
    }
}
