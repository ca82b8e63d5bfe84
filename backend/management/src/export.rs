//! Finance exports: a period's billable ledger entries (every usage record but mirrors to
//! shadow deployments) of one tenant or of a partner's sub-tenants, as CSV or JSON, read page
//! by page and streamed, so a year of a busy tenant is never held in memory. The JSON form ends
//! with its totals, summed from the lines it wrote.

use std::borrow::Cow;
use std::sync::Arc;

use domain::pricing::{Currency, Money};
use domain::rollup::RollupFigures;
use domain::{Permission, Tenant, UsageRecord, UsageStatus};
use futures_util::Stream;
use serde::Serialize;
use store::{Store, UsageCursor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::billing::BillScope;
use crate::{Error, Identity, Manager};

/// The longest period one export covers: a year, leap or not.
const MAX_PERIOD: time::Duration = time::Duration::days(366);

/// Records read per page.
const PAGE: u32 = 2_000;

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One header line, then a line per entry; no totals line (a sum in the data would be
    /// counted twice by whoever sums the column).
    Csv,
    /// `{"currency", "from", "to", "entries": [...], "adjustments": [...], "totals": {...}}`.
    Json,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(ExportFormat::Csv),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }
}

/// What to export: `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct ExportRequest {
    pub scope: BillScope,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub format: ExportFormat,
}

/// An export checked and ready to stream.
#[derive(Clone)]
pub struct Export {
    store: Arc<dyn Store>,
    tenants: Vec<Tenant>,
    from: OffsetDateTime,
    to: OffsetDateTime,
    format: ExportFormat,
    currency: Currency,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("tenants", &self.tenants.len())
            .field("from", &self.from)
            .field("to", &self.to)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The sums of an export's entries: summed by the rule the rollups and the statements use
/// (`RollupFigures::add`), so an export, a statement and an invoice of a period agree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportTotals {
    /// Every entry summed (`requests` counts them).
    pub figures: RollupFigures,
    /// The JSON form only: the corrections' sum (CSV holds the calls alone).
    pub adjusted: Money,
    /// The JSON form only: the price and `adjusted`, what is owed for the period.
    pub due: Money,
}

impl ExportTotals {
    /// How many entries were written.
    pub fn entries(&self) -> u64 {
        self.figures.requests
    }
}

/// As the JSON form ends: `{"entries", "prompt_tokens", "completion_tokens", "cost",
/// "wholesale", "price", "unpriced", "adjusted", "due"}`, money as decimal text.
impl Serialize for ExportTotals {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let f = &self.figures;
        let mut out = serializer.serialize_struct("ExportTotals", 9)?;
        out.serialize_field("entries", &f.requests)?;
        out.serialize_field("prompt_tokens", &f.prompt_tokens)?;
        out.serialize_field("completion_tokens", &f.completion_tokens)?;
        out.serialize_field("cost", &f.cost)?;
        out.serialize_field("wholesale", &f.wholesale)?;
        out.serialize_field("price", &f.price)?;
        out.serialize_field("unpriced", &f.unpriced)?;
        out.serialize_field("adjusted", &self.adjusted)?;
        out.serialize_field("due", &self.due)?;
        out.end()
    }
}

/// A correction as the JSON form lists it.
#[derive(Debug, Serialize)]
struct AdjustmentLine<'a> {
    id: String,
    tenant_id: String,
    tenant: &'a str,
    kind: &'static str,
    amount: String,
    reason: &'a str,
    author: &'a str,
    effective_at: String,
    created_at: String,
}

/// One entry as written: the same fields in CSV (the header is their names) and JSON. Money as
/// decimal text, empty where the record has none (unpriced, never zero).
#[derive(Debug, Serialize)]
struct Line<'a> {
    id: String,
    created_at: String,
    tenant_id: String,
    tenant: Cow<'a, str>,
    key_id: String,
    request_id: String,
    endpoint: Cow<'a, str>,
    model: Cow<'a, str>,
    provider: Cow<'a, str>,
    upstream_model: Cow<'a, str>,
    variant: Cow<'a, str>,
    status: &'static str,
    http_status: u16,
    error_code: Cow<'a, str>,
    stream: bool,
    estimated: bool,
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    latency_ms: u64,
    cost: String,
    wholesale: String,
    price: String,
    currency: &'a str,
}

