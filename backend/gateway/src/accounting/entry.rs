//! What a usage draft looks like in the journal: one entry, written before the call is
//! answered (and, for a stream, a provisional one when it starts), and read back by the next
//! process when this one died with entries unsettled.
//!
//! An entry is a version byte and the draft in `postcard`'s compact binary form: it is written
//! on every call, and JSON cost ten times as much (escaping the upstream's raw usage object,
//! formatting ids as text). The format is its own type, not the draft's, and positional: the
//! next process may be a newer build (or an older one, after a rollback), so a change is a new
//! version, and readers keep decoding the older ones.
//!
//! Versions: [`VERSION_PLAIN`] is a [`Line`] alone; [`VERSION_ATTEMPTS`] is a [`Line`] followed
//! by the call's failed tries; [`VERSION_VARIANT`] is a [`Line`], the failed tries (perhaps
//! none) and the experiment arm. A call answered at its first try (nearly all) is still written
//! as [`VERSION_PLAIN`]: the same bytes as before failover existed, so a build from before it
//! still reads them, and the request path pays nothing for the tries it did not make. Likewise
//! only a call of a route that runs an experiment is written as [`VERSION_VARIANT`].
//! [`VERSION_PRICED`] adds the rates the call is charged at (resolved from the price book in
//! force when it arrived), so a recovered call is priced exactly as the live one would have
//! been; every call with a price is written so, and a build from before prices skips it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use domain::llm::TokenCounts;
use domain::pricing::{CallRates, Money, Rates};
use domain::{ApiKeyId, RequestId, TenantId, UsageId, UsageStatus};
use providers::UsageReport;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Tokens, UsageDraft};
use crate::call::Attempt;
use crate::telemetry::Endpoint;

/// An entry of a call without failed tries: a [`Line`].
const VERSION_PLAIN: u8 = 1;
/// An entry of a call that failed over: a [`Line`], then its failed tries as a sequence of
/// [`LineAttempt`]s.
const VERSION_ATTEMPTS: u8 = 2;
/// An entry of a call recorded with an experiment arm: a [`Line`], its failed tries as a
/// sequence of [`LineAttempt`]s (empty when it failed over from none), then the arm as a string.
const VERSION_VARIANT: u8 = 3;
/// An entry of a call with rates: a [`Line`], its failed tries (perhaps none), the arm (an
/// option), then its [`LineRates`].
const VERSION_PRICED: u8 = 4;

/// A call's rates per party, in nano-units per million tokens.
#[derive(Debug, Serialize, Deserialize)]
struct LineRates {
    cost: Option<LineRate>,
    wholesale: Option<LineRate>,
    price: Option<LineRate>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LineRate {
    input: i64,
    output: i64,
    cached_input: Option<i64>,
    cache_write: Option<i64>,
    reasoning: Option<i64>,
}

impl LineRates {
    fn of(rates: &CallRates) -> Self {
        let one = |it: &Option<Rates>| {
            it.map(|r| LineRate {
                input: r.input.nanos(),
                output: r.output.nanos(),
                cached_input: r.cached_input.map(Money::nanos),
                cache_write: r.cache_write.map(Money::nanos),
                reasoning: r.reasoning.map(Money::nanos),
            })
        };
        LineRates {
            cost: one(&rates.cost),
            wholesale: one(&rates.wholesale),
            price: one(&rates.price),
        }
    }

