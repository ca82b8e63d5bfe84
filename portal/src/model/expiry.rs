//! "When does it expire?" as a select (never, in N days, on a date) and its conversion to the
//! `expires_at` the API takes. Shared by API keys and personal access tokens.

use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time};

/// The select's options: value and label.
pub const CHOICES: &[(&str, &str)] = &[
    ("never", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("date", "On a date…"),
];

/// Turns the select's value (and, for `date`, the date input's `YYYY-MM-DD`) into an expiry.
/// A date means the end of that day, UTC.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn expires_at(
    choice: &str,
    date: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, String> {
    match choice {
        "" | "never" => Ok(None),
        "date" => {
            let day = Date::parse(date.trim(), format_description!("[year]-[month]-[day]"))
                .map_err(|_| "Pick the date it should expire on.".to_owned())?;
            let at = day
                .with_time(Time::MIDNIGHT)
                .assume_utc()
                .saturating_add(Duration::days(1) - Duration::SECOND);
            if at <= now {
                return Err("Pick a date in the future.".into());
            }
            Ok(Some(at))
        }
        days => days
            .parse::<i64>()
            .ok()
            .filter(|it| (1..=3650).contains(it))
            .map(|it| Some(now + Duration::days(it)))
            .ok_or_else(|| "Choose when it expires.".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    #[test]
    fn choices_become_times() {
        assert_eq!(expires_at("never", "", NOW), Ok(None));
        assert_eq!(
            expires_at("30", "", NOW),
            Ok(Some(datetime!(2026-12-25 12:00 UTC)))
        );
        assert_eq!(
            expires_at("date", "2027-01-31", NOW),
            Ok(Some(datetime!(2027-01-31 23:59:59 UTC)))
        );
    }

    #[test]
    fn past_or_missing_dates_are_refused() {
        assert!(expires_at("date", "", NOW).is_err());
        assert_eq!(
            expires_at("date", "2026-11-24", NOW).unwrap_err(),
            "Pick a date in the future."
        );
        assert!(
            expires_at("date", "2026-11-25", NOW).is_ok(),
            "today still counts"
        );
        assert!(expires_at("0", "", NOW).is_err());
        assert!(expires_at("soon", "", NOW).is_err());
    }

    #[test]
    fn every_choice_is_understood() {
        for (value, _) in CHOICES {
            let date = if *value == "date" { "2030-01-01" } else { "" };
            assert!(expires_at(value, date, NOW).is_ok(), "{value}");
        }
    }
}
