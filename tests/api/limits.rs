//! Limits a client cannot get around: slow or half-sent requests, too many connections, bodies
//! that are too large or never finish. These are about the HTTP server, not the database, so
//! each runs once (on SQLite).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::*;

/// A test of the server's own timing: generous, so that a busy machine does not fail it.
const MARGIN: Duration = Duration::from_secs(5);

/// An HTTP/1.1 response as read off the wire.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n\n{}", self.head, self.body))
    }
}

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(host(app)).await.unwrap()
}

/// Reads one response (a `Content-Length` or chunked body) from `stream`.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<RawResponse> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(stream, &mut buffer).await?;
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {head}"));
    let mut response = RawResponse {
        status,
        head,
        body: String::new(),
    };
    let mut body = buffer.split_off(head_end);
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().unwrap();
        while body.len() < length {
            read_more(stream, &mut body).await?;
        }
    } else if response
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        while !body.ends_with(b"0\r\n\r\n") {
            read_more(stream, &mut body).await?;
        }
        body = dechunk(&body);
    }
    response.body = String::from_utf8_lossy(&body).into_owned();
    Ok(response)
}

async fn read_more(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = chunked.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&chunked[..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunked[line_end + 2..line_end + 2 + size]);
        chunked = &chunked[line_end + 2 + size + 2..];
    }
}