    fn into_rates(self) -> CallRates {
        let one = |it: Option<LineRate>| {
            it.map(|r| Rates {
                input: Money::from_nanos(r.input),
                output: Money::from_nanos(r.output),
                cached_input: r.cached_input.map(Money::from_nanos),
                cache_write: r.cache_write.map(Money::from_nanos),
                reasoning: r.reasoning.map(Money::from_nanos),
            })
        };
        CallRates {
            cost: one(self.cost),
            wholesale: one(self.wholesale),
            price: one(self.price),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Line<'a> {
    id: UsageId,
    /// Written when a stream starts; the call's final entry, if any, replaces it.
    provisional: bool,
    request_id: RequestId,
    tenant_id: TenantId,
    key_id: ApiKeyId,
    #[serde(borrow)]
    endpoint: Cow<'a, str>,
    #[serde(borrow)]
    model_alias: Cow<'a, str>,
    #[serde(borrow)]
    provider: Cow<'a, str>,
    #[serde(borrow)]
    upstream_model: Cow<'a, str>,
    stream: bool,
    #[serde(borrow)]
    tokens: LineTokens<'a>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    http_status: u16,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    latency_us: u64,
    ttft_us: Option<u64>,
    /// Unix time in nanoseconds.
    created_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
enum LineTokens<'a> {
    None,
    Reported {
        prompt: u64,
        completion: u64,
        cached: u64,
        cache_write: u64,
        reasoning: u64,
        #[serde(borrow)]
        raw: Option<Cow<'a, str>>,
        complete: bool,
    },
    Estimate {
        prompt_tokens: Option<u64>,
        #[serde(borrow)]
        prompt_text: Cow<'a, str>,
        #[serde(borrow)]
        completion_text: Cow<'a, str>,
        #[serde(borrow)]
        raw: Option<Cow<'a, str>>,
    },
}

/// One failed try, as an entry of [`VERSION_ATTEMPTS`] holds it after its [`Line`].
#[derive(Debug, Serialize, Deserialize)]
struct LineAttempt<'a> {
    #[serde(borrow)]
    deployment: Cow<'a, str>,
    http_status: u16,
    #[serde(borrow)]
    error_code: Cow<'a, str>,
    latency_us: u64,
}

impl<'a> LineAttempt<'a> {
    fn of(attempt: &'a Attempt) -> Self {
        LineAttempt {
            deployment: Cow::Borrowed(&attempt.deployment),
            http_status: attempt.http_status,
            error_code: Cow::Borrowed(&attempt.error_code),
            latency_us: micros(attempt.latency),
        }
    }

    fn into_attempt(self) -> Attempt {
        Attempt {
            deployment: Arc::from(self.deployment.as_ref()),
            http_status: self.http_status,
            error_code: Cow::Owned(self.error_code.into_owned()),
            latency: Duration::from_micros(self.latency_us),
        }
    }
}

/// A draft's failed tries, written straight from the draft: nothing is copied to encode them.
struct WrittenAttempts<'a>(&'a [Attempt]);

impl Serialize for WrittenAttempts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(LineAttempt::of))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl<'a> Line<'a> {
    fn of(draft: &'a UsageDraft, provisional: bool) -> Self {
        let tokens = match &draft.tokens {
            Tokens::None => LineTokens::None,
            Tokens::Reported(report) => LineTokens::Reported {
                prompt: report.counts.prompt,
                completion: report.counts.completion,
                cached: report.counts.cached,
                cache_write: report.counts.cache_write,
                reasoning: report.counts.reasoning,
                raw: report.raw.as_deref().map(Cow::Borrowed),
                complete: report.complete,
            },
            Tokens::Estimate {
                prompt_tokens,
                prompt_text,
                completion_text,
                raw,
            } => LineTokens::Estimate {
                prompt_tokens: *prompt_tokens,
                prompt_text: Cow::Borrowed(prompt_text),
                completion_text: Cow::Borrowed(completion_text),
                raw: raw.as_deref().map(Cow::Borrowed),
            },
        };
        Line {
            id: draft.id,
            provisional,
            request_id: draft.request_id,
            tenant_id: draft.tenant_id,
            key_id: draft.key_id,
            endpoint: Cow::Borrowed(draft.endpoint.as_str()),
            model_alias: Cow::Borrowed(&draft.model_alias),
            provider: Cow::Borrowed(&draft.provider),
            upstream_model: Cow::Borrowed(&draft.upstream_model),
            stream: draft.stream,
            tokens,
            status: Cow::Borrowed(draft.status.as_str()),
            http_status: draft.http_status,
            error_code: draft.error_code.as_deref().map(Cow::Borrowed),
            latency_us: micros(draft.latency),
            ttft_us: draft.ttft.map(micros),
            created_at: i64::try_from(draft.created_at.unix_timestamp_nanos()).unwrap_or(i64::MAX),
        }
    }

