//! Outgoing mail: the transport and the templates. It knows no feature of the app: the outbox
//! table (`db::outbox`) says what a queued message is, and the worker (`server::delivery`) renders
//! it with the templates and sends it through the mailer.

pub mod templates;
pub mod transport;

use std::sync::Arc;

use lettre::message::Mailbox;

pub use transport::{Email, Memory, Transport};

use super::{config::MailTransport, Clock, Config};

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