/// A text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first) gets a leading `'`, as OWASP advises for CSV: tenants name their own models.
fn inert(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

impl Export {
    /// Checks a period and resolves its tenants, for the CLI (an operator with the database)
    /// and, after its permission check, the management API.
    ///
    /// # Errors
    /// `Invalid` for a period that is empty, reversed or longer than 366 days; `NotFound` for
    /// an unknown tenant or partner.
    pub async fn plan(
        store: Arc<dyn Store>,
        request: ExportRequest,
        currency: Currency,
    ) -> Result<Export, Error> {
        if request.to <= request.from {
            return Err(Error::invalid("to", "`to` must be after `from`"));
        }
        if request.to - request.from > MAX_PERIOD {
            return Err(Error::invalid(
                "from",
                "an export covers at most 366 days: export longer periods in parts",
            ));
        }
        let tenants = match request.scope {
            BillScope::Tenant(id) => vec![
                store
                    .get_tenant(id)
                    .await
                    .map_err(Error::missing("tenant"))?,
            ],
            BillScope::Partner(id) => {
                store
                    .get_partner(id)
                    .await
                    .map_err(Error::missing("partner"))?;
                store.list_partner_tenants(id).await?
            }
        };
        Ok(Export {
            store,
            tenants,
            from: request.from,
            to: request.to,
            format: request.format,
            currency,
        })
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// A file name that says what the export holds: `usage-<scope>-<from>-<to>.<ext>`.
    pub fn file_name(&self, scope: &str) -> String {
        let day = |at: OffsetDateTime| at.date().to_string();
        format!(
            "usage-{scope}-{}-{}.{}",
            day(self.from),
            day(self.to),
            self.format.extension()
        )
    }

    /// About how many entries the export holds, from the daily rollups of the days it touches
    /// (more when it starts or ends within a day): for progress bars.
    ///
    /// # Errors
    /// Store failures.
    pub async fn expected_entries(&self) -> Result<u64, Error> {
        let grain = domain::rollup::Grain::Day;
        let mut total = 0u64;
        for tenant in &self.tenants {
            let rollups = self
                .store
                .rollups_between(tenant.id, grain, grain.floor(self.from), self.to, u32::MAX)
                .await?;
            total = rollups
                .iter()
                .filter(|it| !it.shadow)
                .fold(total, |sum, it| sum.saturating_add(it.figures.requests));
        }
        Ok(total)
    }

    /// The export's bytes, a page of entries per chunk, then what closes it (the JSON form's
    /// totals); the last item is the totals themselves.
    pub fn chunks(self) -> impl Stream<Item = Result<Chunk, Error>> + Send + 'static {
        let state = Pages {
            export: self,
            tenant: 0,
            after: None,
            started: false,
            done: false,
            totals: ExportTotals::default(),
        };
        futures_util::stream::try_unfold(state, |mut pages| async move {
            if pages.done {
                return Ok(None);
            }
            let chunk = pages.next_chunk().await?;
            Ok(Some((chunk, pages)))
        })
    }
}

/// A piece of an export: bytes to write, and how many entries they hold.
#[derive(Debug)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub entries: u64,
    /// Set on the last chunk: the sums of everything written.
    pub totals: Option<ExportTotals>,
}

struct Pages {
    export: Export,
    tenant: usize,
    after: Option<UsageCursor>,
    started: bool,
    done: bool,
    totals: ExportTotals,
}

