//! The dashboard's numbers: the figures derived from a usage summary (tokens, error rate),
//! the series its charts draw, the breakdown's rows, how counts and durations read, and what
//! a request that failed over says about its failed tries.

use api_types::manage::{UsageAttemptView, UsageFiguresView, UsageGroupView, UsageSummaryView};

use super::chart::{Axis, Series};
use super::format::fixed;

/// `950`, `1.2k`, `3.4M`.
pub fn compact(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 999_500_000.0 {
        (value / 1e9, "B")
    } else if abs >= 999_500.0 {
        (value / 1e6, "M")
    } else if abs >= 1_000.0 {
        (value / 1e3, "k")
    } else {
        return if value.fract() == 0.0 {
            fixed(value, 0)
        } else {
            fixed(value, 1)
        };
    };
    if scaled.abs() >= 100.0 {
        format!("{}{suffix}", fixed(scaled, 0))
    } else {
        format!("{}{suffix}", fixed(scaled, 1).trim_end_matches(".0"))
    }
}

/// `85 ms`, `1.2 s`, `2 s`, `95 s`.
pub fn millis(value: f64) -> String {
    if value < 1_000.0 {
        format!("{} ms", fixed(value, 0))
    } else if value < 10_000.0 {
        format!("{} s", fixed(value / 1_000.0, 1).trim_end_matches(".0"))
    } else {
        format!("{} s", fixed(value / 1_000.0, 0))
    }
}

/// A count with its noun, singular for one: `1 request`, `12 345 requests`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// Exact counts with thin groups: `12 345`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// What the dashboard says of the window's mirrors to shadow deployments, which the totals,
/// charts and breakdown leave out; `None` without any.
pub fn shadow_note(summary: &UsageSummaryView) -> Option<String> {
    let shadow = summary.shadow.as_ref().filter(|it| it.requests > 0)?;
    let mut res = format!(
        "Shadow traffic, not counted above: {} {}, {} tokens, error rate {}",
        count(shadow.requests),
        if shadow.requests == 1 {
            "mirror"
        } else {
            "mirrors"
        },
        count(tokens(shadow)),
        rate_text(error_rate(shadow)),
    );
    if let Some(p50) = shadow.latency_p50_ms {
        res.push_str(&format!(", p50 {}", latency_text(Some(p50))));
    }
    res.push('.');
    Some(res)
}

/// Errors as a percentage of requests; `None` without requests.
pub fn error_rate(figures: &UsageFiguresView) -> Option<f64> {
    (figures.requests > 0).then(|| figures.errors as f64 / figures.requests as f64 * 100.0)
}

pub fn tokens(figures: &UsageFiguresView) -> u64 {
    figures
        .prompt_tokens
        .saturating_add(figures.completion_tokens)
}

/// `per minute`, `per 15 minutes`, `per hour`, `per 6 hours`, `per day`.
pub fn per_bucket(bucket_seconds: i64) -> String {
    match bucket_seconds {
        60 => "per minute".to_owned(),
        3_600 => "per hour".to_owned(),
        86_400 => "per day".to_owned(),
        s if s % 86_400 == 0 => format!("per {} days", s / 86_400),
        s if s % 3_600 == 0 => format!("per {} hours", s / 3_600),
        s if s % 60 == 0 => format!("per {} minutes", s / 60),
        s => format!("per {s} seconds"),
    }
}

/// The time axis of a summary's series.
pub fn axis(summary: &UsageSummaryView) -> Axis {
    Axis {
        from: summary.from.unix_timestamp(),
        bucket_seconds: summary.bucket_seconds.max(1),
        buckets: summary.series.len(),
    }
}

/// The series of one chart, from a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Requests,
    Tokens,
    Latency,
    ErrorRate,
}

impl Metric {
    pub fn series(self, summary: &UsageSummaryView) -> Vec<Series> {
        let each = |name: &str, value: &dyn Fn(&UsageFiguresView) -> Option<f64>| Series {
            name: name.to_owned(),
            values: summary.series.iter().map(|it| value(&it.figures)).collect(),
        };
        match self {
            Metric::Requests => vec![each("requests", &|f| Some(f.requests as f64))],
            Metric::Tokens => vec![
                each("prompt tokens", &|f| Some(f.prompt_tokens as f64)),
                each("completion tokens", &|f| Some(f.completion_tokens as f64)),
            ],
            Metric::Latency => vec![
                each("p50", &|f| f.latency_p50_ms.map(|it| it as f64)),
                each("p95", &|f| f.latency_p95_ms.map(|it| it as f64)),
            ],
            Metric::ErrorRate => vec![each("error rate", &error_rate)],
        }
    }
}

