//! Reads the settings, starts logging, and serves, or runs an administrator command.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    use gatehouse::server::{cli, startup::Application, Config};
    use tracing_subscriber::EnvFilter;

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = cli::Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match args.command {
        None | Some(cli::Command::Serve) => {
            let app = match Application::build(config).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("gatehouse: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            tracing::info!("listening on http://{}", app.address());
            if let Err(e) = app.run_until_stopped().await {
                eprintln!("gatehouse: {e}");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Some(cli::Command::Precompress) => {
            match gatehouse::server::bundle::precompress(&config.site_root) {
                Ok(message) => {
                    println!("{message}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("gatehouse: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Some(command) => match cli::run(command, &config).await {
            Ok(message) => {
                println!("{message}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gatehouse: {e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {}
