//! Where messages go: an SMTP server (lettre), `.eml` files in the mail folder, or memory (tests).

use std::{future::Future, path::PathBuf, pin::Pin, sync::Mutex, time::Duration};

use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::server::{
    config::{SmtpConfig, SmtpTls},
    Clock,
};

/// A message ready to send: addressed, with its text and HTML parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The outbox row it comes from: unique per message, it names the `.eml` file.
    pub id: i64,
    pub from: Mailbox,
    /// The recipient's address, already checked to parse as a mailbox.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Email {
    /// The MIME message: `multipart/alternative` with the text part first.
    pub fn message(&self) -> Result<Message, String> {
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| format!("bad recipient {}: {e}", self.to))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(self.subject.as_str())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(self.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(self.html.clone()),
                    ),
            )
            .map_err(|e| e.to_string())
    }
}

/// What a send returns: the error is logged and kept with the message until it is retried.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait Transport: Send + Sync {
    fn send<'a>(&'a self, email: &'a Email) -> Sending<'a>;

    /// Whether messages stay on this machine for whoever runs it (no mail server): the worker
    /// then logs the link each one carries.
    fn is_local(&self) -> bool {
        false
    }
}

/// Delivery through an SMTP server.
pub struct Smtp(AsyncSmtpTransport<Tokio1Executor>);

impl Smtp {
    pub fn new(smtp: &SmtpConfig) -> Result<Self, String> {
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| format!("cannot use SMTP host {}: {e}", smtp.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| format!("cannot use SMTP host {}: {e}", smtp.host))?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self(builder.build()))
    }
}

impl Transport for Smtp {
    fn send<'a>(&'a self, email: &'a Email) -> Sending<'a> {
        Box::pin(async move {
            let message = email.message()?;
            self.0
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// Writes each message to `<dir>/<unix seconds>-<id>.eml`, for an install without a mail server.
/// The folder and the files are readable by their owner only: the messages carry invitation links.
pub struct Files {
    pub dir: PathBuf,
    pub clock: Clock,
}

impl Transport for Files {
    fn send<'a>(&'a self, email: &'a Email) -> Sending<'a> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt;

            let message = email.message()?;
            let dir = &self.dir;
            let mut folder = tokio::fs::DirBuilder::new();
            folder.recursive(true);
            #[cfg(unix)]
            folder.mode(crate::server::files::PRIVATE_DIR_MODE);
            folder
                .create(dir)
                .await
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join(format!("{}-{}.eml", self.clock.now(), email.id));
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            options.mode(crate::server::files::PRIVATE_FILE_MODE);
            let written = async {
                let mut file = options.open(&path).await?;
                file.write_all(&message.formatted()).await?;
                file.flush().await
            };
            written
                .await
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// Keeps every message in memory, for tests to read: never a production transport.
#[derive(Debug, Default)]
pub struct Memory {
    sent: Mutex<Vec<Email>>,
    changed: tokio::sync::Notify,
}

impl Memory {
    /// Every message sent so far, oldest first.
    pub fn messages(&self) -> Vec<Email> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until the messages sent so far satisfy `done`, and returns them.
    pub async fn wait_until(&self, done: impl Fn(&[Email]) -> bool) -> Vec<Email> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a message sent in between still wakes us.
            changed.as_mut().enable();
            let sent = self.messages();
            if done(&sent) {
                return sent;
            }
            changed.await;
        }
    }
}

impl Transport for Memory {
    fn send<'a>(&'a self, email: &'a Email) -> Sending<'a> {
        Box::pin(async move {
            email.message()?;
            self.sent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(email.clone());
            self.changed.notify_waiters();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            id: 7,
            from: "Gatehouse <noreply@example.com>".parse().unwrap(),
            to: "ada@example.com".into(),
            subject: "Gatehouse: owner@example.com invited you to join \"Acme <Labs>\"".into(),
            text: "Create your account here:\nhttp://127.0.0.1:3000/user/signup?token=ghi_abc\n"
                .into(),
            html: "<p>Acme &lt;Labs&gt;</p>\n".into(),
        }
    }

    #[test]
    fn the_message_has_a_text_and_an_html_part() {
        let raw = String::from_utf8(email().message().unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"));
        assert!(
            raw.find("text/plain").unwrap() < raw.find("text/html").unwrap(),
            "text first:\n{raw}"
        );
        assert!(raw.contains("To: ada@example.com"));
        assert!(raw.contains("From: Gatehouse <noreply@example.com>"));
        assert!(
            raw.contains("http://127.0.0.1:3000/user/signup?token=ghi_abc\r\n"),
            "{raw}"
        );
    }

    #[test]
    fn a_bad_recipient_is_an_error_not_a_panic() {
        let email = Email {
            to: "not an address".into(),
            ..email()
        };
        assert!(email.message().unwrap_err().contains("bad recipient"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn eml_files_and_their_folder_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!(
            "gatehouse-mail-{}",
            hex::encode(crate::server::auth::secrets::random_bytes::<6>())
        ));
        let files = Files {
            dir: root.join("mail"),
            clock: Clock::system(),
        };
        files.send(&email()).await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.dir), 0o700);
        let written: Vec<_> = std::fs::read_dir(&files.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(written.len(), 1);
        assert!(written[0].to_string_lossy().ends_with("-7.eml"));
        assert_eq!(mode(&written[0]), 0o600);
        let text = std::fs::read_to_string(&written[0]).unwrap();
        assert!(
            text.contains("token=ghi_abc"),
            "the whole message is written: {text}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn the_memory_transport_keeps_each_message_and_wakes_waiters() {
        let memory = std::sync::Arc::new(Memory::default());
        let waiter = tokio::spawn({
            let memory = memory.clone();
            async move { memory.wait_until(|sent| sent.len() == 2).await }
        });
        memory.send(&email()).await.unwrap();
        memory.send(&Email { id: 8, ..email() }).await.unwrap();
        let sent = waiter.await.unwrap();
        assert_eq!(sent.iter().map(|e| e.id).collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(memory.messages(), sent);
    }
}
