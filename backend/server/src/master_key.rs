//! Loading the master key ring, and `sluice admin rotate-master-key`.
//!
//! With a key file (the single-node default, `<data_dir>/master.key`), the previous keys live in
//! `<file>.previous`, one per line, so secrets sealed before a rotation still open. With
//! `SLUICE_MASTER_KEY`, the previous keys come from `SLUICE_MASTER_KEY_PREVIOUS`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use domain::crypto::{Keyring, MasterKey};

use crate::settings::MasterKeySource;

fn previous_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".previous");
    PathBuf::from(name)
}

/// Writes `contents` to a new file readable only by its owner, replacing `path` atomically.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|it| !it.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

fn read_keys(path: &Path) -> anyhow::Result<Vec<MasterKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the master key file {}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|it| !it.is_empty())
        .map(|it| {
            MasterKey::from_base64(it)
                .with_context(|| format!("the master key file {} is invalid", path.display()))
        })
        .collect()
}

/// The key ring, creating the key file on first use; `None` when no key is configured.
///
/// # Errors
/// Unreadable or invalid key files, or a key file that cannot be created.
pub fn load(source: &MasterKeySource) -> anyhow::Result<Option<Keyring>> {
    match source {
        MasterKeySource::Missing => Ok(None),
        MasterKeySource::Env { current, previous } => {
            Ok(Some(Keyring::new(current.clone(), previous.clone())))
        }
        MasterKeySource::File(path) => {
            if !path.exists() {
                let key = MasterKey::generate();
                write_private(path, &format!("{}\n", key.to_base64()))?;
                tracing::info!(path = %path.display(), "created a master key for stored secrets; back it up with the database");
            }
            let current = read_keys(path)?
                .into_iter()
                .next()
                .with_context(|| format!("the master key file {} is empty", path.display()))?;
            let previous_file = previous_path(path);
            let previous = if previous_file.exists() {
                read_keys(&previous_file)?
            } else {
                Vec::new()
            };
            Ok(Some(Keyring::new(current, previous)))
        }
    }
}

/// Re-seals every stored secret under the current master key. With a key file, first makes a
/// new key current (keeping the old one in `<file>.previous`); with `SLUICE_MASTER_KEY`, the
/// operator has already set the new key and listed the old one in `SLUICE_MASTER_KEY_PREVIOUS`.
///
/// Returns a report for the operator.
///
/// # Errors
/// No master key, a secret sealed under a key that is not loaded, or store failures.
pub async fn rotate(source: &MasterKeySource, store: &dyn store::Store) -> anyhow::Result<String> {
    let keyring = match source {
        MasterKeySource::Missing => anyhow::bail!(
            "no master key is configured: set SLUICE_MASTER_KEY (make one with `openssl rand -base64 32`)"
        ),
        MasterKeySource::Env { previous, .. } if previous.is_empty() => anyhow::bail!(
            "to rotate: set SLUICE_MASTER_KEY to the new key and SLUICE_MASTER_KEY_PREVIOUS to the old one \
             (on every node), then run this command; it re-seals every secret under the new key"
        ),
        MasterKeySource::Env { .. } => load(source)?.context("no master key")?,
        MasterKeySource::File(path) => {
            let old = load(source)?.context("no master key")?;
            let new = MasterKey::generate();
            // The old keys go to `.previous` before the new key replaces the file: a crash
            // in between leaves every secret still openable.
            let previous: Vec<String> = old.all().iter().map(MasterKey::to_base64).collect();
            write_private(&previous_path(path), &format!("{}\n", previous.join("\n")))?;
            write_private(path, &format!("{}\n", new.to_base64()))?;
            Keyring::new(new, old.all().to_vec())
        }
    };
    let current = keyring.current().clone();
    let sealed = store.sealed_secrets().await?;
    let total = sealed.len();
    let mut resealed = Vec::new();
    for (id, secret) in sealed {
        if secret.kek == current.id() {
            continue;
        }
        let secret = domain::crypto::reseal(keyring.all(), &current, &secret)
            .with_context(|| id.to_string())?;
        resealed.push((id, secret));
    }
    let audit = domain::AuditEntry::new(
        None,
        domain::Actor::cli(),
        "master_key.rotate",
        time::OffsetDateTime::now_utc(),
    )
    .change(
        None,
        Some(format!(
            "{{\"master_key\":\"{}\",\"resealed\":{}}}",
            current.id(),
            resealed.len()
        )),
    );
    store.reseal_secrets(&resealed, &audit).await?;
    let mut report = format!(
        "re-sealed {} of {total} stored secrets under master key {}\n",
        resealed.len(),
        current.id()
    );
    match source {
        MasterKeySource::File(path) => report.push_str(&format!(
            "the new key is in {}; the old ones stay in {} until you delete that file. \
             Restart running servers so they seal new secrets under the new key.\n",
            path.display(),
            previous_path(path).display()
        )),
        _ => report.push_str(
            "every secret is now sealed under SLUICE_MASTER_KEY: SLUICE_MASTER_KEY_PREVIOUS can be removed from every node\n",
        ),
    }
    Ok(report)
}