    fn into_draft(
        self,
        attempts: Vec<LineAttempt<'_>>,
        variant: Option<&str>,
        rates: CallRates,
    ) -> Option<UsageDraft> {
        let tokens = match self.tokens {
            LineTokens::None => Tokens::None,
            LineTokens::Reported {
                prompt,
                completion,
                cached,
                cache_write,
                reasoning,
                raw,
                complete,
            } => Tokens::Reported(UsageReport {
                counts: TokenCounts {
                    prompt,
                    completion,
                    cached,
                    cache_write,
                    reasoning,
                },
                raw: raw.map(Cow::into_owned),
                complete,
            }),
            LineTokens::Estimate {
                prompt_tokens,
                prompt_text,
                completion_text,
                raw,
            } => Tokens::Estimate {
                prompt_tokens,
                prompt_text: prompt_text.into_owned(),
                completion_text: completion_text.into_owned(),
                raw: raw.map(Cow::into_owned),
            },
        };
        Some(UsageDraft {
            id: self.id,
            request_id: self.request_id,
            tenant_id: self.tenant_id,
            key_id: self.key_id,
            endpoint: Endpoint::ALL
                .into_iter()
                .find(|it| it.as_str() == self.endpoint)?,
            model_alias: Arc::from(self.model_alias.as_ref()),
            provider: Arc::from(self.provider.as_ref()),
            upstream_model: Arc::from(self.upstream_model.as_ref()),
            attempts: attempts
                .into_iter()
                .map(LineAttempt::into_attempt)
                .collect(),
            variant: variant.map(Arc::from),
            stream: self.stream,
            tokens,
            status: UsageStatus::from_stored(&self.status)?,
            http_status: self.http_status,
            error_code: self.error_code.map(Cow::into_owned),
            latency: Duration::from_micros(self.latency_us),
            ttft: self.ttft_us.map(Duration::from_micros),
            created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.created_at))
                .ok()?,
            rates,
            tickets: super::Tickets::default(),
            journaled: false,
        })
    }
}

/// Encodes `draft` as one journal entry into a per-thread buffer and hands it to `write`: the
/// request path allocates nothing for it once the buffer has grown.
pub(super) fn with_entry<R>(
    draft: &UsageDraft,
    provisional: bool,
    write: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    /// A buffer that grew for one huge entry is not kept.
    const KEEP_BYTES: usize = 64 * 1024;
    BUFFER.with(|buffer| {
        let mut buffer = buffer.try_borrow_mut().ok()?;
        let mut bytes = std::mem::take(&mut *buffer);
        bytes.clear();
        let failed_over = !draft.attempts.is_empty();
        let priced = draft.rates != CallRates::default();
        bytes.push(match (priced, &draft.variant, failed_over) {
            (true, _, _) => VERSION_PRICED,
            (false, Some(_), _) => VERSION_VARIANT,
            (false, None, true) => VERSION_ATTEMPTS,
            (false, None, false) => VERSION_PLAIN,
        });
        let mut bytes = postcard::to_extend(&Line::of(draft, provisional), bytes).ok()?;
        if priced {
            bytes = postcard::to_extend(&WrittenAttempts(&draft.attempts), bytes).ok()?;
            bytes = postcard::to_extend(&draft.variant.as_deref(), bytes).ok()?;
            bytes = postcard::to_extend(&LineRates::of(&draft.rates), bytes).ok()?;
        } else {
            if failed_over || draft.variant.is_some() {
                bytes = postcard::to_extend(&WrittenAttempts(&draft.attempts), bytes).ok()?;
            }
            if let Some(variant) = draft.variant.as_deref() {
                bytes = postcard::to_extend(variant, bytes).ok()?;
            }
        }
        let result = write(&bytes);
        if bytes.capacity() <= KEEP_BYTES {
            *buffer = bytes;
        }
        Some(result)
    })
}

