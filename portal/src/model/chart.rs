//! Geometry of the dashboard's charts, in SVG user units: scales with round ticks, stacked bars
//! and broken lines (a bucket without data leaves a gap, not a zero), time ticks on whole UTC
//! minutes, hours or days, and a sentence that says what the chart shows for screen readers.
//! The components only draw what this computes.

use time::OffsetDateTime;
use time::macros::format_description;

use super::format::fixed;
use super::usage_figures::{compact, millis};

/// The drawing's size; the SVG scales to its container.
pub const WIDTH: f64 = 400.0;
pub const HEIGHT: f64 = 180.0;
/// The plot area inside it (room for the axes' labels).
pub const LEFT: f64 = 56.0;
pub const RIGHT: f64 = WIDTH - 8.0;
pub const TOP: f64 = 8.0;
pub const BOTTOM: f64 = HEIGHT - 22.0;

/// How a chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Counts per bucket, the series stacked.
    Bars,
    /// Levels per bucket (latency, rates), one line per series.
    Lines,
}

/// What the values are, for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Millis,
    Percent,
}

impl Unit {
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Count => compact(value),
            Unit::Millis => millis(value),
            Unit::Percent => percent(value),
        }
    }
}

/// One series: a value per bucket, `None` where there is nothing to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// The time axis: buckets of `bucket_seconds` from `from` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub from: i64,
    pub bucket_seconds: i64,
    pub buckets: usize,
}

/// A label on an axis, at `at` along it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub at: f64,
    pub label: String,
    /// SVG `text-anchor`: labels at the ends stay inside the drawing.
    pub anchor: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub series: usize,
    /// Its tooltip: the bucket and value.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub series: usize,
    /// SVG path data; empty when the series has no value.
    pub path: String,
    /// Points with no neighbour, which a path would not show.
    pub dots: Vec<(f64, f64)>,
}

/// Everything to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub bars: Vec<Bar>,
    pub lines: Vec<Line>,
    /// What the chart shows, in words.
    pub summary: String,
}

/// Lays out `series` over `axis`; `title` starts the summary ("Requests per 15 minutes").
pub fn layout(title: &str, kind: Kind, unit: Unit, axis: Axis, series: &[Series]) -> Chart {
    let top_value = match kind {
        Kind::Bars => (0..axis.buckets)
            .map(|i| series.iter().filter_map(|s| value_at(s, i)).sum::<f64>())
            .fold(0.0, f64::max),
        Kind::Lines => series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
            .fold(0.0, f64::max),
    };
    let (step, top) = nice_scale(top_value, unit);
    let y = |value: f64| BOTTOM - value / top * (BOTTOM - TOP);
    let slot = (RIGHT - LEFT) / axis.buckets.max(1) as f64;
    let y_ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|it| *it <= top + step / 2.0)
        .map(|value| Tick {
            at: y(value),
            label: unit.format(value),
            anchor: "end",
        })
        .collect();
    let mut bars = Vec::new();
    let mut lines = Vec::new();
    match kind {
        Kind::Bars => {
            let gap = (slot * 0.15).min(2.0);
            for i in 0..axis.buckets {
                let mut base = 0.0;
                for (n, s) in series.iter().enumerate() {
                    let Some(value) = value_at(s, i).filter(|it| *it > 0.0) else {
                        continue;
                    };
                    let (low, high) = (y(base), y(base + value));
                    bars.push(Bar {
                        x: round(LEFT + slot * i as f64 + gap / 2.0),
                        y: round(high),
                        width: round((slot - gap).max(0.5)),
                        height: round(low - high),
                        series: n,
                        title: format!(
                            "{}: {} {}",
                            bucket_label(axis, i),
                            unit.format(value),
                            s.name
                        ),
                    });
                    base += value;
                }
            }
        }
        Kind::Lines => {
            for (n, s) in series.iter().enumerate() {
                let point = |i: usize| {
                    value_at(s, i).map(|v| (round(LEFT + slot * (i as f64 + 0.5)), round(y(v))))
                };
                let mut path = String::new();
                let mut dots = Vec::new();
                for i in 0..axis.buckets {
                    let Some((px, py)) = point(i) else {
                        continue;
                    };
                    let joined = i > 0 && point(i - 1).is_some();
                    let command = if joined { "L" } else { "M" };
                    path.push_str(&format!("{command}{} {}", fixed(px, 1), fixed(py, 1)));
                    if !joined && point(i + 1).is_none() {
                        dots.push((px, py));
                    }
                }
                lines.push(Line {
                    series: n,
                    path,
                    dots,
                });
            }
        }
    }
    Chart {
        x_ticks: time_ticks(axis, slot),
        y_ticks,
        bars,
        lines,
        summary: summary(title, kind, unit, axis, series),
    }
}

