//! The `gatehouse` command line: serving, and the server administrator's commands.

use std::io::Read;

use clap::{Args, Parser, Subcommand};

use super::{
    auth::{self, password},
    change::Change,
    db::{self, Db},
    AppState, Clock, Config,
};
use crate::domain::{EmailAddress, FullName, Password};

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Organization signup, invitations and member roles"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the app (the default).
    Serve,
    /// Create a user, a new organization and its Owner (for example the first one, when signup
    /// without a link is disabled).
    CreateOwner {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordSource,
        /// The Owner's first name (optional).
        #[arg(long)]
        first_name: Option<String>,
        /// The Owner's last name (optional).
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Make the member with this email the Owner of the organization; the Owner becomes an
    /// Administrator.
    TransferOwnership {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        to: String,
    },
    /// Set the password of the account with this email and end all its sessions (for an account
    /// whose owner cannot receive the reset mail).
    #[command(
        mut_arg("password_stdin", |a| a.help("Read the new password from standard input (first line)")),
        mut_arg("password_file", |a| a.help("Read the new password from this file (first line)")),
    )]
    ResetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Set an organization's seat limit: a number, or "unlimited".
    SetSeats {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        seats: String,
    },
    /// Read an organization's audit log: verify its hash chain, or who held a seat when.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write the brotli (quality 11) and gzip (best) forms of the browser bundle beside it
    /// (`<site root>/pkg/*.{wasm,js,css}`), which the server then serves from its first request:
    /// run after each release build. Needs no database.
    Precompress,
}

/// Where a command reads a password: the first line of standard input, or of a file.
#[derive(Args, Debug)]
pub struct PasswordSource {
    /// Read the password from standard input (first line).
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,
    /// Read the password from this file (first line).
    #[arg(long)]
    password_file: Option<std::path::PathBuf>,
}

impl PasswordSource {
    /// The first line of the password file, or of standard input.
    fn read(self) -> Result<String, String> {
        let secret = if let Some(path) = self.password_file {
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        } else if self.password_stdin {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            s
        } else {
            return Err("give the password with --password-stdin or --password-file FILE".into());
        };
        Ok(secret.lines().next().unwrap_or_default().to_owned())
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the organization's hash chain: "N entries, chain intact", or the first entry that
    /// does not match (and exit 1).
    Verify {
        #[arg(long)]
        org: i64,
    },
    /// Who held a seat at a moment (a date, midnight UTC, or an ISO 8601 time), from the log.
    Seats {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        at: String,
    },
}

impl Command {
    /// As typed on the command line.
    fn name(&self) -> &'static str {
        match self {
            Self::Serve => "serve",
            Self::Precompress => "precompress",
            Self::CreateOwner { .. } => "create-owner",
            Self::ResetPassword { .. } => "reset-password",
            Self::TransferOwnership { .. } => "transfer-ownership",
            Self::SetSeats { .. } => "set-seats",
            Self::Audit {
                command: AuditCommand::Verify { .. },
            } => "audit verify",
            Self::Audit {
                command: AuditCommand::Seats { .. },
            } => "audit seats",
        }
    }

    /// The organization the command names, if it names one.
    fn organization(&self) -> Option<i64> {
        match self {
            Self::TransferOwnership { org, .. } | Self::SetSeats { org, .. } => Some(*org),
            Self::Audit {
                command: AuditCommand::Verify { org } | AuditCommand::Seats { org, .. },
            } => Some(*org),
            Self::Serve
            | Self::Precompress
            | Self::CreateOwner { .. }
            | Self::ResetPassword { .. } => None,
        }
    }
}

/// Runs an administrator command against the configured database, in a span that names the
/// command, its organization and (once known) its account; returns the line to print.
pub async fn run(command: Command, config: &Config) -> Result<String, String> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "cli",
        command = command.name(),
        organization_id = command.organization(),
        user_id = tracing::field::Empty,
    );
    async move {
        let result = run_command(command, config).await;
        match &result {
            Ok(_) => tracing::info!("done"),
            Err(e) => tracing::warn!(error = %e, "failed"),
        }
        result
    }
    .instrument(span)
    .await
}

