//! What `sluice` does from its command line to its exit code, shared by the binary and the
//! tests that run it as a process (to kill it, or stop it with a signal).

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::settings::{Settings, process_env};

/// Parses the command line, runs the command and answers the process's exit code: 2 for an
/// invalid configuration, 1 for any other failure (usage that could not be saved included).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), &process_env) {
        Ok(settings) => settings,
        Err(e) => {
            report(&format!("invalid configuration: {e}"));
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init_logs(&settings.log);
    crate::init_tls();
    let result = actix_web::rt::System::new().block_on(run(cli.command, settings));
    crate::telemetry::flush_logs();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let metrics = crate::telemetry::init_metrics()?;
            crate::serve::run(settings, metrics).await
        }
        Command::Migrate => {
            crate::stores::open(&settings.database).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CheckConfig => {
            crate::serve::build_providers(&settings)?;
            report(&format!(
                "configuration is valid: {} providers, {} models, database {}",
                settings.providers.len(),
                settings.models.len(),
                crate::settings::redact_url(&settings.database.url)
            ));
            Ok(())
        }
        Command::Admin(command) => crate::admin_cmd::run(&settings, command).await,
    }
}

#[expect(clippy::print_stderr, reason = "the command's own user-facing message")]
fn report(message: &str) {
    eprintln!("{message}");
}
