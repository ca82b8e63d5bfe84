//! The `sluice` command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sluice: a multi-tenant AI gateway.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Without one, Sluice runs on SQLite with the built-in mock model.
    #[arg(long, global = true, env = "SLUICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check the configuration and exit.
    CheckConfig,
    /// Manage tenants and keys without the portal.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Work with price files.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Export a period's billable usage (the ledger's entries) of a tenant or of a partner's
    /// sub-tenants as CSV or JSON, with a progress bar; the JSON form ends with its totals.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant (id or name).
    #[arg(long, conflicts_with = "partner", required_unless_present = "partner")]
    pub tenant: Option<String>,
    /// The partner (id or name): every sub-tenant's entries, one after the other.
    #[arg(long)]
    pub partner: Option<String>,
    /// Start, inclusive: `2026-11-01` (midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    pub from: String,
    /// End, exclusive, at most 366 days after `--from`; as `--from`.
    #[arg(long)]
    pub to: String,
    /// `csv` or `json`.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// The file to write (default: standard output, without a progress bar).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Make a price file (the shape of `backend/domain/prices/default-prices.toml`) from a copy
    /// of LiteLLM's `model_prices_and_context_window.json`: its OpenAI, Azure OpenAI and
    /// Anthropic chat, completion and embedding models, per million tokens, exact. Reads no
    /// network: download the JSON yourself.
    Import {
        /// The JSON file.
        json: PathBuf,
        /// Where to write the price file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// What the file says it was made from (default: the JSON file's name and today).
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    #[command(subcommand)]
    Tenant(TenantCommand),
    #[command(subcommand)]
    Key(KeyCommand),
    /// Limits above keys: the platform's for every tenant, a partner's shared by its
    /// sub-tenants, a tenant's.
    #[command(subcommand)]
    Limits(LimitsCommand),
    /// Show a tenant's most recent usage records.
    Usage(UsageArgs),
    #[command(subcommand)]
    User(UserCommand),
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Re-seal every stored provider secret under a new master key. With the default key file a
    /// new key is generated; with SLUICE_MASTER_KEY, set it to the new key and list the old one
    /// in SLUICE_MASTER_KEY_PREVIOUS first.
    RotateMasterKey,
    /// Replace the key that signs OAuth access tokens now (it also rotates on its own, every
    /// `oauth.signing_key_rotation_days`). Tokens signed by the old key keep working until they
    /// expire, unless --retire-now.
    RotateSigningKey {
        /// Stop accepting tokens signed by older keys at once (after a suspected leak).
        #[arg(long)]
        retire_now: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a verified account and print a link to set its password (valid 24 hours).
    Create {
        #[arg(long)]
        email: String,
        /// Make the account a platform operator.
        #[arg(long)]
        operator: bool,
    },
    /// Make an existing account a platform operator (or take it back with --revoke).
    Operator {
        #[arg(long)]
        email: String,
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from the first event to the last.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create { name: String },
    /// List tenants.
    List,
    /// Stop a tenant's keys from working.
    Suspend { tenant: String },
    /// Let a suspended tenant's keys work again.
    Activate { tenant: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; its secret is printed once.
    Create(KeyCreateArgs),
    /// List keys (never their secrets).
    List {
        /// Only this tenant's keys (id or name).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id; every node stops accepting it within a second.
    Revoke { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum LimitsCommand {
    /// Print a scope's policy as JSON (the management API's shape).
    Show(LimitsScope),
    /// Replace a scope's policy with JSON in the management API's shape, e.g.
    /// `{"requests_per_minute": 600, "budgets": [{"period": "month", "spend": "250"}]}`.
    Set {
        #[command(flatten)]
        scope: LimitsScope,
        /// The policy as JSON text.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        json: Option<String>,
        /// A file holding the policy as JSON.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Remove a scope's policy.
    Clear(LimitsScope),
}

/// Whose limits: exactly one of `--tenant`, `--partner`, `--platform`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct LimitsScope {
    /// A tenant's (id or name), for all its keys together.
    #[arg(long)]
    pub tenant: Option<String>,
    /// A partner's (id), shared by all its sub-tenants.
    #[arg(long)]
    pub partner: Option<String>,
    /// The platform's, for every tenant (each on its own).
    #[arg(long)]
    pub platform: bool,
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// Tenant id or name.
    #[arg(long)]
    pub tenant: String,
    /// A label for the key.
    #[arg(long)]
    pub name: Option<String>,
    /// Comma-separated model aliases the key may use (default: all).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Expiry: an RFC 3339 time (`2026-12-31T00:00:00Z`) or a duration (`30d`, `12h`, `15m`).
    #[arg(long)]
    pub expires: Option<String>,
    /// Requests per minute the key may make (every node counts together with Redis).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rpm: Option<u32>,
    /// Requests per day.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rpd: Option<u32>,
    /// Tokens per minute (reserved up front: the prompt plus the call's maximum output).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tpm: Option<u64>,
    /// Tokens per day.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tpd: Option<u64>,
    /// Calls in progress at once, streams included.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrent: Option<u32>,
    /// Spend per calendar month in the platform's currency, as a decimal (`25`, `12.50`).
    #[arg(long)]
    pub monthly_budget: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Tenant id or name.
    #[arg(long)]
    pub tenant: String,
    /// How many records.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}
