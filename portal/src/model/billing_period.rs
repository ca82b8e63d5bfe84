//! The periods the billing pages offer: this calendar month, still running, and the eleven
//! before it. Months are UTC, as the API's default period and its daily rollups are, and each is
//! `[from, to)`: the first midnight of the month to the first of the next.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// How many months the picker offers, this one included: a year of statements.
pub const MONTHS_OFFERED: usize = 12;

/// One calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingPeriod {
    year: i32,
    month: Month,
}

impl BillingPeriod {
    /// The month `now` falls in, in UTC (a viewer east of Greenwich sees the new month start
    /// when the API does, not at their own midnight).
    pub fn containing(now: OffsetDateTime) -> Self {
        let utc = now.to_offset(UtcOffset::UTC);
        BillingPeriod {
            year: utc.year(),
            month: utc.month(),
        }
    }

    pub fn previous(self) -> Self {
        match self.month {
            Month::January => BillingPeriod {
                year: self.year - 1,
                month: Month::December,
            },
            month => BillingPeriod {
                year: self.year,
                month: month.previous(),
            },
        }
    }

    pub fn next(self) -> Self {
        match self.month {
            Month::December => BillingPeriod {
                year: self.year + 1,
                month: Month::January,
            },
            month => BillingPeriod {
                year: self.year,
                month: month.next(),
            },
        }
    }

    /// Midnight UTC on the month's first day.
    pub fn start(self) -> OffsetDateTime {
        Date::from_calendar_date(self.year, self.month, 1)
            .map(|day| day.midnight().assume_utc())
            // Only a year outside ±9999 has no first day; no clock is there.
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `from`, as the API takes it: `2026-12-01T00:00:00Z`.
    pub fn from_rfc3339(self) -> String {
        rfc3339(self.start())
    }

    /// `to` (excluded): the next month's start.
    pub fn to_rfc3339(self) -> String {
        rfc3339(self.next().start())
    }

    /// `December 2026`.
    pub fn label(self) -> String {
        format!("{} {}", self.month, self.year)
    }

    /// `2026-12`: a select's value.
    pub fn value(self) -> String {
        format!("{:04}-{:02}", self.year, u8::from(self.month))
    }

    /// A select's value back to the month.
    pub fn parse(value: &str) -> Option<Self> {
        let (year, month) = value.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
        Some(BillingPeriod {
            year: year.parse().ok()?,
            month,
        })
    }

    /// Whether the month is still running at `now`: its figures are not final.
    pub fn is_running(self, now: OffsetDateTime) -> bool {
        self == BillingPeriod::containing(now)
    }

    /// What the picker shows: "This month" for the running one, else the month's name.
    pub fn choice_label(self, now: OffsetDateTime) -> String {
        if self.is_running(now) {
            "This month".to_owned()
        } else {
            self.label()
        }
    }
}

/// The months offered at `now`, this one first (the default), then back one at a time.
pub fn offered(now: OffsetDateTime) -> Vec<BillingPeriod> {
    std::iter::successors(Some(BillingPeriod::containing(now)), |it| {
        Some(it.previous())
    })
    .take(MONTHS_OFFERED)
    .collect()
}

/// The picker's (value, label) pairs at `now`.
pub fn choices(now: OffsetDateTime) -> Vec<(String, String)> {
    offered(now)
        .into_iter()
        .map(|it| (it.value(), it.choice_label(now)))
        .collect()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_month_is_from_its_first_midnight_to_the_next_ones_in_utc() {
        let december = BillingPeriod::containing(datetime!(2026-12-14 09:30 UTC));
        assert_eq!(december.from_rfc3339(), "2026-12-01T00:00:00Z");
        assert_eq!(
            december.to_rfc3339(),
            "2027-01-01T00:00:00Z",
            "over the year's end"
        );
        assert_eq!(december.label(), "December 2026");
        let february = BillingPeriod::containing(datetime!(2028-02-29 23:59 UTC));
        assert_eq!(february.to_rfc3339(), "2028-03-01T00:00:00Z", "a leap year");
    }

    #[test]
    fn the_month_is_utcs_whatever_the_viewers_zone() {
        // Already 1 December in Berlin, still November in UTC.
        let now = datetime!(2026-12-01 00:30 +01:00);
        assert_eq!(BillingPeriod::containing(now).label(), "November 2026");
    }

    #[test]
    fn this_month_comes_first_then_the_eleven_before() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let shown = choices(now);
        assert_eq!(shown.len(), MONTHS_OFFERED);
        assert_eq!(shown[0], ("2026-03".to_owned(), "This month".to_owned()));
        assert_eq!(shown[1], ("2026-02".to_owned(), "February 2026".to_owned()));
        assert_eq!(shown[3], ("2025-12".to_owned(), "December 2025".to_owned()));
        assert_eq!(shown[11], ("2025-04".to_owned(), "April 2025".to_owned()));
        let periods = offered(now);
        for pair in periods.windows(2) {
            assert_eq!(
                pair[1].to_rfc3339(),
                pair[0].from_rfc3339(),
                "each ends where the next one shown starts: no gap, no overlap"
            );
        }
    }

    #[test]
    fn only_the_month_holding_now_is_running() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let this = BillingPeriod::containing(now);
        assert!(this.is_running(now));
        assert!(!this.previous().is_running(now));
        assert_eq!(this.previous().next(), this);
    }

    #[test]
    fn values_round_trip_through_the_select() {
        for period in offered(datetime!(2026-03-10 12:00 UTC)) {
            assert_eq!(BillingPeriod::parse(&period.value()), Some(period));
        }
        for bad in [
            "", "2026", "2026-13", "2026-00", "26-03", "2026-3", "abcd-03",
        ] {
            assert_eq!(BillingPeriod::parse(bad), None, "{bad}");
        }
    }
}