impl Pages {
    async fn next_chunk(&mut self) -> Result<Chunk, Error> {
        let export = &self.export;
        let mut bytes = Vec::new();
        let mut entries = 0;
        if !self.started {
            self.started = true;
            if export.format == ExportFormat::Json {
                let head = serde_json::json!({
                    "currency": export.currency.as_str(),
                    "from": export.from.format(&Rfc3339).unwrap_or_default(),
                    "to": export.to.format(&Rfc3339).unwrap_or_default(),
                });
                // The object without its closing brace, then the entries' array.
                let head = head.to_string();
                bytes.extend_from_slice(head.trim_end_matches('}').as_bytes());
                bytes.extend_from_slice(br#","entries":["#);
            }
        }
        loop {
            let Some(tenant) = export.tenants.get(self.tenant) else {
                if export.format == ExportFormat::Json {
                    bytes.extend_from_slice(br#"],"adjustments":["#);
                    self.write_adjustments(&mut bytes).await?;
                    self.totals.due = self
                        .totals
                        .figures
                        .price
                        .saturating_add(self.totals.adjusted);
                    bytes.extend_from_slice(br#"],"totals":"#);
                    serde_json::to_writer(&mut bytes, &self.totals).map_err(internal)?;
                    bytes.extend_from_slice(b"}\n");
                } else if self.totals.entries() == 0 {
                    // An empty period still has its header.
                    write_csv(&mut bytes, None, true)?;
                }
                self.done = true;
                return Ok(Chunk {
                    bytes,
                    entries,
                    totals: Some(self.totals.clone()),
                });
            };
            let page = export
                .store
                .usage_between(tenant.id, export.from, export.to, self.after, PAGE)
                .await?;
            let Some(last) = page.last() else {
                self.tenant += 1;
                self.after = None;
                continue;
            };
            self.after = Some(UsageCursor::of(last));
            for record in page.iter().filter(|it| it.status != UsageStatus::Shadow) {
                let first = self.totals.entries() == 0;
                let csv = export.format == ExportFormat::Csv;
                let line = line(record, tenant, export.currency.as_str(), csv);
                match export.format {
                    ExportFormat::Csv => write_csv(&mut bytes, Some(&line), first)?,
                    ExportFormat::Json => {
                        if !first {
                            bytes.push(b',');
                        }
                        serde_json::to_writer(&mut bytes, &line).map_err(internal)?;
                    }
                }
                self.totals.figures.add(record);
                entries += 1;
            }
            if !bytes.is_empty() {
                return Ok(Chunk {
                    bytes,
                    entries,
                    totals: None,
                });
            }
        }
    }
}

/// An entry's line; for CSV (`inert_texts`), its texts made inert.
impl Pages {
    /// The period's corrections of every tenant (a few rows: read whole), summed in `adjusted`.
    async fn write_adjustments(&mut self, bytes: &mut Vec<u8>) -> Result<(), Error> {
        let export = &self.export;
        let mut first = true;
        for tenant in &export.tenants {
            let adjustments = export
                .store
                .adjustments_between(tenant.id, export.from, export.to)
                .await?;
            for it in &adjustments {
                if !first {
                    bytes.push(b',');
                }
                first = false;
                let time = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
                let line = AdjustmentLine {
                    id: it.id.to_string(),
                    tenant_id: tenant.id.to_string(),
                    tenant: &tenant.name,
                    kind: it.kind.as_str(),
                    amount: it.amount.to_string(),
                    reason: &it.reason,
                    author: &it.author,
                    effective_at: time(it.effective_at),
                    created_at: time(it.created_at),
                };
                serde_json::to_writer(&mut *bytes, &line).map_err(internal)?;
                self.totals.adjusted = self.totals.adjusted.saturating_add(it.amount);
            }
        }
        Ok(())
    }
}

fn line<'a>(
    record: &'a UsageRecord,
    tenant: &'a Tenant,
    currency: &'a str,
    inert_texts: bool,
) -> Line<'a> {
    let money = |it: Option<Money>| it.map(|it| it.to_string()).unwrap_or_default();
    let text = |it: &'a str| {
        if inert_texts {
            inert(it)
        } else {
            Cow::Borrowed(it)
        }
    };
    Line {
        id: record.id.to_string(),
        created_at: record.created_at.format(&Rfc3339).unwrap_or_default(),
        tenant_id: tenant.id.to_string(),
        tenant: text(&tenant.name),
        key_id: record.key_id.to_string(),
        request_id: record.request_id.to_string(),
        endpoint: text(&record.endpoint),
        model: text(&record.model_alias),
        provider: text(&record.provider),
        upstream_model: text(&record.upstream_model),
        variant: text(record.variant.as_deref().unwrap_or("")),
        status: record.status.as_str(),
        http_status: record.http_status,
        error_code: text(record.error_code.as_deref().unwrap_or("")),
        stream: record.stream,
        estimated: record.estimated,
        prompt_tokens: record.prompt_tokens,
        completion_tokens: record.completion_tokens,
        cached_tokens: record.cached_tokens,
        cache_write_tokens: record.cache_write_tokens,
        reasoning_tokens: record.reasoning_tokens,
        latency_ms: record.latency_ms,
        cost: money(record.cost),
        wholesale: money(record.wholesale),
        price: money(record.price),
        currency,
    }
}

