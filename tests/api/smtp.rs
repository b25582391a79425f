//! A small SMTP server for the tests: it accepts every message and keeps it, and can be stopped
//! and started again on the same port to play an outage.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinSet,
};

#[derive(Clone, Debug)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

impl Received {
    /// The message body with quoted-printable soft breaks and escapes undone.
    pub fn decoded(&self) -> String {
        decode_quoted_printable(&self.data)
    }
}

pub struct FakeSmtp {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeSmtp {
    pub async fn start(port: u16) -> Self {
        Self::start_with(port, Arc::default()).await
    }

    async fn start_with(port: u16, messages: Arc<Mutex<Vec<Received>>>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("a port for the SMTP server");
        let port = listener.local_addr().unwrap().port();
        let store = messages.clone();
        let server = tokio::spawn(async move {
            // Dropping this set (when the server task is aborted) closes every connection.
            let mut connections = JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                connections.spawn(serve(socket, store.clone()));
            }
        });
        Self {
            port,
            messages,
            server,
        }
    }

    /// Stops listening and drops every open connection; returns what is needed to start again.
    pub fn stop(self) -> (u16, Arc<Mutex<Vec<Received>>>) {
        self.server.abort();
        (self.port, self.messages)
    }

    pub async fn restart(port: u16, messages: Arc<Mutex<Vec<Received>>>) -> Self {
        Self::start_with(port, messages).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

async fn serve(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 fake-smtp ready\r\n").await;
    let mut recipients = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-fake-smtp\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            if command.starts_with("RSET") {
                recipients.clear();
            }
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line[8..]
                .trim()
                .trim_start_matches(':')
                .trim()
                .trim_matches(|c| c == '<' || c == '>');
            recipients.push(address.to_owned());
            b"250 OK\r\n"
        } else if command.starts_with("DATA") {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            store.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            b"250 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The invitation link in a message.
pub fn invitation_link(message: &str) -> Option<String> {
    let decoded = decode_quoted_printable(message);
    let start = decoded.find("http")?;
    let rest = &decoded[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    let link = &rest[..end];
    link.contains("token=ghi_").then(|| link.to_owned())
}

pub fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_owned()
}
