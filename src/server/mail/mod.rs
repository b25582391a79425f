//! Outgoing mail in three parts: the transport, the templates, and the outbox worker.

pub mod outbox;
pub mod templates;
pub mod transport;

use std::{fmt, str::FromStr, sync::Arc};

use lettre::message::Mailbox;

pub use outbox::{deliver_due, retry_delay, run_outbox};
pub use transport::{Email, Memory, Transport};

use super::{config::MailTransport, Clock, Config};

/// What a queued message is; the outbox stores it and renders the message by it at delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An email invitation; the row's `invitation_id` says which.
    Invitation,
    /// A password-reset link; the row's `account_token_id` says which.
    PasswordReset,
    /// An email-verification link; the row's `account_token_id` says which.
    EmailVerification,
    /// To an Owner or Administrator (`user_id`): who joined their organization
    /// (`organization_id`) through the invite link and waits for a role.
    PendingMembers,
    /// To a member (`user_id`) who was Pending: they have a role in `organization_id` now.
    RoleGranted,
    /// To an account (`user_id`) whose address someone tried to sign up with.
    AccountExists,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Invitation,
        MessageKind::PasswordReset,
        MessageKind::EmailVerification,
        MessageKind::PendingMembers,
        MessageKind::RoleGranted,
        MessageKind::AccountExists,
    ];

    /// The value of the `email_outbox.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::PasswordReset => "password_reset",
            MessageKind::EmailVerification => "email_verification",
            MessageKind::PendingMembers => "pending_members",
            MessageKind::RoleGranted => "role_granted",
            MessageKind::AccountExists => "account_exists",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown message kind {s:?}"))
    }
}

/// The sender and the transport the outbox delivers through.
pub struct Mailer {
    from: Mailbox,
    transport: Arc<dyn Transport>,
    /// The same transport when it is the in-memory one, for tests to read.
    memory: Option<Arc<Memory>>,
}

impl Mailer {
    /// SMTP when it is configured, else `.eml` files in the mail folder (named by the time on
    /// `clock`); memory when the configuration asks for it (tests only: no environment variable
    /// selects it).
    pub fn from_config(config: &Config, clock: Clock) -> Result<Self, String> {
        let from: Mailbox = config
            .email_from
            .parse()
            .map_err(|e| format!("LABEL_STUDIO_EMAIL_FROM is not a valid address: {e}"))?;
        Ok(match (&config.mail_transport, &config.smtp) {
            (MailTransport::Memory, _) => {
                let memory = Arc::new(Memory::default());
                Self {
                    from,
                    transport: memory.clone(),
                    memory: Some(memory),
                }
            }
            (MailTransport::Settings, Some(smtp)) => Self {
                from,
                transport: Arc::new(transport::Smtp::new(smtp)?),
                memory: None,
            },
            (MailTransport::Settings, None) => Self {
                from,
                transport: Arc::new(transport::Files {
                    dir: config.mail_dir(),
                    clock,
                }),
                memory: None,
            },
        })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub fn transport(&self) -> &dyn Transport {
        &*self.transport
    }

    /// The messages sent so far when the transport is the in-memory one.
    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_deref()
    }

    /// Addresses rendered content from the configured sender; fails on an unusable recipient.
    pub fn compose(&self, id: i64, to: &str, content: templates::Content) -> Result<Email, String> {
        to.parse::<Mailbox>()
            .map_err(|e| format!("bad recipient {to}: {e}"))?;
        let templates::Content {
            subject,
            text,
            html,
        } = content;
        Ok(Email {
            id,
            from: self.from.clone(),
            to: to.to_owned(),
            subject,
            text,
            html,
        })
    }

    pub async fn send(&self, email: &Email) -> Result<(), String> {
        self.transport.send(email).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_kind_reads_back_from_its_column_value() {
        for kind in MessageKind::ALL {
            assert_eq!(kind.as_str().parse::<MessageKind>(), Ok(kind));
        }
        assert!("newsletter".parse::<MessageKind>().is_err());
    }

    #[test]
    fn without_smtp_settings_messages_are_files_and_tests_may_ask_for_memory() {
        let files = Mailer::from_config(&Config::default(), Clock::system()).unwrap();
        assert!(files.transport().is_local() && files.memory().is_none());
        let memory = Mailer::from_config(
            &Config {
                mail_transport: MailTransport::Memory,
                ..Config::default()
            },
            Clock::system(),
        )
        .unwrap();
        assert!(memory.memory().is_some() && !memory.transport().is_local());
    }
}
