//! Repository rules checked mechanically: module docs on every file, the dependency edges
//! between our crates, no SQL built with `format!`, and one reader of client addresses and
//! forwarded headers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "node_modules" | "dist" | "fixtures"
            ) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["backend", "portal", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    files
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|path| !std::fs::read_to_string(path).unwrap().starts_with("//!"))
        .map(|path| path.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc: {missing:?}"
    );
}

#[test]
fn no_sql_is_built_with_format() {
    let mut offenders = Vec::new();
    for path in all_rust_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let query = line.contains("sqlx::query(") || line.contains("QueryBuilder::new(");
            if query && line.contains("format!(") {
                offenders.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SQL built with format!: {offenders:?}"
    );
}

/// The client's address, host and scheme come from `http_api::origin` alone, which believes
/// forwarded headers only from trusted proxies (issue 16: actix's `connection_info()` believes
/// `X-Forwarded-Host` from anyone, and that put reset links on an attacker's domain).
#[test]
fn only_http_api_origin_reads_the_peer_and_forwarded_headers() {
    let origin = root().join("backend/http-api/src/origin.rs");
    // The upstream connector checks the address its own connections reached (SSRF), which is
    // an upstream's, not a client's.
    let upstream = root().join("backend/providers/src/http/connect.rs");
    let mut offenders = Vec::new();
    let mut files = Vec::new();
    rust_files(&root().join("backend"), &mut files);
    for path in files
        .into_iter()
        .filter(|it| *it != origin && *it != upstream)
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let lower = code.to_ascii_lowercase();
            if ["connection_info(", "peer_addr(", "realip_remote_addr("]
                .iter()
                .any(|it| code.contains(it))
                || ["\"x-forwarded-", "\"forwarded\""]
                    .iter()
                    .any(|it| lower.contains(it))
            {
                offenders.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the client through http_api::origin instead: {offenders:?}"
    );
}

/// Which of our crates each backend crate may depend on (ARCHITECTURE.md, Code Map).
fn allowed_edges() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let edges: &[(&str, &[&str])] = &[
        ("api-types", &[]),
        ("domain", &["api-types"]),
        ("store", &["domain"]),
        ("store-sql", &["store", "domain"]),
        ("store-sqlite", &["store", "store-sql", "domain"]),
        ("store-pg", &["store", "store-sql", "domain"]),
        // Implements the `store::SharedCache` port (the response cache's shared tier).
        ("store-redis", &["store"]),
        ("providers", &["domain"]),
        // A crash-safe log of lines: knows nothing of ours.
        ("journal", &[]),
        (
            "gateway",
            &["api-types", "domain", "journal", "providers", "store"],
        ),
        ("sso", &[]),
        ("management", &["domain", "sso", "store"]),
        (
            "http-api",
            &["api-types", "domain", "gateway", "management", "store"],
        ),
    ];
    edges
        .iter()
        .map(|(krate, deps)| (*krate, deps.iter().copied().collect()))
        .collect()
}

#[test]
fn crates_depend_only_on_the_layers_below_them() {
    let ours: BTreeSet<String> = std::fs::read_dir(root().join("backend"))
        .unwrap()
        .map(|it| it.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for (krate, allowed) in allowed_edges() {
        let manifest =
            std::fs::read_to_string(root().join("backend").join(krate).join("Cargo.toml")).unwrap();
        let manifest: toml::Table = toml::from_str(&manifest).unwrap();
        let deps = manifest
            .get("dependencies")
            .and_then(|it| it.as_table())
            .cloned()
            .unwrap_or_default();
        for dep in deps.keys() {
            if ours.contains(dep) {
                assert!(
                    allowed.contains(dep.as_str()),
                    "`{krate}` must not depend on `{dep}`"
                );
            }
        }
        for forbidden in ["actix-web", "sqlx", "reqwest", "hyper", "hyper-util"] {
            let may = match forbidden {
                "actix-web" => ["http-api"].contains(&krate),
                "sqlx" => ["store-sql", "store-sqlite", "store-pg"].contains(&krate),
                // The data plane's upstream leg, on hyper's client directly.
                "hyper" | "hyper-util" => ["providers"].contains(&krate),
                // Other outbound HTTP: identity providers.
                _ => ["sso"].contains(&krate),
            };
            assert!(
                may || !deps.contains_key(forbidden),
                "`{krate}` must not depend on `{forbidden}`"
            );
        }
    }
}