/// Decodes one entry of any version this build knows.
fn decode(bytes: &[u8]) -> Option<(UsageDraft, bool)> {
    let (&version, rest) = bytes.split_first()?;
    let (line, rest): (Line<'_>, _) = postcard::take_from_bytes(rest).ok()?;
    let (attempts, variant, rates): (Vec<LineAttempt<'_>>, Option<&str>, CallRates) = match version
    {
        VERSION_PLAIN => (Vec::new(), None, CallRates::default()),
        VERSION_ATTEMPTS => (postcard::from_bytes(rest).ok()?, None, CallRates::default()),
        VERSION_VARIANT => {
            let (attempts, rest) = postcard::take_from_bytes(rest).ok()?;
            (
                attempts,
                Some(postcard::from_bytes(rest).ok()?),
                CallRates::default(),
            )
        }
        VERSION_PRICED => {
            let (attempts, rest) = postcard::take_from_bytes(rest).ok()?;
            let (variant, rest) = postcard::take_from_bytes(rest).ok()?;
            let rates: LineRates = postcard::from_bytes(rest).ok()?;
            (attempts, variant, rates.into_rates())
        }
        _ => return None,
    };
    let provisional = line.provisional;
    line.into_draft(attempts, variant, rates)
        .map(|draft| (draft, provisional))
}

/// The drafts the leftover segments hold, one per call: its final entry where there is one,
/// else the provisional entry its stream started with. Unreadable entries are counted and
/// skipped.
pub(super) fn recover(segments: &[PathBuf]) -> (Vec<UsageDraft>, usize) {
    let mut order = Vec::new();
    let mut by_id: HashMap<UsageId, (UsageDraft, bool)> = HashMap::new();
    let mut unreadable = 0;
    for path in segments {
        let entries = match journal::read_records(path) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot read a usage journal segment");
                unreadable += 1;
                continue;
            }
        };
        for bytes in entries {
            let Some((draft, provisional)) = decode(&bytes) else {
                unreadable += 1;
                continue;
            };
            match by_id.get(&draft.id) {
                // A final entry is never replaced by a provisional one.
                Some((_, false)) if provisional => {}
                Some(_) => {
                    by_id.insert(draft.id, (draft, provisional));
                }
                None => {
                    order.push(draft.id);
                    by_id.insert(draft.id, (draft, provisional));
                }
            }
        }
    }
    let drafts = order
        .into_iter()
        .filter_map(|id| by_id.remove(&id).map(|(draft, _)| draft))
        .collect();
    (drafts, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::tests::draft;

    fn entry_of(draft: &UsageDraft, provisional: bool) -> Vec<u8> {
        with_entry(draft, provisional, <[u8]>::to_vec).unwrap()
    }

    /// A segment file holding `entries`, as the journal writes them.
    fn segment(path: &std::path::Path, entries: &[Vec<u8>]) {
        let mut bytes = Vec::new();
        for entry in entries {
            bytes.extend(u32::try_from(entry.len()).unwrap().to_le_bytes());
            bytes.extend(entry);
        }
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_draft_reads_back_whole() {
        let mut original = draft(TenantId::new());
        original.ttft = Some(Duration::from_micros(1234));
        original.error_code = Some("upstream_timeout".into());
        original.tokens = Tokens::Estimate {
            prompt_tokens: Some(9),
            prompt_text: "line\nbreak \"quoted\" \u{0}".into(),
            completion_text: "ünïcode".into(),
            raw: Some("{\"input_tokens\":9}".into()),
        };
        let bytes = entry_of(&original, false);
        let (back, provisional) = decode(&bytes).unwrap();
        assert!(!provisional);
        assert_eq!(format!("{back:?}"), format!("{original:?}"));
        assert!(
            decode(&[]).is_none() && decode(&[99, 1, 2]).is_none(),
            "unknown versions"
        );
        assert!(decode(&bytes[..bytes.len() / 2]).is_none(), "a cut entry");
    }

    /// A draft with every value fixed (ids and time here, the rest from `draft`), so its
    /// entry's bytes can be pinned.
    fn fixed_draft() -> UsageDraft {
        use uuid::Uuid;
        let mut fixed = draft(TenantId(Uuid::from_u128(1)));
        fixed.id = UsageId(Uuid::from_u128(2));
        fixed.request_id = RequestId(Uuid::from_u128(3));
        fixed.key_id = ApiKeyId(Uuid::from_u128(4));
        fixed.created_at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        fixed
    }

    /// The bytes the previous build (entry version 1, before failed tries were kept) wrote for
    /// [`fixed_draft`]. `Line` is unchanged since, so an entry without failed tries is still
    /// exactly these bytes, which is what lets a rolled-back build read it.
    const VERSION_1_ENTRY: &[u8] = &[
        1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 3, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 16, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 16, 99, 104, 97, 116, 46, 99, 111, 109, 112, 108, 101, 116,
        105, 111, 110, 115, 1, 109, 1, 112, 1, 117, 0, 1, 3, 4, 0, 0, 0, 0, 1, 2, 111, 107, 200, 1,
        0, 136, 39, 0, 128, 128, 160, 187, 210, 157, 241, 250, 49,
    ];

    #[test]
    fn entries_of_the_previous_version_still_decode_without_failed_tries() {
        let original = fixed_draft();
        assert_eq!(
            entry_of(&original, false),
            VERSION_1_ENTRY,
            "a call answered at its first try is written as before"
        );
        let (back, provisional) = decode(VERSION_1_ENTRY).unwrap();
        assert!(!provisional);
        assert!(back.attempts.is_empty());
        assert_eq!(format!("{back:?}"), format!("{original:?}"));
    }

    #[test]
    fn a_draft_with_failed_tries_reads_back_whole() {
        let mut original = fixed_draft();
        original.attempts = vec![
            Attempt {
                deployment: "east \"primary\" ünï".into(),
                http_status: 503,
                error_code: Cow::Borrowed("upstream_unavailable"),
                latency: Duration::from_micros(1_234_567),
            },
            Attempt {
                deployment: "west".into(),
                http_status: 429,
                error_code: Cow::Borrowed("upstream_rate_limited"),
                latency: Duration::ZERO,
            },
        ];
        let bytes = entry_of(&original, true);
        assert_eq!(bytes[0], VERSION_ATTEMPTS);
        let (back, provisional) = decode(&bytes).unwrap();
        assert!(provisional);
        assert_eq!(back.attempts, original.attempts);
        assert_eq!(format!("{back:?}"), format!("{original:?}"));
        assert!(
            decode(&bytes[..bytes.len() - 1]).is_none(),
            "an entry cut in its failed tries"
        );
    }

    #[test]
    fn a_draft_with_a_variant_reads_back_whole_and_others_keep_their_old_bytes() {
        let mut original = fixed_draft();
        original.variant = Some("canary ünï".into());
        let bytes = entry_of(&original, false);
        assert_eq!(bytes[0], VERSION_VARIANT);
        let (back, _) = decode(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{original:?}"));
        assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "a cut arm");
        original.attempts = vec![Attempt {
            deployment: "a".into(),
            http_status: 502,
            error_code: Cow::Borrowed("upstream_error"),
            latency: Duration::from_millis(3),
        }];
        let (back, _) = decode(&entry_of(&original, true)).unwrap();
        assert_eq!(format!("{back:?}"), format!("{original:?}"));
        original.variant = None;
        assert_eq!(entry_of(&original, true)[0], VERSION_ATTEMPTS);
        assert_eq!(entry_of(&fixed_draft(), false), VERSION_1_ENTRY);
    }

    #[test]
    fn a_priced_draft_reads_back_with_its_rates_and_prices_the_same() {
        let money = |text: &str| Money::parse(text).unwrap();
        let mut original = fixed_draft();
        let cost = Rates {
            input: money("2.5"),
            output: money("10"),
            cached_input: Some(money("1.25")),
            cache_write: None,
            reasoning: None,
        };
        original.rates = CallRates {
            cost: Some(cost),
            wholesale: Some(cost.marked_up(1_000)),
            price: Some(cost.marked_up(2_500)),
        };
        for variant in [None, Some("b")] {
            original.variant = variant.map(Arc::from);
            let bytes = entry_of(&original, false);
            assert_eq!(bytes[0], VERSION_PRICED);
            let (back, _) = decode(&bytes).unwrap();
            assert_eq!(format!("{back:?}"), format!("{original:?}"));
            assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "cut rates");
            let record = back.into_record();
            // 3 × 2.5 + 4 × 10 per million; at +25 %, 3 × 3.125 + 4 × 12.5.
            assert_eq!(record.cost, Some(money("0.0000475")));
            assert_eq!(record.price, Some(money("0.000059375")));
            assert_eq!(record.wholesale, Some(money("0.00005225")));
        }
    }

    #[test]
    fn a_final_entry_wins_over_the_provisional_one_in_any_order() {
        let dir = std::env::temp_dir().join(format!("lines-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let tenant = TenantId::new();
        let mut started = draft(tenant);
        started.status = UsageStatus::ServerClosed;
        let mut finished = draft(tenant);
        finished.id = started.id;
        let only_started = draft(tenant);
        let (a, b) = (dir.join("1.log"), dir.join("2.log"));
        segment(
            &a,
            &[
                entry_of(&started, true),
                entry_of(&only_started, true),
                vec![VERSION_PLAIN, 1, 2, 3],
            ],
        );
        segment(&b, &[entry_of(&finished, false), entry_of(&started, true)]);
        let (drafts, unreadable) = recover(&[a, b]);
        assert_eq!(unreadable, 1, "the garbled entry");
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].id, started.id);
        assert_eq!(drafts[0].status, UsageStatus::Ok, "the final line won");
        assert_eq!(drafts[1].id, only_started.id);
    }
}
