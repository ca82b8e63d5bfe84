//! `sluice export`: a period's billable usage of a tenant or a partner's sub-tenants, written
//! to a file (or standard output) page by page, with a progress bar on the terminal.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use management::billing::BillScope;
use management::export::{Export, ExportFormat, ExportRequest};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::ExportArgs;
use crate::settings::Settings;
use crate::stores;

/// A day (`2026-11-01`, midnight UTC) or an RFC 3339 time.
fn instant(flag: &str, text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| {
        format!("--{flag} `{text}` is neither a day (2026-11-01) nor an RFC 3339 time")
    })?;
    Ok(day.midnight().assume_utc())
}

/// # Errors
/// Bad arguments, an unknown tenant or partner, store and file failures, in words.
pub(crate) async fn run(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    let from = instant("from", &args.from)?;
    let to = instant("to", &args.to)?;
    let format = ExportFormat::parse(&args.format)
        .with_context(|| format!("--format `{}` is `csv` or `json`", args.format))?;
    let opened = stores::open(&settings.database).await?;
    let store = opened.store.clone();
    let (scope, name) = match (&args.tenant, &args.partner) {
        (Some(tenant), _) => {
            let tenant = gateway::admin::find_tenant(store.as_ref(), tenant).await?;
            (BillScope::Tenant(tenant.id), tenant.name)
        }
        (None, Some(partner)) => {
            let partners = store.list_partners().await?;
            let found = partners
                .into_iter()
                .find(|it| it.id.to_string() == *partner || it.name == *partner)
                .with_context(|| format!("no partner `{partner}`"))?;
            (BillScope::Partner(found.id), found.name)
        }
        (None, None) => anyhow::bail!("name a --tenant or a --partner"),
    };
    let export = Export::plan(
        store,
        ExportRequest {
            scope,
            from,
            to,
            format,
        },
        settings.prices.currency,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    match &args.output {
        Some(path) => to_file(export, path, &name).await,
        None => to_stdout(export).await,
    }
}

async fn to_file(export: Export, path: &Path, name: &str) -> anyhow::Result<()> {
    let expected = export
        .expected_entries()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let progress = indicatif::ProgressBar::new(expected);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} entries ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    progress.set_message(format!("exporting {name}"));
    // Written beside the target and renamed when complete: a failed export leaves no file
    // that looks whole.
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut chunks = Box::pin(export.chunks());
    let mut totals = None;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| anyhow::anyhow!("the export failed: {e}"))?;
        writer
            .write_all(&chunk.bytes)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        progress.inc(chunk.entries);
        totals = chunk.totals.or(totals);
    }
    writer
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    progress.finish_and_clear();
    let totals = totals.unwrap_or_default();
    let mut stderr = std::io::stderr().lock();
    writeln!(
        stderr,
        "exported {} entries of {name} to {}: price {}, wholesale {}, cost {}",
        totals.entries(),
        path.display(),
        totals.figures.price,
        totals.figures.wholesale,
        totals.figures.cost
    )?;
    Ok(())
}

async fn to_stdout(export: Export) -> anyhow::Result<()> {
    let mut chunks = Box::pin(export.chunks());
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| anyhow::anyhow!("the export failed: {e}"))?;
        stdout.write_all(&chunk.bytes)?;
    }
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_are_read_anything_else_is_refused() {
        assert_eq!(
            instant("from", "2026-11-01").unwrap(),
            time::macros::datetime!(2026-11-01 0:00 UTC)
        );
        assert_eq!(
            instant("to", "2026-11-01T12:30:00+01:00").unwrap(),
            time::macros::datetime!(2026-11-01 11:30 UTC)
        );
        let message = instant("from", "last week").unwrap_err().to_string();
        assert!(message.contains("--from `last week`"), "{message}");
        assert!(instant("to", "2026-13-01").is_err());
    }
}
