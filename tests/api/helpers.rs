use std::{path::PathBuf, time::Duration};

use gatehouse::server::{
    auth::secrets, config::MailTransport, db::Db, mail::Email, startup::Application, AppState, Config,
};
use reqwest::{header, Client, Response, StatusCode};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";
pub const SECRET_KEY: &str = "integration tests";
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

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(secrets::random_bytes::<6>()))
}

/// The PostgreSQL server the tests create their databases on.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
                let base = postgres_admin_url();
                let server = &base[..base.rfind('/').unwrap()];
                Self { url: format!("{server}/{name}"), dir, pg_name: Some(name) }
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
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

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

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .try_init();
        let database = TestDatabase::create(backend).await;
        let mut config = Config {
            database_url: database.url.clone(),
            site_addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: database.dir.join("data"),
            secret_key: Some(SECRET_KEY.into()),
            // Tests read the mail from memory; the ones about SMTP or `.eml` files set it back.
            mail_transport: MailTransport::Memory,
            ..Config::default()
        };
        configure(&mut config);
        // Every app of the test process runs on one shared runtime, as in production, where
        // one runtime serves every request; the test's own runtime only drives its clients.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started, ready) = tokio::sync::oneshot::channel();
        let app_config = config.clone();
        let served = server_runtime().spawn(async move {
            let app = Application::build(app_config).await.expect("the app starts");
            let _ = started.send((app.address(), app.state().clone()));
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
        });
        let (address, state) = ready.await.expect("the app starts");
        Self { address: format!("http://{address}"), client: new_client(), state, database, config, stop, served }
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

    /// Calls a server function the way the browser's forms do (URL-encoded POST).
    pub async fn server_fn(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(&format!("/_sfn/{endpoint}")))
            .header(header::ORIGIN, &self.address)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.server_fn(client, "auth/sign_up", &[("email", email), ("password", password)]).await
    }

    /// Signs up a new Owner with the app's own client; returns their email.
    pub async fn sign_up(&self) -> String {
        let email = format!("{}@example.com", unique("owner-"));
        let res = self.sign_up_with(&self.client, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "signup failed: {}", res.text().await.unwrap());
        email
    }

    pub async fn log_in_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.server_fn(client, "auth/log_in", &[("email", email), ("password", password)]).await
    }

    /// The API token of whoever `client` is signed in as.
    pub async fn token(&self, client: &Client) -> String {
        let res = client.get(self.url("/api/current-user/token")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).header(header::AUTHORIZATION, format!("Token {token}"))
    }

    /// Changes a member's role directly in the database (test setup for roles that later issues
    /// let administrators assign).
    pub async fn set_role(&self, email: &str, role: &str) {
        let done = sqlx::query(
            "UPDATE memberships SET role = $1 WHERE user_id = (SELECT id FROM users WHERE email = $2)",
        )
        .bind(role)
        .bind(email)
        .execute(self.db().pool())
        .await
        .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }

    /// Adds `email` to the organization of `owner_email` with `role`, through the app's own
    /// account functions; returns a client signed in as the new member.
    pub async fn add_member(&self, role: &str) -> (String, Client) {
        let client = new_client();
        let email = format!("{}@example.com", unique("member-"));
        let res = self.sign_up_with(&client, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        // Move the new user into the first organization with the given role.
        let org_id: i64 = sqlx::query_scalar("SELECT MIN(id) FROM organizations")
            .fetch_one(self.db().pool())
            .await
            .unwrap();
        sqlx::query("UPDATE memberships SET organization_id = $1, role = $2 WHERE user_id = (SELECT id FROM users WHERE email = $3)")
            .bind(org_id)
            .bind(role)
            .bind(&email)
            .execute(self.db().pool())
            .await
            .unwrap();
        (email, client)
    }

    /// Waits until the messages sent so far satisfy `done` and returns them; fails the test after
    /// `MAIL_DEADLINE`, naming what it waited for.
    pub async fn wait_for_mail_where(&self, what: &str, done: impl Fn(&[Email]) -> bool) -> Vec<Email> {
        let memory = self.state.mailer.memory().expect("the app delivers to memory (the default of TestApp::spawn)");
        match tokio::time::timeout(MAIL_DEADLINE, memory.wait_until(done)).await {
            Ok(sent) => sent,
            Err(_) => panic!("no {what} within {MAIL_DEADLINE:?}; sent: {:#?}", memory.messages()),
        }
    }

    /// Waits for the `nth` message (counting from 1) to `address` and returns it.
    pub async fn wait_for_mail_to(&self, address: &str, nth: usize) -> Email {
        let to = |sent: &[Email]| sent.iter().filter(|m| m.to == address).cloned().collect::<Vec<_>>();
        let sent = self.wait_for_mail_where(&format!("message {nth} to {address}"), |sent| to(sent).len() >= nth).await;
        to(&sent).swap_remove(nth - 1)
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(self.db().pool()).await.unwrap()
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
    body["detail"].as_str().expect("a detail message").to_owned()
}

/// The message of a failed server function.
pub async fn server_fn_error(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("server function errors are JSON");
    let (_, inner) = body.as_object().and_then(|o| o.iter().next()).expect("an error variant");
    match inner {
        Value::String(s) => s.clone(),
        Value::Object(o) => o["message"].as_str().unwrap().to_owned(),
        other => panic!("unexpected error body {other}"),
    }
}