/// Waits until the server closes `stream` (reading and dropping whatever it sends first).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_do_not_delay_others() {
    // The real defaults: headers within 10 s.
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.config.header_timeout, Duration::from_secs(10));
    let host = host(&app);
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..500 {
        let mut stream = connect(&app).await;
        stream
            .write_all(format!("GET /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAcc").as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }

    let started = Instant::now();
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "with 500 half-sent requests open, a request took {waited:?}"
    );

    let closing = stalled.into_iter().map(|mut stream| async move {
        tokio::time::timeout_at(
            (opened + Duration::from_secs(15)).into(),
            closed_by_server(&mut stream),
        )
        .await
        .is_ok()
    });
    let closed = futures::future::join_all(closing).await;
    let open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(
        open, 0,
        "{open} of 500 half-sent requests still open after 15 s"
    );
    assert!(
        opened.elapsed() >= Duration::from_secs(9),
        "closed before the 10 s were up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.header_timeout = timeout).await;
    let host = host(&app);

    // Nothing sent at all.
    let mut silent = connect(&app).await;
    // Headers trickling in, a byte at a time, slower than the timeout allows in all.
    let mut trickling = connect(&app).await;
    // A kept-alive connection that never sends its next request.
    let mut kept_alive = connect(&app).await;
    kept_alive
        .write_all(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut kept_alive).await.unwrap().status, 200);

    let started = Instant::now();
    let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let trickle = async {
        for byte in request.as_bytes() {
            if trickling.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::join!(
        async {
            tokio::time::timeout(timeout + MARGIN, closed_by_server(&mut silent))
                .await
                .expect("a silent connection is closed");
        },
        async {
            tokio::time::timeout(timeout + MARGIN, closed_by_server(&mut kept_alive))
                .await
                .expect("an idle kept-alive connection is closed");
        },
        trickle,
    );
    let mut answer = Vec::new();
    let _ = trickling.read_to_end(&mut answer).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains(" 200 "),
        "headers sent over {:?} were still answered",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let timeout = Duration::from_secs(1);
    // As by default, the answer's time runs out with the body's: it is still the body's fault.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.body_timeout = timeout;
        c.request_timeout = timeout;
    })
    .await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let host = host(&app);
    let requests = [
        // REST: the JSON error.
        format!(
            "PATCH /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":"
        ),
        // A server function: its error, as the browser's code reads it.
        format!(
            "POST /_sfn/auth/log_in HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a%40b"
        ),
    ];
    for (i, request) in requests.iter().enumerate() {
        let mut stream = connect(&app).await;
        stream.write_all(request.as_bytes()).await.unwrap();
        let started = Instant::now();
        let res = tokio::time::timeout(timeout + MARGIN, read_response(&mut stream))
            .await
            .expect("answered once the body's time is up")
            .unwrap();
        assert!(
            started.elapsed() >= timeout * 9 / 10,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(res.status, 408, "{res:?}");
        assert_eq!(res.header("connection"), Some("close"));
        let body = res.json();
        let detail = if i == 0 {
            assert_eq!(body["status_code"], 408);
            body["detail"].as_str().unwrap().to_owned()
        } else {
            body["BadRequest"].as_str().unwrap().to_owned()
        };
        assert!(
            detail.contains("did not arrive within 1 seconds"),
            "{detail}"
        );
    }
    // The organization is unchanged, and the server serves on.
    let org: Value = app
        .api(reqwest::Method::GET, "/api/organization/", &token)
        .json_ok()
        .await;
    assert!(org["title"].as_str().unwrap().contains('@'), "{org}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_answered_in_time_is_answered_503() {
    let timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.request_timeout = timeout;
        c.body_timeout = Duration::from_secs(600);
    })
    .await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let host = host(&app);
    // The body never finishes, so the handler never does: the answer's time runs out first.
    let mut stream = connect(&app).await;
    stream
        .write_all(
            format!(
                "PATCH /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let res = tokio::time::timeout(timeout + MARGIN, read_response(&mut stream))
        .await
        .expect("answered once the request's time is up")
        .unwrap();
    assert_eq!(res.status, 503, "{res:?}");
    assert!(res.header("retry-after").is_some(), "{res:?}");
    let body = res.json();
    assert_eq!(body["status_code"], 503);
    assert_eq!(
        body["detail"],
        "The server took too long to answer; try again in a moment."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.max_connections = 2).await;
    let host = host(&app);
    // Two connections, each proven accepted (it answers), then kept open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream
            .write_all(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
        held.push(stream);
    }

    let client = new_client();
    let url = app.url("/health");
    let third = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served while two were open"
    );

    drop(held.pop());
    let status = tokio::time::timeout(MARGIN, third)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

/// Sends `head` and then `body` in pieces while reading the answer at the same time, as a
/// browser's `fetch` does; fails if any write fails (`EPIPE`, reset) or no answer is read.
async fn upload(app: &TestApp, head: &str, body: &[u8], chunked: bool) -> RawResponse {
    let stream = connect(app).await;
    let (mut reader, mut writer) = stream.into_split();
    let head = head.to_owned();
    let body = body.to_owned();
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(64 * 1024) {
            if chunked {
                writer
                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .await?;
                writer.write_all(piece).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(piece).await?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    let res = read_response(&mut reader)
        .await
        .expect("the answer is read in full");
    let mut writer = sending
        .await
        .unwrap()
        .expect("the whole body is sent without a broken pipe");
    // The connection is still usable: the server read the body to its end.
    writer
        .write_all(format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", host(app)).as_bytes())
        .await
        .unwrap();
    let next = read_response(&mut reader).await.unwrap();
    assert_eq!(next.status, 200, "the next request on the connection");
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upload_reads_its_413_every_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.sign_up().await;
    let token = app.token(&app.client).await;
    let host = host(&app);
    let body = format!("{{\"title\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let form = format!("title={}", "x".repeat(3 * 1024 * 1024));
    for attempt in 0..20 {
        // Announced as too large: refused before anything reads it.
        let res = upload(
            &app,
            &format!(
                "PATCH /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ),
            body.as_bytes(),
            false,
        )
        .await;
        assert_eq!(res.status, 413, "attempt {attempt}: {res:?}");
        assert_eq!(res.json()["detail"], "The request body is too large.");

        // Sent in chunks, its size unknown up front: refused once it goes over the limit.
        let res = upload(
            &app,
            &format!(
                "PATCH /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            body.as_bytes(),
            true,
        )
        .await;
        assert_eq!(res.status, 413, "attempt {attempt}: {res:?}");
        assert_eq!(res.json()["status_code"], 413);

        // A server function: the same, in its own error encoding.
        let res = upload(
            &app,
            &format!(
                "POST /_sfn/organization/rename HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            form.as_bytes(),
            true,
        )
        .await;
        assert_eq!(res.status, 413, "attempt {attempt}: {res:?}");
        assert_eq!(res.json(), Value::String("PayloadTooLarge".into()));
    }

    // A client that waits for "100 Continue" before it sends the body is answered at once: it
    // never sends the body, and the connection closes.
    let mut stream = connect(&app).await;
    stream
        .write_all(
            format!(
                "PATCH /api/organization/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let res = read_response(&mut stream).await.unwrap();
    assert_eq!(res.status, 413, "{res:?}");
    assert_eq!(res.header("connection"), Some("close"));
    tokio::time::timeout(MARGIN, closed_by_server(&mut stream))
        .await
        .expect("the connection closes");

    let org: Value = app
        .api(reqwest::Method::GET, "/api/organization/", &token)
        .json_ok()
        .await;
    assert!(
        !org["title"].as_str().unwrap().contains("xxx"),
        "nothing changed"
    );
}

/// The accept loop hands every request the client's socket address (which the per-address
/// limits and the security log read), on every request of a kept-alive connection too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_the_client_address() {
    use axum::{extract::ConnectInfo, routing::get, Router};
    use gatehouse::server::serve::{serve, ServeLimits};
    use std::net::SocketAddr;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let limits = ServeLimits {
        max_connections: 10,
        header_timeout: Duration::from_secs(10),
        grace: Duration::from_secs(1),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router, limits, async {
        let _ = stopped.await;
    }));
    for _ in 0..3 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let me = stream.local_addr().unwrap().to_string();
        for _ in 0..2 {
            stream
                .write_all(format!("GET / HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let res = read_response(&mut stream).await.unwrap();
            assert_eq!((res.status, res.body.as_str()), (200, me.as_str()));
        }
    }
    let _ = stop.send(());
    tokio::time::timeout(MARGIN, server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