/// One row of the breakdown by model or key.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: String,
    pub label: String,
    pub requests: u64,
    /// Of all requests in the window, 0 to 1.
    pub share: f64,
    pub tokens: u64,
    pub error_rate: Option<f64>,
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    /// What the rows' calls were charged (a decimal string).
    pub spend: String,
    pub unpriced: u64,
}

/// Spend as the dashboard shows it: `12.50 USD`, with `+ n unpriced` when some calls had no
/// price (never counted as free).
pub fn spend_text(spend: &str, unpriced: u64, currency: &str) -> String {
    let amount = if spend.is_empty() { "0" } else { spend };
    let mut text = format!("{amount} {currency}").trim().to_owned();
    if unpriced > 0 {
        text.push_str(&format!(" + {unpriced} unpriced"));
    }
    text
}

/// The breakdown's rows, busiest first (as the API sorts them).
pub fn group_rows(groups: &[UsageGroupView], total_requests: u64) -> Vec<GroupRow> {
    groups
        .iter()
        .map(|it| GroupRow {
            key: it.key.clone(),
            label: if it.label.trim().is_empty() {
                it.key.clone()
            } else {
                it.label.clone()
            },
            requests: it.figures.requests,
            share: if total_requests == 0 {
                0.0
            } else {
                it.figures.requests as f64 / total_requests as f64
            },
            tokens: tokens(&it.figures),
            error_rate: error_rate(&it.figures),
            latency_p50_ms: it.figures.latency_p50_ms,
            latency_p95_ms: it.figures.latency_p95_ms,
            spend: it.figures.spend.clone(),
            unpriced: it.figures.unpriced,
        })
        .collect()
}

/// A rate for display: `—` without requests.
pub fn rate_text(rate: Option<f64>) -> String {
    match rate {
        None => "—".to_owned(),
        Some(0.0) => "0%".to_owned(),
        Some(it) if it < 0.1 => "<0.1%".to_owned(),
        Some(it) if it < 10.0 => format!("{}%", fixed(it, 1)),
        Some(it) => format!("{}%", fixed(it, 0)),
    }
}

/// A latency for display: `—` without requests.
pub fn latency_text(ms: Option<u64>) -> String {
    ms.map_or_else(|| "—".to_owned(), |it| millis(it as f64))
}

/// A request's failed tries as the newest-requests table shows them: a short label, and one
/// line per try for its tooltip. `None` for a request answered at its first try.
pub fn failed_tries_text(attempts: &[UsageAttemptView]) -> Option<(String, String)> {
    let label = match attempts.len() {
        0 => return None,
        1 => "1 failed try".to_owned(),
        n => format!("{n} failed tries"),
    };
    let lines: Vec<String> = attempts
        .iter()
        .map(|it| {
            format!(
                "{}: {} {} after {}",
                it.deployment,
                it.http_status,
                it.error_code,
                millis(it.latency_ms as f64)
            )
        })
        .collect();
    Some((label, lines.join("\n")))
}

#[cfg(test)]
mod spend_tests {
    use super::spend_text;

    #[test]
    fn spend_says_its_currency_and_what_was_not_priced() {
        assert_eq!(spend_text("12.5", 0, "USD"), "12.5 USD");
        assert_eq!(spend_text("", 0, "EUR"), "0 EUR");
        assert_eq!(
            spend_text("0.000015", 3, "USD"),
            "0.000015 USD + 3 unpriced"
        );
    }
}

#[cfg(test)]
mod tests {
    use api_types::manage::UsageBucketView;
    use time::macros::datetime;

    use super::*;

    fn figures(requests: u64, errors: u64, p50: Option<u64>) -> UsageFiguresView {
        UsageFiguresView {
            requests,
            errors,
            prompt_tokens: requests * 10,
            completion_tokens: requests * 5,
            latency_p50_ms: p50,
            latency_p95_ms: p50.map(|it| it * 2),
            spend: "0".into(),
            unpriced: 0,
        }
    }

    fn summary() -> UsageSummaryView {
        UsageSummaryView {
            from: datetime!(2026-11-25 12:00 UTC),
            to: datetime!(2026-11-25 12:02 UTC),
            bucket_seconds: 60,
            group_by: "model".into(),
            currency: "USD".into(),
            totals: figures(4, 1, Some(120)),
            series: vec![
                UsageBucketView {
                    start: datetime!(2026-11-25 12:00 UTC),
                    figures: figures(0, 0, None),
                },
                UsageBucketView {
                    start: datetime!(2026-11-25 12:01 UTC),
                    figures: figures(4, 1, Some(120)),
                },
            ],
            groups: vec![
                UsageGroupView {
                    key: "mock".into(),
                    label: "mock".into(),
                    figures: figures(3, 0, Some(100)),
                },
                UsageGroupView {
                    key: "0190".into(),
                    label: " ".into(),
                    figures: figures(1, 1, Some(300)),
                },
            ],
            truncated: false,
            shadow: None,
        }
    }