async fn run_command(command: Command, config: &Config) -> Result<String, String> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let state = AppState::new(
        db.clone(),
        config.clone(),
        config.site_addr,
        Clock::system(),
    )?;
    let result = match command {
        Command::Serve | Command::Precompress => {
            unreachable!("serve and precompress are handled by main")
        }
        Command::CreateOwner { email, password, first_name, last_name } => {
            let secret = password.read()?;
            match FullName::parse(first_name.as_deref(), last_name.as_deref()) {
                Ok(name) => create_owner(&state, &email, &secret, &name).await,
                Err(e) => Err(e.to_string()),
            }
        }
        Command::ResetPassword { email, password } => {
            let secret = password.read()?;
            super::auth::reset_link::set_by_administrator(&state, &email, &secret)
                .await
                .inspect(|&user_id| {
                    tracing::Span::current().record("user_id", user_id);
                })
                .map(|user_id| format!(
                    "Set a new password for {} (user {user_id}); every session of the account has ended.",
                    email.trim().to_lowercase()
                ))
                .map_err(|e| e.to_string())
        }
        Command::TransferOwnership { org, to } => {
            super::roles::transfer(&state, org, None, &to)
                .await
                .map(|()| format!("{} is now the Owner of organization {org}; the former Owner is an Administrator.", to.trim().to_lowercase()))
                .map_err(|e| e.to_string())
        }
        Command::SetSeats { org, seats } => {
            let limit = match seats.trim() {
                "unlimited" => None,
                n => Some(n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    format!("--seats must be a whole number of at least 0 or \"unlimited\", not {n:?}")
                })?),
            };
            super::seats::set_limit(&state, org, limit)
                .await
                .map(|()| {
                    format!(
                        "Organization {org} now has {} seats.",
                        limit.map_or("unlimited".to_owned(), |n| n.to_string())
                    )
                })
                .map_err(|e| e.to_string())
        }
        Command::Audit { command } => audit(&db, command).await,
    };
    db.close().await;
    result
}

async fn audit(db: &Db, command: AuditCommand) -> Result<String, String> {
    use super::audit::{self, Verdict};
    let exists = |org: i64| async move {
        match db::organizations::title(db.pool(), org).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("There is no organization with id {org}.")),
            Err(e) => Err(format!("cannot read the organization: {e}")),
        }
    };
    match command {
        AuditCommand::Verify { org } => {
            exists(org).await?;
            match audit::verify(db, org).await.map_err(|e| e.to_string())? {
                Verdict::Intact { entries } => Ok(format!(
                    "{entries} {}, chain intact",
                    if entries == 1 { "entry" } else { "entries" }
                )),
                Verdict::Broken { problem } => Err(format!("chain broken: {problem}")),
            }
        }
        AuditCommand::Seats { org, at } => {
            exists(org).await?;
            let (at, _) = crate::domain::parse_timestamp(&at).ok_or_else(|| {
                format!("--at must be a date (2026-11-01) or an ISO 8601 time (2026-11-01T14:02:00Z), not {at:?}")
            })?;
            let held = audit::seats_at(db, org, at)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = format!(
                "Organization {org} at {}: {} of {} seats in use",
                crate::domain::format_timestamp(at),
                held.used(),
                held.limit.map_or("unlimited".to_owned(), |n| n.to_string())
            );
            for (email, role) in &held.members {
                out.push_str(&format!("\n{email}\t{}", role.label()));
            }
            for (email, expires_at) in &held.invitations {
                out.push_str(&format!(
                    "\n{email}\tinvitation (open until {})",
                    crate::domain::format_timestamp(*expires_at)
                ));
            }
            if held.pruned {
                out.push_str("\nNote: retention deleted older entries; members from before them may be missing.");
            }
            Ok(out)
        }
    }
}

async fn create_owner(
    state: &AppState,
    email: &str,
    secret: &str,
    name: &FullName,
) -> Result<String, String> {
    let email = EmailAddress::parse(email).map_err(|e| e.to_string())?;
    let password = Password::parse(secret).map_err(|e| e.to_string())?;
    auth::common_passwords::check(&password, &email).map_err(|e| e.to_string())?;
    let hash = password::hash(&state.hashing, password)
        .await
        .map_err(|e| e.to_string())?;
    let mut change = Change::to(state, None).await.map_err(|e| e.to_string())?;
    let user_id = auth::signup::create_owner_in(
        &mut change,
        &state.keys,
        &email,
        &hash,
        state.config.license_seats,
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::Span::current().record("user_id", user_id);
    let now = change.now();
    let tx = change.tx();
    db::users::set_name(&mut **tx, user_id, name.first.as_str(), name.last.as_str())
        .await
        .map_err(|e| e.to_string())?;
    // The server's administrator vouches for the address they typed.
    db::users::mark_verified(&mut **tx, user_id, now)
        .await
        .map_err(|e| e.to_string())?;
    change.commit().await.map_err(|e| e.to_string())?;
    Ok(format!(
        "Created {email} (user {user_id}) as the Owner of a new organization."
    ))
}
