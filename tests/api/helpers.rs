//! The app on a random port with a fresh database, and the calls a test makes to it.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use gatehouse::{
    domain::{
        InviteLink, InviteOutcome, InviteStatus, MemberPage, MemberRow, OrganizationView, Role,
    },
    server::{
        auth::secrets, config::MailTransport, db::Db, mail::Email, startup::Application, AppState,
        Clock, Config,
    },
};
use reqwest::{header, header::HeaderName, Client, Method, RequestBuilder, Response, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{json, Value};

use crate::smtp::{invitation_link, token_of};

pub const PASSWORD: &str = "correct horse battery";
pub const SECRET_KEY: &str = "integration tests: a server key of at least 32 bytes";
/// How long a test waits for the outbox to deliver a message before it fails.
pub const MAIL_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates, for each listed test `async fn name(backend: Backend)`, one `#[tokio::test]` per
/// database: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A page load as a browser makes it: its status and HTML.
pub async fn load_page(client: &Client, url: &str) -> (StatusCode, String) {
    let res = client
        .get(url)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(secrets::random_bytes::<6>()))
}

/// The PostgreSQL server the tests create their databases on.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database of the given kind; dropped with the value.
pub struct TestDatabase {
    pub url: String,
    dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let dir = std::env::temp_dir().join(unique("gatehouse-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display()),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                use sqlx::Connection;
                let name = unique("gatehouse_test_");
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .expect("PostgreSQL must run on 127.0.0.1:5432 (see README)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = postgres_admin_url();
                let server = &base[..base.rfind('/').unwrap()];
                Self {
                    url: format!("{server}/{name}"),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async; use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The subject of every verification mail.
pub const VERIFICATION_SUBJECT: &str = "Gatehouse: verify your email address";

/// The real app on a random port with its own database, and a cookie-keeping client.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub state: AppState,
    pub database: TestDatabase,
    pub config: Config,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The app on the test's own runtime instead of the shared one: what it logs goes where the
    /// test's threads log.
    pub async fn spawn_here(backend: Backend) -> Self {
        let database = TestDatabase::create(backend).await;
        let config = Self::config_for(&database, |_| {});
        let here = tokio::runtime::Handle::current();
        Self::start_on(&here, database, config, Clock::manual()).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .try_init();
        let database = TestDatabase::create(backend).await;
        let config = Self::config_for(&database, configure);
        Self::start(database, config, Clock::manual()).await
    }

    /// The settings of an app under test on `database`, changed by `configure`.
    fn config_for(database: &TestDatabase, configure: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config {
            database_url: database.url.clone(),
            site_addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: database.dir.join("data"),
            secret_key: Some(SECRET_KEY.into()),
            // Tests read the mail from memory; the ones about SMTP or `.eml` files set it back.
            mail_transport: MailTransport::Memory,
            // Every test's requests come from 127.0.0.1: the per-address limits and the re-send
            // cooldown are off, except in the tests about them, which set their own.
            signups_per_hour: 1_000_000,
            login_max_failures_per_client: 1_000_000,
            resend_cooldown: Duration::ZERO,
            ..Config::default()
        };
        configure(&mut config);
        // A test reaches the app directly, as the proxy in front of it would.
        if config.public_url.is_some() && config.allowed_hosts.is_empty() {
            config.allowed_hosts.push("127.0.0.1".into());
        }
        config
    }

    /// A second instance of the app, with the same settings and clock, on the same database (as
    /// several instances behind a load balancer).
    pub async fn second_instance(&self) -> Self {
        let database = TestDatabase {
            url: self.database.url.clone(),
            dir: std::env::temp_dir().join(unique("gatehouse-test-")),
            pg_name: None,
        };
        Self::start(database, self.config.clone(), self.state.clock.clone()).await
    }

    async fn start(database: TestDatabase, config: Config, clock: Clock) -> Self {
        // Every app of the test process runs on one shared runtime, as in production, where
        // one runtime serves every request; the test's own runtime only drives its clients.
        Self::start_on(server_runtime().handle(), database, config, clock).await
    }

    async fn start_on(
        runtime: &tokio::runtime::Handle,
        database: TestDatabase,
        config: Config,
        clock: Clock,
    ) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started, ready) = tokio::sync::oneshot::channel();
        let app_config = config.clone();
        let served = runtime.spawn(async move {
            let app = Application::build_with_clock(app_config, clock)
                .await
                .expect("the app starts");
            let _ = started.send((app.address(), app.state().clone()));
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
        });
        let (address, state) = ready.await.expect("the app starts");
        Self {
            address: format!("http://{address}"),
            client: new_client(),
            state,
            database,
            config,
            stop,
            served,
        }
    }

    /// Stops the app as Ctrl-C or SIGTERM does, and waits until it has stopped.
    pub async fn shut_down(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.served.await.expect("the server task ends")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// Unix seconds now, by the app's clock.
    pub fn now(&self) -> i64 {
        self.state.now()
    }

    /// Moves the app's clock (and its other instances') forward by `by`, as if that much time had
    /// passed, and wakes the outbox so that what is due by then goes out.
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
        self.state.outbox_wake.notify_one();
    }

    /// A GET of `path` with `client`'s session cookie, answered 200 and read as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, client: &Client, path: &str) -> T {
        let res = client.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    /// Calls a server function the way the browser's forms do (URL-encoded POST).
    pub async fn server_fn(
        &self,
        client: &Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(&format!("/_sfn/{endpoint}")))
            .header(header::ORIGIN, &self.address)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.server_fn(
            client,
            "auth/sign_up",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs up the Owner of a new organization on the same app, with a client of their own;
    /// returns their address and client.
    pub async fn owner_elsewhere(&self) -> (String, Client) {
        let client = new_client();
        let email = format!("{}@example.com", unique("elsewhere-"));
        let res = self.sign_up_with(&client, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        (email, client)
    }

    /// Signs up a new Owner with the app's own client; returns their email.
    pub async fn sign_up(&self) -> String {
        let email = format!("{}@example.com", unique("owner-"));
        let res = self.sign_up_with(&self.client, &email, PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "signup failed: {}",
            res.text().await.unwrap()
        );
        email
    }

    pub async fn log_in_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.server_fn(
            client,
            "auth/log_in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The API token of whoever `client` is signed in as.
    pub async fn token(&self, client: &Client) -> String {
        ApiRequest(client.get(self.url("/api/current-user/token")))
            .json_ok::<ApiToken>()
            .await
            .token
    }

    /// A REST call authenticated with `token`, as a script sends it.
    pub fn api(&self, method: Method, path: &str, token: &str) -> ApiRequest {
        ApiRequest(
            self.client
                .request(method, self.url(path))
                .header(header::AUTHORIZATION, format!("Token {token}")),
        )
    }

    /// A REST call authenticated with an access token, as Label Studio's SDK sends it.
    pub fn bearer(&self, method: Method, path: &str, access: &str) -> ApiRequest {
        ApiRequest(
            new_client()
                .request(method, self.url(path))
                .header(header::AUTHORIZATION, format!("Bearer {access}")),
        )
    }

    /// A new personal access token (a refresh token) of whoever `client` is signed in as.
    pub async fn personal_token(&self, client: &Client) -> String {
        let token = self.token(client).await;
        let res = self.api(Method::POST, "/api/token/", &token).send().await;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// `POST /api/token/refresh/` with `refresh`, as the SDK sends it (no other credential).
    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post_refresh_token("/api/token/refresh/", refresh)
            .await
    }

    /// `{"refresh": refresh}` posted to a token endpoint (refresh, rotate, blacklist) with no
    /// other credential.
    pub async fn post_refresh_token(&self, path: &str, refresh: &str) -> Response {
        new_client()
            .post(self.url(path))
            .json(&json!({ "refresh": refresh }))
            .send()
            .await
            .unwrap()
    }

    /// An access token for a live personal access token.
    pub async fn access_from(&self, refresh: &str) -> String {
        let res = self.refresh(refresh).await;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access"].as_str().unwrap().to_owned()
    }

    /// An access token of whoever `client` is signed in as, from a new personal access token.
    pub async fn access_token(&self, client: &Client) -> String {
        let refresh = self.personal_token(client).await;
        self.access_from(&refresh).await
    }

    /// Who `client` is signed in as (the session cookie); asserts that they may use the API.
    pub async fn whoami(&self, client: &Client) -> WhoAmI {
        ApiRequest(client.get(self.url("/api/current-user/whoami")))
            .json_ok()
            .await
    }

    /// The organization whose member `token` belongs to.
    pub async fn organization(&self, token: &str) -> OrganizationView {
        self.api(Method::GET, "/api/organization/", token)
            .json_ok()
            .await
    }

    /// The id of the organization of the app's own client (the Owner the test signed up).
    pub async fn org_id(&self) -> i64 {
        ApiRequest(self.client.get(self.url("/api/organization/")))
            .json_ok::<OrganizationView>()
            .await
            .id
    }

    /// Invites `emails` by email with `role`; asserts the request as a whole succeeded and returns
    /// the answer for each address.
    pub async fn invite(&self, token: &str, emails: &[&str], role: Role) -> Vec<InviteOutcome> {
        let body = json!({ "emails": emails, "role": role });
        self.api(Method::POST, "/api/invite/send-email", token)
            .json(&body)
            .json_ok::<InviteResults>()
            .await
            .results
    }

    /// Waits for the `nth` message (counting from 1) to `address` and returns the invitation link in it.
    pub async fn invitation_link_to(&self, address: &str, nth: usize) -> String {
        let message = self.wait_for_mail_to(address, nth).await;
        invitation_link(&message.text).expect("the message has an invitation link")
    }

    /// Signs up `email` through an invite token (of an invite link or an email invitation);
    /// returns the response and the new user's client.
    pub async fn join(&self, invite_token: &str, email: &str) -> (Response, Client) {
        let client = new_client();
        let res = self
            .server_fn(
                &client,
                "auth/sign_up",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("token", invite_token),
                ],
            )
            .await;
        (res, client)
    }

    /// Adds a new member with `role` to the organization of the app's own client, the way people
    /// join: the Owner sends an email invitation with the role and the member signs up through
    /// the link in the message. A Pending member (`NOT_ACTIVATED`) signs up through the invite
    /// link instead; a `DEACTIVATED` one is invited as an Annotator and then deactivated.
    pub async fn add_member(&self, role: Role) -> Member {
        let owner = self.token(&self.client).await;
        let email = format!("{}@example.com", unique("member-"));
        let invite_token = match role {
            Role::Owner => panic!(
                "no invitation makes an Owner: sign up a new organization, or transfer ownership"
            ),
            Role::NotActivated => {
                self.api(Method::GET, "/api/invite", &owner)
                    .json_ok::<InviteLink>()
                    .await
                    .token
            }
            _ => {
                let invited_as = if role == Role::Deactivated {
                    Role::Annotator
                } else {
                    role
                };
                let results = self.invite(&owner, &[&email], invited_as).await;
                assert_eq!(results[0].status, InviteStatus::Invited, "{results:?}");
                token_of(&self.invitation_link_to(&email, 1).await)
            }
        };
        let (res, client) = self.join(&invite_token, &email).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "signup through the invitation failed: {}",
            res.text().await.unwrap()
        );
        let id = self.member_row(&email).await.user_id;
        if role == Role::Deactivated {
            self.set_role(id, role).await;
        }
        Member { id, email, client }
    }

    /// The row of the member with `email` in the members table of the app's own client (the
    /// Owner), found by the REST API's search.
    pub async fn member_row(&self, email: &str) -> MemberRow {
        let owner = self.token(&self.client).await;
        let org = self.org_id().await;
        let mut found: MemberPage = self
            .api(
                Method::GET,
                &format!("/api/organizations/{org}/memberships?search={email}"),
                &owner,
            )
            .json_ok()
            .await;
        assert_eq!(found.count, 1, "{found:?}");
        found.results.swap_remove(0)
    }

    /// The Owner (the app's own client) changes a member's role through the REST API.
    pub async fn set_role(&self, user_id: i64, role: Role) -> MemberRow {
        let owner = self.token(&self.client).await;
        let org = self.org_id().await;
        self.api(
            Method::PATCH,
            &format!("/api/organizations/{org}/memberships"),
            &owner,
        )
        .json(&json!({ "user_id": user_id, "role": role }))
        .json_ok()
        .await
    }

    /// Runs the administrator's command line (the real binary) against this app's database and
    /// settings, with `stdin` as its input; returns whether it succeeded and what it printed.
    pub fn cli(&self, args: &[&str], stdin: &str) -> (bool, String) {
        self.cli_logging(args, stdin, "warn")
    }

    /// [`TestApp::cli`], logging at `level` to what it returns.
    pub fn cli_logging(&self, args: &[&str], stdin: &str, level: &str) -> (bool, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .env("DATABASE_URL", &self.database.url)
            .env("LABEL_STUDIO_SECRET_KEY", SECRET_KEY)
            .env("LABEL_STUDIO_DATA_DIR", &self.config.data_dir)
            .env("RUST_LOG", level)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gatehouse binary runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Sets the organization's seat limit with `gatehouse set-seats`.
    pub fn set_seats(&self, org_id: i64, seats: i64) {
        let (ok, out) = self.cli(
            &[
                "set-seats",
                "--org",
                &org_id.to_string(),
                "--seats",
                &seats.to_string(),
            ],
            "",
        );
        assert!(ok, "{out}");
    }

    /// Waits until the messages sent so far satisfy `done` and returns them; fails the test after
    /// `MAIL_DEADLINE`, naming what it waited for.
    pub async fn wait_for_mail_where(
        &self,
        what: &str,
        done: impl Fn(&[Email]) -> bool,
    ) -> Vec<Email> {
        let memory = self
            .state
            .mailer
            .memory()
            .expect("the app delivers to memory (the default of TestApp::spawn)");
        match tokio::time::timeout(MAIL_DEADLINE, memory.wait_until(done)).await {
            Ok(sent) => sent,
            Err(_) => panic!(
                "no {what} within {MAIL_DEADLINE:?}; sent: {:#?}",
                memory.messages()
            ),
        }
    }

    /// Waits for the `nth` message (counting from 1) to `address` and returns it. The
    /// verification mail every signup without an invitation sends is not counted: the tests
    /// about it wait for it with [`TestApp::wait_for_verification_to`].
    pub async fn wait_for_mail_to(&self, address: &str, nth: usize) -> Email {
        self.nth_mail_to(address, nth, "message", |m| {
            m.subject != VERIFICATION_SUBJECT
        })
        .await
    }

    /// Waits for the `nth` verification mail (counting from 1) to `address` and returns the
    /// token of its link.
    pub async fn wait_for_verification_to(&self, address: &str, nth: usize) -> String {
        let mail = self
            .nth_mail_to(address, nth, "verification mail", |m| {
                m.subject == VERIFICATION_SUBJECT
            })
            .await;
        let start = mail
            .text
            .find("/user/verify-email?token=")
            .expect("a verification link");
        let token = mail.text[start + "/user/verify-email?token=".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        assert!(mail.html.contains(&token), "{}", mail.html);
        token
    }

    /// Waits for the `nth` message (counting from 1) to `address` of those that `keep` says are
    /// `what`, and returns it.
    async fn nth_mail_to(
        &self,
        address: &str,
        nth: usize,
        what: &str,
        keep: impl Fn(&Email) -> bool,
    ) -> Email {
        let to = |sent: &[Email]| {
            sent.iter()
                .filter(|m| m.to == address && keep(m))
                .cloned()
                .collect::<Vec<_>>()
        };
        let sent = self
            .wait_for_mail_where(&format!("{what} {nth} to {address}"), |sent| {
                to(sent).len() >= nth
            })
            .await;
        to(&sent).swap_remove(nth - 1)
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db().pool())
            .await
            .unwrap()
    }
}

/// Test setup straight in the database, for states the app offers no way to reach (or not
/// fast enough for the test's size). Everything else goes through the app.
impl TestApp {
    /// Inserts `n` members with `role` without signing them up (for tests that need many at
    /// once: fifty Argon2 signups would take longer than the race they set up); returns their
    /// user ids.
    pub async fn insert_members_directly(
        &self,
        organization_id: i64,
        n: usize,
        role: Role,
    ) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let email = format!("{}@example.com", unique("bulk-"));
            let id: i64 = sqlx::query_scalar("INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'x', 0) RETURNING id")
                .bind(&email)
                .fetch_one(self.db().pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, 0, 0)")
                .bind(organization_id)
                .bind(id)
                .bind(role.as_str())
                .execute(self.db().pool())
                .await
                .unwrap();
            ids.push(id);
        }
        ids
    }

    /// Gives a user a name: nothing in the app sets one yet.
    pub async fn set_name_directly(&self, email: &str, first_name: &str, last_name: &str) {
        let done = sqlx::query("UPDATE users SET first_name = $1, last_name = $2 WHERE email = $3")
            .bind(first_name)
            .bind(last_name)
            .bind(email)
            .execute(self.db().pool())
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }

    /// Makes the invitation to `email` expired: the shortest expiry the app allows is a day.
    pub async fn expire_invitation_directly(&self, email: &str) {
        let done = sqlx::query("UPDATE invitations SET expires_at = 1 WHERE email = $1")
            .bind(email)
            .execute(self.db().pool())
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
}

/// A member added by [`TestApp::add_member`], with a client signed in as them.
pub struct Member {
    pub id: i64,
    pub email: String,
    pub client: Client,
}

/// `GET /api/current-user/whoami` (the app's own type only serializes).
#[derive(Debug, Deserialize)]
pub struct WhoAmI {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub organization_id: i64,
}

/// `GET /api/current-user/token` and `POST /api/current-user/reset-token`.
#[derive(Debug, Deserialize)]
pub struct ApiToken {
    pub token: String,
}

/// `POST /api/invite/send-email`: one answer per address.
#[derive(Debug, Deserialize)]
pub struct InviteResults {
    pub results: Vec<InviteOutcome>,
}

/// A REST request being built: [`TestApp::api`]'s answer.
pub struct ApiRequest(RequestBuilder);

impl ApiRequest {
    pub fn json(self, body: &impl Serialize) -> Self {
        Self(self.0.json(body))
    }

    pub fn header(self, name: HeaderName, value: &str) -> Self {
        Self(self.0.header(name, value))
    }

    pub async fn send(self) -> Response {
        self.0.send().await.expect("the app answers")
    }

    /// Sends the request, asserts a 200 and reads the body as `T`.
    pub async fn json_ok<T: DeserializeOwned>(self) -> T {
        let res = self.send().await;
        let (status, url) = (res.status(), res.url().clone());
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{url}: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{url}: not a {}: {e}: {text}", std::any::type_name::<T>()))
    }

    /// Sends the request and returns the `detail` of the JSON error it must get with `status`.
    pub async fn error(self, status: StatusCode) -> String {
        error_detail(self.send().await, status).await
    }
}

/// The status `GET /api/current-user/whoami` answers `client` with: whether its session works.
pub async fn status_of_whoami(app: &TestApp, client: &Client) -> StatusCode {
    client
        .get(app.url("/api/current-user/whoami"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls `check` until it gives a value, failing the test after `MAIL_DEADLINE` with `what`.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + MAIL_DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} within {MAIL_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn server_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("gatehouse-app")
            .enable_all()
            .build()
            .expect("a runtime for the apps under test")
    })
}

pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The `detail` of a JSON error, asserting its shape and status.
pub async fn error_detail(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status, "unexpected status");
    let body: Value = res.json().await.expect("errors are JSON");
    assert_eq!(body["status_code"], status.as_u16(), "{body}");
    body["detail"]
        .as_str()
        .expect("a detail message")
        .to_owned()
}

/// The message of a failed server function.
pub async fn server_fn_error(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("server function errors are JSON");
    let (_, inner) = body
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("an error variant");
    match inner {
        Value::String(s) => s.clone(),
        Value::Object(o) => o["message"].as_str().unwrap().to_owned(),
        other => panic!("unexpected error body {other}"),
    }
}
