//! The JSON log line format: one object per event, `timestamp`, `level`, the event's fields,
//! then `target`, the same lines `tracing-subscriber`'s JSON formatter writes (flattened, no
//! spans: the code opens none).
//!
//! Written by hand because the access log formats a line per request: the generic formatter
//! serialises every field through `serde` and re-renders the date digit by digit, which cost
//! about a tenth of the gateway's instructions per request; this one writes straight into the
//! line buffer and renders the date once a second.

use std::cell::RefCell;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as JSON lines.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, SystemTime::now())?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_char('"')?;
        let mut fields = Fields {
            out: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str(",\"target\":")?;
        write_string(&mut writer, meta.target())?;
        writer.write_str("}\n")
    }
}

/// Writes each field as `,"name":value`.
struct Fields<'a, W> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: Write> Fields<'_, W> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        self.out.write_char(',')?;
        write_string(self.out, field.name())?;
        self.out.write_char(':')
    }

    fn entry(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| value(self.out));
        }
    }
}

impl<W: Write> Visit for Fields<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, |out| write_string(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinities.
        self.entry(field, |out| {
            if value.is_finite() {
                write!(out, "{value}")
            } else {
                out.write_str("null")
            }
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field, |out| {
            SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
                Ok(mut scratch) => {
                    scratch.clear();
                    write!(scratch, "{value:?}")?;
                    write_string(out, &scratch)
                }
                // A `Debug` implementation that logs while being rendered.
                Err(_) => write_string(out, &format!("{value:?}")),
            })
        });
    }
}

thread_local! {
    /// Where `Debug` values are rendered before they are escaped; reused across lines.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
    /// The second last rendered and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes `value` as a JSON string, quotes included.
fn write_string(out: &mut impl Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    let bytes = value.as_bytes();
    // Most values (ids, paths, field names) need no escaping: one pass without an early exit
    // finds that, and the compiler vectorises it, where the byte loop below cost about 15
    // instructions per byte.
    let clean = bytes.iter().fold(true, |clean, &byte| {
        clean & (byte >= 0x20 && byte != b'"' && byte != b'\\')
    });
    if clean {
        out.write_str(value)?;
        return out.write_char('"');
    }
    let mut start = 0;
    for (i, byte) in bytes.iter().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a character boundary.
        out.write_str(&value[start..i])?;
        if escaped.is_empty() {
            write!(out, "\\u{:04x}", byte)?;
        } else {
            out.write_str(escaped)?;
        }
        start = i + 1;
    }
    out.write_str(&value[start..])?;
    out.write_char('"')
}

/// Writes `now` as RFC 3339 in UTC with microseconds, e.g. `2026-12-03T08:13:31.330116Z`.
fn write_timestamp(out: &mut impl Write, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != seconds || text.is_empty() {
            text.clear();
            let (year, month, day, hour, minute, second) = civil_from_unix(seconds);
            write!(
                text,
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
            )?;
            *cached = seconds;
        }
        out.write_str(text)
    })?;
    write!(out, ".{:06}Z", since.subsec_micros())
}

/// Calendar date and time of a Unix time (proleptic Gregorian, UTC), by Howard Hinnant's
/// `civil_from_days`.
fn civil_from_unix(seconds: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timestamp(unix_micros: u64) -> String {
        let mut out = String::new();
        write_timestamp(&mut out, UNIX_EPOCH + Duration::from_micros(unix_micros)).unwrap();
        out
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            timestamp(1_764_750_811_330_116),
            "2025-12-03T08:33:31.330116Z"
        );
        // Leap day, and the last microsecond of a leap year.
        assert_eq!(
            timestamp(951_782_400_000_001),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(
            timestamp(1_735_689_599_999_999),
            "2024-12-31T23:59:59.999999Z"
        );
        // The cached second changes when the second does.
        assert_eq!(
            timestamp(1_735_689_600_000_000),
            "2025-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd\te\u{1}f→ü").unwrap();
        assert_eq!(out, r#""a\"b\\c\nd\te\u0001f→ü""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\te\u{1}f→ü");
    }

    #[test]
    fn clean_and_dirty_strings_round_trip_through_a_json_parser() {
        let long_clean = "0196f5a2-7c1d-7e4b-9a0e-3f2d1c0b9a87/v1/chat/completions".repeat(5);
        let cases = [
            "",
            "/v1/chat/completions",
            "ünïcode 租户 → ok",
            "\u{7f} is not escaped",
            long_clean.as_str(),
            "ends with a quote\"",
            "\\starts with a backslash",
            "\u{0}\u{1f} control characters",
            "long and clean until the very end.............................................\n",
        ];
        for case in cases {
            let mut out = String::new();
            write_string(&mut out, case).unwrap();
            let parsed: String = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, case);
            assert_eq!(out, serde_json::to_string(case).unwrap(), "{case:?}");
        }
    }

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_become_one_json_object_per_line_with_every_field() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: "access",
                request_id = "r-1",
                method = %"POST",
                status = 200u16,
                delta = -3i64,
                ok = true,
                ratio = 0.5f64,
                nan = f64::NAN,
                "quoted \"message\""
            );
            tracing::warn!(error = %std::io::Error::other("bad\nthing"), "second");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], "access");
        assert_eq!(first["message"], "quoted \"message\"");
        assert_eq!(first["request_id"], "r-1");
        assert_eq!(first["method"], "POST");
        assert_eq!(first["status"], 200);
        assert_eq!(first["delta"], -3);
        assert_eq!(first["ok"], true);
        assert_eq!(first["ratio"], 0.5);
        assert!(first["nan"].is_null());
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["error"], "bad\nthing");
        // Keys in the order the old formatter wrote them.
        assert!(text.starts_with("{\"timestamp\":\""), "{text}");
    }
}