/// Writes one CSV line (after the header when `header`); with no line, the header alone.
fn write_csv(bytes: &mut Vec<u8>, line: Option<&Line<'_>>, header: bool) -> Result<(), Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(bytes);
    if header {
        writer.write_record(HEADER).map_err(internal)?;
    }
    if let Some(line) = line {
        writer.serialize(line).map_err(internal)?;
    }
    writer.flush().map_err(internal)?;
    Ok(())
}

/// The CSV header: `Line`'s field names, in order.
const HEADER: [&str; 26] = [
    "id",
    "created_at",
    "tenant_id",
    "tenant",
    "key_id",
    "request_id",
    "endpoint",
    "model",
    "provider",
    "upstream_model",
    "variant",
    "status",
    "http_status",
    "error_code",
    "stream",
    "estimated",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "latency_ms",
    "cost",
    "wholesale",
    "price",
    "currency",
];

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(Box::new(e))
}

impl Manager {
    /// A billing export for the management API: the tenant's (for members who may see billing:
    /// owners, admins, finance) or a partner's sub-tenants' (for its administrators), after
    /// the period's checks.
    ///
    /// # Errors
    /// Missing permission; see `Export::plan`.
    pub async fn export_usage(
        &self,
        identity: &Identity,
        request: ExportRequest,
    ) -> Result<Export, Error> {
        match request.scope {
            BillScope::Tenant(tenant) => {
                self.authorize(identity, tenant, Permission::ViewBilling)
                    .await?;
            }
            BillScope::Partner(partner) => {
                self.authorize_partner(identity, partner).await?;
            }
        }
        Export::plan(self.store.clone(), request, self.config.prices.currency).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(name: &str) -> Tenant {
        Tenant {
            id: domain::TenantId::new(),
            name: name.into(),
            status: domain::TenantStatus::Active,
            partner_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_header_names_every_field_of_a_line_in_order() {
        let tenant = tenant("Acme");
        let record = store::contract::usage(
            tenant.id,
            domain::ApiKeyId::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let mut bytes = Vec::new();
        write_csv(&mut bytes, Some(&line(&record, &tenant, "USD", true)), true).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), HEADER.join(","));
        let fields: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(lines.next().unwrap().as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(fields.len(), HEADER.len());
        let field = |name: &str| fields[HEADER.iter().position(|it| *it == name).unwrap()].clone();
        assert_eq!(field("tenant"), "Acme");
        assert_eq!(field("price"), Money::from_nanos(i64::MAX).to_string());
        assert_eq!(field("wholesale"), "", "none: empty, never zero");
        assert_eq!(field("status"), "ok");
    }

    #[test]
    fn texts_a_spreadsheet_would_run_are_made_inert_in_csv_only() {
        let tenant = tenant("=HYPERLINK(\"http://evil\")");
        let mut record = store::contract::usage(
            tenant.id,
            domain::ApiKeyId::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        record.model_alias = "+1-2".into();
        record.variant = Some("@SUM(A1)".into());
        record.error_code = Some("-x".into());
        let csv_line = line(&record, &tenant, "USD", true);
        assert_eq!(csv_line.tenant, "'=HYPERLINK(\"http://evil\")");
        assert_eq!(csv_line.model, "'+1-2");
        assert_eq!(csv_line.variant, "'@SUM(A1)");
        assert_eq!(csv_line.error_code, "'-x");
        let json_line = line(&record, &tenant, "USD", false);
        assert_eq!(json_line.model, "+1-2", "JSON keeps the text as it is");
        assert_eq!(inert("gpt-4o"), "gpt-4o");
    }
}