fn value_at(series: &Series, i: usize) -> Option<f64> {
    series
        .values
        .get(i)
        .copied()
        .flatten()
        .filter(|it| it.is_finite())
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// A step of 1, 2 or 5 times a power of ten giving about four intervals, and the top of the
/// scale (a whole number of steps at or above `max`). Counts step by whole numbers.
pub fn nice_scale(max: f64, unit: Unit) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 4.0;
    // The largest power of ten at or below `raw` (a loop: `log10` and `powf` cost bundle size).
    let mut magnitude = 1.0;
    while magnitude * 10.0 <= raw {
        magnitude *= 10.0;
    }
    while magnitude > raw {
        magnitude /= 10.0;
    }
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|it| it * magnitude)
        .find(|it| *it >= raw)
        .unwrap_or(10.0 * magnitude);
    let step = match unit {
        Unit::Count | Unit::Millis => step.max(1.0),
        Unit::Percent => step,
    };
    (step, (max / step).ceil() * step)
}

/// Time ticks on round UTC times, at most six.
fn time_ticks(axis: Axis, slot: f64) -> Vec<Tick> {
    const STEPS: [i64; 13] = [
        60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    ];
    let span = axis.bucket_seconds * i64::try_from(axis.buckets).unwrap_or(0);
    if span <= 0 {
        return Vec::new();
    }
    let to = axis.from + span;
    let step = STEPS
        .into_iter()
        .find(|it| span / it <= 5)
        .unwrap_or(604_800);
    let per_second = slot / axis.bucket_seconds as f64;
    let first = (axis.from + step - 1).div_euclid(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= to)
        .map(|t| {
            let at = round(LEFT + (t - axis.from) as f64 * per_second);
            let anchor = if at - LEFT < 16.0 {
                "start"
            } else if RIGHT - at < 16.0 {
                "end"
            } else {
                "middle"
            };
            Tick {
                at,
                label: time_label(t, step >= 86_400),
                anchor,
            }
        })
        .collect()
}

/// `14:15`, or `Nov 25` for ticks a day or more apart.
fn time_label(unix: i64, days: bool) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(unix) else {
        return String::new();
    };
    if days {
        at.format(format_description!("[month repr:short] [day padding:none]"))
    } else {
        at.format(format_description!("[hour]:[minute]"))
    }
    .unwrap_or_default()
}

/// The bucket's start, precise enough for its width: `Nov 25 14:15 UTC`, or `Nov 25`.
pub fn bucket_label(axis: Axis, i: usize) -> String {
    let start = axis.from + axis.bucket_seconds * i64::try_from(i).unwrap_or(0);
    let Ok(at) = OffsetDateTime::from_unix_timestamp(start) else {
        return String::new();
    };
    if axis.bucket_seconds >= 86_400 {
        at.format(format_description!("[month repr:short] [day padding:none]"))
    } else {
        at.format(format_description!(
            "[month repr:short] [day padding:none] [hour]:[minute] UTC"
        ))
    }
    .unwrap_or_default()
}

fn summary(title: &str, kind: Kind, unit: Unit, axis: Axis, series: &[Series]) -> String {
    let parts: Vec<String> = series
        .iter()
        .map(|s| {
            let values: Vec<(usize, f64)> = (0..axis.buckets)
                .filter_map(|i| value_at(s, i).map(|v| (i, v)))
                .collect();
            // The first bucket with the highest value.
            let Some((peak_at, peak)) = values
                .iter()
                .copied()
                .reduce(|best, it| if it.1 > best.1 { it } else { best })
            else {
                return format!("{}: no data", s.name);
            };
            match kind {
                Kind::Bars => {
                    let total: f64 = values.iter().map(|it| it.1).sum();
                    if total <= 0.0 {
                        format!("{}: none", s.name)
                    } else {
                        format!(
                            "{}: {} in total, at most {} ({})",
                            s.name,
                            unit.format(total),
                            unit.format(peak),
                            bucket_label(axis, peak_at)
                        )
                    }
                }
                Kind::Lines => {
                    let low = values.iter().map(|it| it.1).fold(f64::INFINITY, f64::min);
                    format!(
                        "{}: from {} to {} (highest {})",
                        s.name,
                        unit.format(low),
                        unit.format(peak),
                        bucket_label(axis, peak_at)
                    )
                }
            }
        })
        .collect();
    format!("{title}. {}.", parts.join("; "))
}

