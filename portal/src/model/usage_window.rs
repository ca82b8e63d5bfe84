//! What the dashboard asks the usage summary for: a time window (how far back, how wide its
//! buckets, and `from`/`to` aligned to whole buckets so that the buckets stay put while the page
//! refreshes itself) and the grouping of its breakdown.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A window the dashboard offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    Hour,
    #[default]
    Day,
    Week,
    Month,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Hour, Window::Day, Window::Week, Window::Month];

    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "Last hour",
            Window::Day => "Last 24 hours",
            Window::Week => "Last 7 days",
            Window::Month => "Last 30 days",
        }
    }

    /// A select's value.
    pub fn value(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }

    pub fn parse(value: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|it| it.value() == value)
    }

    pub fn span_seconds(self) -> i64 {
        match self {
            Window::Hour => 3_600,
            Window::Day => 86_400,
            Window::Week => 7 * 86_400,
            Window::Month => 30 * 86_400,
        }
    }

    /// 60 to 168 buckets: enough to see a shape, few enough to tell bars apart.
    pub fn bucket_seconds(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::Day => 900,
            Window::Week => 3_600,
            Window::Month => 21_600,
        }
    }

    /// The window ending with the bucket that holds `now`.
    pub fn range(self, now: OffsetDateTime) -> Range {
        let bucket = self.bucket_seconds();
        let now = now.unix_timestamp();
        let to = (now.div_euclid(bucket) + 1) * bucket;
        Range {
            from: to - self.span_seconds(),
            to,
            bucket_seconds: bucket,
        }
    }
}

/// What the breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    #[default]
    Model,
    Key,
    /// The experiment arm (a `split` model's deployments, or labelled ones).
    Variant,
}

impl Grouping {
    pub const ALL: [Grouping; 3] = [Grouping::Model, Grouping::Key, Grouping::Variant];

    /// The API's `group_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Model => "model",
            Grouping::Key => "key",
            Grouping::Variant => "variant",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grouping::Model => "By model",
            Grouping::Key => "By key",
            Grouping::Variant => "By variant",
        }
    }

    /// The breakdown's first column.
    pub fn column(self) -> &'static str {
        match self {
            Grouping::Model => "Model",
            Grouping::Key => "Key",
            Grouping::Variant => "Variant",
        }
    }
}

/// A summary's window in Unix seconds: `[from, to)` in buckets of `bucket_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub bucket_seconds: i64,
}

impl Range {
    /// `from` as RFC 3339, as the API takes it.
    pub fn from_rfc3339(self) -> String {
        rfc3339(self.from)
    }

    pub fn to_rfc3339(self) -> String {
        rfc3339(self.to)
    }
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|it| it.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn groupings_name_the_apis_group_by_and_their_column() {
        let shown: Vec<(&str, &str, &str)> = Grouping::ALL
            .iter()
            .map(|it| (it.as_str(), it.label(), it.column()))
            .collect();
        assert_eq!(
            shown,
            [
                ("model", "By model", "Model"),
                ("key", "By key", "Key"),
                ("variant", "By variant", "Variant"),
            ]
        );
    }

    #[test]
    fn windows_end_with_the_current_bucket() {
        let now = datetime!(2026-11-25 14:07:31 UTC);
        let range = Window::Day.range(now);
        assert_eq!(range.to_rfc3339(), "2026-11-25T14:15:00Z");
        assert_eq!(range.from_rfc3339(), "2026-11-24T14:15:00Z");
        assert_eq!(range.bucket_seconds, 900);
        let hour = Window::Hour.range(now);
        assert_eq!(hour.to_rfc3339(), "2026-11-25T14:08:00Z");
        assert_eq!((hour.to - hour.from) / hour.bucket_seconds, 60);
        assert_eq!(
            Window::Day.range(datetime!(2026-11-25 14:07:59 UTC)),
            range,
            "stable between refreshes"
        );
    }

    #[test]
    fn every_window_fits_the_apis_limits() {
        for window in Window::ALL {
            let range = window.range(datetime!(2026-01-01 0:00 UTC));
            let buckets = (range.to - range.from) / range.bucket_seconds;
            assert!((60..=2_000).contains(&buckets), "{window:?}: {buckets}");
            assert!(range.to - range.from <= 31 * 86_400);
            assert!(range.bucket_seconds >= 60);
            assert_eq!(Window::parse(window.value()), Some(window));
        }
        assert_eq!(Window::parse("1y"), None);
    }
}