    #[test]
    fn shadow_traffic_is_told_apart_from_the_totals() {
        let mut summary = summary();
        assert_eq!(shadow_note(&summary), None);
        summary.shadow = Some(figures(2, 1, Some(1500)));
        assert_eq!(
            shadow_note(&summary).as_deref(),
            Some(
                "Shadow traffic, not counted above: 2 mirrors, 30 tokens, error rate 50%, p50 1.5 s."
            )
        );
    }

    #[test]
    fn numbers_read_compactly() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1_000.0), "1k");
        assert_eq!(compact(1_260.0), "1.3k");
        assert_eq!(compact(999_999.0), "1M");
        assert_eq!(compact(123_456_789.0), "123M");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(millis(85.4), "85 ms");
        assert_eq!(millis(1_234.0), "1.2 s");
        assert_eq!(millis(2_000.0), "2 s");
        assert_eq!(millis(95_000.0), "95 s");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn failed_tries_read_as_a_label_and_one_line_each() {
        assert_eq!(failed_tries_text(&[]), None);
        let attempt =
            |deployment: &str, http_status, error_code: &str, latency_ms| UsageAttemptView {
                deployment: deployment.into(),
                http_status,
                error_code: error_code.into(),
                latency_ms,
            };
        assert_eq!(
            failed_tries_text(&[
                attempt("east", 503, "upstream_unavailable", 1_234),
                attempt("west", 429, "upstream_rate_limited", 80),
            ]),
            Some((
                "2 failed tries".to_owned(),
                "east: 503 upstream_unavailable after 1.2 s\nwest: 429 upstream_rate_limited after 80 ms"
                    .to_owned()
            ))
        );
        assert_eq!(
            failed_tries_text(&[attempt("east", 504, "upstream_timeout", 30_000)]).map(|it| it.0),
            Some("1 failed try".to_owned())
        );
    }

    #[test]
    fn figures_derived_from_a_summary() {
        let s = summary();
        assert_eq!(error_rate(&s.totals), Some(25.0));
        assert_eq!(error_rate(&figures(0, 0, None)), None);
        assert_eq!(tokens(&s.totals), 60);
        assert_eq!(rate_text(Some(25.0)), "25%");
        assert_eq!(rate_text(Some(2.54)), "2.5%");
        assert_eq!(rate_text(Some(0.01)), "<0.1%");
        assert_eq!(rate_text(None), "—");
        assert_eq!(latency_text(Some(1500)), "1.5 s");
        let a = axis(&s);
        assert_eq!((a.bucket_seconds, a.buckets), (60, 2));
        assert_eq!(a.from, s.from.unix_timestamp());
    }

    #[test]
    fn series_leave_gaps_where_nothing_was_measured() {
        let s = summary();
        let requests = Metric::Requests.series(&s);
        assert_eq!(requests[0].values, vec![Some(0.0), Some(4.0)]);
        let latency = Metric::Latency.series(&s);
        assert_eq!(latency[0].values, vec![None, Some(120.0)]);
        assert_eq!(latency[1].values, vec![None, Some(240.0)]);
        let errors = Metric::ErrorRate.series(&s);
        assert_eq!(errors[0].values, vec![None, Some(25.0)]);
        assert_eq!(Metric::Tokens.series(&s).len(), 2);
    }

    #[test]
    fn breakdown_rows_have_shares_and_fall_back_to_the_key() {
        let s = summary();
        let rows = group_rows(&s.groups, s.totals.requests);
        assert_eq!(rows[0].label, "mock");
        assert!((rows[0].share - 0.75).abs() < 1e-9);
        assert_eq!(rows[1].label, "0190", "a blank label shows the key");
        assert_eq!(rows[1].error_rate, Some(100.0));
        assert_eq!(group_rows(&s.groups, 0)[0].share, 0.0);
    }

    #[test]
    fn bucket_widths_in_words() {
        assert_eq!(per_bucket(60), "per minute");
        assert_eq!(per_bucket(900), "per 15 minutes");
        assert_eq!(per_bucket(3_600), "per hour");
        assert_eq!(per_bucket(21_600), "per 6 hours");
        assert_eq!(per_bucket(86_400), "per day");
        assert_eq!(per_bucket(90), "per 90 seconds");
    }
}