fn percent(value: f64) -> String {
    if value == 0.0 || value >= 10.0 || value.fract() == 0.0 {
        format!("{}%", fixed(value, 0))
    } else {
        format!("{}%", fixed(value, 1))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const FROM: i64 = datetime!(2026-11-25 12:00 UTC).unix_timestamp();

    fn axis(buckets: usize, bucket_seconds: i64) -> Axis {
        Axis {
            from: FROM,
            bucket_seconds,
            buckets,
        }
    }

    fn series(name: &str, values: &[Option<f64>]) -> Series {
        Series {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn scales_end_on_a_round_number() {
        assert_eq!(nice_scale(0.0, Unit::Count), (1.0, 1.0));
        assert_eq!(nice_scale(3.0, Unit::Count), (1.0, 3.0));
        assert_eq!(nice_scale(7.0, Unit::Count), (2.0, 8.0));
        assert_eq!(nice_scale(42.0, Unit::Count), (20.0, 60.0));
        assert_eq!(nice_scale(1234.0, Unit::Millis), (500.0, 1500.0));
        assert_eq!(nice_scale(100.0, Unit::Percent), (50.0, 100.0));
        let (step, top) = nice_scale(2.5, Unit::Percent);
        assert!((step - 1.0).abs() < 1e-9 && (top - 3.0).abs() < 1e-9);
    }

    #[test]
    fn bars_stack_inside_the_plot() {
        let chart = layout(
            "Tokens",
            Kind::Bars,
            Unit::Count,
            axis(4, 900),
            &[
                series("prompt", &[Some(2.0), Some(0.0), None, Some(6.0)]),
                series("completion", &[Some(2.0), None, None, Some(2.0)]),
            ],
        );
        // Top 8 (step 2), so 18.75 units per token; slot 84.
        assert_eq!(chart.bars.len(), 4, "zero and missing values draw nothing");
        let first = &chart.bars[0];
        assert_eq!((first.series, first.y, first.height), (0, 120.5, 37.5));
        let stacked = &chart.bars[1];
        assert_eq!(
            (stacked.series, stacked.y, stacked.y + stacked.height),
            (1, 83.0, 120.5)
        );
        assert_eq!(chart.bars[2].x, LEFT + 84.0 * 3.0 + 1.0);
        assert_eq!(chart.bars[2].title, "Nov 25 12:45 UTC: 6 prompt");
        assert_eq!(chart.bars[3].y, TOP, "the highest stack reaches the top");
        for bar in &chart.bars {
            assert!(bar.y >= TOP && bar.y + bar.height <= BOTTOM + 0.01);
            assert!(bar.x >= LEFT && bar.x + bar.width <= RIGHT + 0.01);
        }
        let labels: Vec<&str> = chart.y_ticks.iter().map(|it| it.label.as_str()).collect();
        assert_eq!(labels, ["0", "2", "4", "6", "8"]);
        assert_eq!(
            chart.summary,
            "Tokens. prompt: 8 in total, at most 6 (Nov 25 12:45 UTC); completion: 4 in total, at most 2 (Nov 25 12:00 UTC)."
        );
    }

    #[test]
    fn lines_break_where_there_is_no_data() {
        let chart = layout(
            "Latency",
            Kind::Lines,
            Unit::Millis,
            axis(5, 60),
            &[series(
                "p50",
                &[Some(100.0), Some(200.0), None, Some(50.0), None],
            )],
        );
        let line = &chart.lines[0];
        assert_eq!(line.path.matches('M').count(), 2);
        assert_eq!(line.path.matches('L').count(), 1);
        assert_eq!(line.path, "M89.6 83.0L156.8 8.0M291.2 120.5");
        assert_eq!(line.dots.len(), 1, "the lone point is a dot");
        assert_eq!(
            chart.summary,
            "Latency. p50: from 50 ms to 200 ms (highest Nov 25 12:01 UTC)."
        );
        let empty = layout(
            "Latency",
            Kind::Lines,
            Unit::Millis,
            axis(3, 60),
            &[series("p95", &[None, None, None])],
        );
        assert!(empty.lines[0].path.is_empty());
        assert_eq!(empty.summary, "Latency. p95: no data.");
    }

    #[test]
    fn time_ticks_fall_on_round_times() {
        let day = layout("x", Kind::Bars, Unit::Count, axis(96, 900), &[]);
        let labels: Vec<&str> = day.x_ticks.iter().map(|it| it.label.as_str()).collect();
        assert_eq!(labels, ["12:00", "18:00", "00:00", "06:00", "12:00"]);
        assert_eq!(day.x_ticks[0].anchor, "start");
        assert_eq!(day.x_ticks[4].anchor, "end");
        assert_eq!(day.x_ticks[2].anchor, "middle");
        let week = layout("x", Kind::Bars, Unit::Count, axis(168, 3_600), &[]);
        let labels: Vec<&str> = week.x_ticks.iter().map(|it| it.label.as_str()).collect();
        assert_eq!(labels, ["Nov 27", "Nov 29", "Dec 1"]);
        assert!(
            week.x_ticks
                .iter()
                .all(|it| it.at >= LEFT && it.at <= RIGHT)
        );
        let hour = layout("x", Kind::Bars, Unit::Count, axis(60, 60), &[]);
        assert_eq!(hour.x_ticks.len(), 5, "every 15 minutes");
    }

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(2.5), "2.5%");
        assert_eq!(percent(3.0), "3%");
        assert_eq!(percent(33.3333), "33%");
    }
}
