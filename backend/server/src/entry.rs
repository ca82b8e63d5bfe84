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
        Command::Export(args) => crate::export_cmd::run(&settings, args).await,
        Command::Prices(crate::cli::PricesCommand::Import {
            json,
            output,
            source,
        }) => import_prices(&json, output.as_deref(), source),
    }
}

/// `sluice prices import`: LiteLLM's list as a price file, checked by parsing it back.
fn import_prices(
    json: &std::path::Path,
    output: Option<&std::path::Path>,
    source: Option<String>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text =
        std::fs::read_to_string(json).with_context(|| format!("cannot read {}", json.display()))?;
    let source = source.unwrap_or_else(|| {
        let today = time::OffsetDateTime::now_utc().date();
        format!("{}, imported {today}", json.display())
    });
    let imported = domain::pricing::import_litellm(&text, &source)?;
    let file = domain::pricing::PriceFile::parse(&imported.text)?;
    file.entries(
        domain::pricing::PriceScope::Cost,
        domain::pricing::PriceSource::Defaults,
    )?;
    match output {
        Some(path) => std::fs::write(path, &imported.text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print_out(&imported.text),
    }
    report(&format!(
        "{} models priced; {} left out (a price finer than a billionth per million tokens): {}",
        imported.priced,
        imported.skipped.len(),
        imported.skipped.join(", ")
    ));
    Ok(())
}

#[expect(clippy::print_stdout, reason = "the command's output")]
fn print_out(text: &str) {
    print!("{text}");
}

#[expect(clippy::print_stderr, reason = "the command's own user-facing message")]
fn report(message: &str) {
    eprintln!("{message}");
}
