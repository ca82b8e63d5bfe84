//! `sluice`: the gateway binary.

use std::process::ExitCode;

use clap::Parser;
use server::cli::{Cli, Command};
use server::settings::{Settings, process_env};

/// mimalloc instead of glibc's malloc: the request path allocates in one worker thread and
/// frees in another (usage records), which fragments glibc's per-thread arenas; mimalloc keeps
/// the resident size flat and is faster on small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), &process_env) {
        Ok(settings) => settings,
        Err(e) => {
            report(&format!("invalid configuration: {e}"));
            return ExitCode::from(2);
        }
    };
    server::telemetry::init_logs(&settings.log);
    server::init_tls();
    let result = actix_web::rt::System::new().block_on(run(cli.command, settings));
    server::telemetry::flush_logs();
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
            let metrics = server::telemetry::init_metrics()?;
            server::serve::run(settings, metrics).await
        }
        Command::Migrate => {
            server::stores::open(&settings.database).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CheckConfig => {
            server::serve::build_providers(&settings)?;
            report(&format!(
                "configuration is valid: {} providers, {} models, database {}",
                settings.providers.len(),
                settings.models.len(),
                server::settings::redact_url(&settings.database.url)
            ));
            Ok(())
        }
        Command::Admin(command) => server::admin_cmd::run(&settings, command).await,
    }
}

#[expect(clippy::print_stderr, reason = "the command's own user-facing message")]
fn report(message: &str) {
    eprintln!("{message}");
}
