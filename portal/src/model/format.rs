//! How values read on screen: times, roles, key hints, grace periods, audit actors.

use api_types::manage::{ActorView, RoleName};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `value` with `decimals` digits after the point, rounded half away from zero: `12.5`.
/// Written with integers because Rust's float formatting costs the bundle about 11 KB.
pub fn fixed(value: f64, decimals: u8) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let scale = 10_u64.pow(u32::from(decimals.min(6)));
    // Saturating: `as` clamps floats to the integer's range.
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = if value < 0.0 && scaled > 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{scaled}")
    } else {
        let width = usize::from(decimals.min(6));
        format!("{sign}{}.{:0width$}", scaled / scale, scaled % scale)
    }
}

/// `2026-11-25 14:03 UTC`: one unambiguous form, whatever the viewer's zone.
pub fn datetime(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// `2026-11-25 15:03` in the viewer's own time (`offset`: theirs at that moment), for times
/// that matter where they are, like when a limit resets.
pub fn local_datetime(at: OffsetDateTime, offset: UtcOffset) -> String {
    at.to_offset(offset)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default()
}

/// `2026-11-25`.
pub fn date(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// `14:03:22 UTC`: when something was last refreshed.
pub fn time_of_day(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!("[hour]:[minute]:[second] UTC"))
        .unwrap_or_default()
}

/// `in 3 days`, `5 minutes ago`, `just now`.
pub fn relative(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (at - now).whole_seconds();
    let abs = secs.unsigned_abs();
    let amount = match abs {
        0..=44 => return "just now".to_owned(),
        45..=5_399 => plural(abs.div_ceil(60).max(1), "minute"),
        5_400..=79_199 => plural((abs + 1_800) / 3_600, "hour"),
        79_200..=3_887_999 => plural((abs + 43_200) / 86_400, "day"),
        _ => return date(at),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Every role, most powerful first, for selects.
pub const ROLES: &[RoleName] = &[
    RoleName::Owner,
    RoleName::Admin,
    RoleName::Developer,
    RoleName::Finance,
    RoleName::Viewer,
];

/// The role's label.
pub fn role(role: RoleName) -> &'static str {
    match role {
        RoleName::Owner => "Owner",
        RoleName::Admin => "Admin",
        RoleName::Developer => "Developer",
        RoleName::Finance => "Finance",
        RoleName::Viewer => "Viewer",
    }
}

/// The role's wire name, as a select's value.
pub fn role_value(role: RoleName) -> &'static str {
    match role {
        RoleName::Owner => "owner",
        RoleName::Admin => "admin",
        RoleName::Developer => "developer",
        RoleName::Finance => "finance",
        RoleName::Viewer => "viewer",
    }
}

/// A select's value back to the role.
pub fn parse_role(value: &str) -> Option<RoleName> {
    ROLES.iter().copied().find(|it| role_value(*it) == value)
}

/// What a role may do, in a few words, for the invite form.
pub fn role_summary(role: RoleName) -> &'static str {
    match role {
        RoleName::Owner => "everything, including other owners",
        RoleName::Admin => "members, keys, provider keys, settings and the audit log",
        RoleName::Developer => "API keys and usage",
        RoleName::Finance => "usage, billing and the audit log",
        RoleName::Viewer => "read-only access",
    }
}

/// `sk-sluice-AbCd…wxyz`: enough to recognise a key, never enough to use it.
pub fn key_hint(prefix: &str, last_four: &str) -> String {
    format!("{prefix}…{last_four}")
}

/// How long a rotated key keeps working: value in seconds and label.
pub const GRACE_PERIODS: &[(u64, &str)] = &[
    (0, "Stop the old key now"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
];

/// Who did something, for the audit log.
pub fn actor(actor: &ActorView) -> String {
    match (&actor.label, &actor.id) {
        (Some(label), _) => label.clone(),
        (None, Some(id)) => format!("{} {id}", actor.kind),
        (None, None) => actor.kind.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(
            datetime(datetime!(2026-11-25 15:03 +01:00)),
            "2026-11-25 14:03 UTC"
        );
        assert_eq!(date(NOW), "2026-11-25");
        assert_eq!(
            local_datetime(datetime!(2026-11-25 23:30 UTC), time::macros::offset!(+2)),
            "2026-11-26 01:30"
        );
        assert_eq!(
            time_of_day(datetime!(2026-11-25 15:03:09 +01:00)),
            "14:03:09 UTC"
        );
    }

    #[test]
    fn fixed_points_round_half_away_from_zero() {
        assert_eq!(fixed(12.25, 1), "12.3");
        assert_eq!(fixed(12.0, 1), "12.0");
        assert_eq!(fixed(0.05, 1), "0.1");
        assert_eq!(fixed(-1.23456, 2), "-1.23");
        assert_eq!(fixed(-0.01, 1), "0.0");
        assert_eq!(fixed(1234.5, 0), "1235");
        assert_eq!(fixed(7.0, 3), "7.000");
        assert_eq!(fixed(f64::NAN, 1), "—");
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative(NOW + Duration::seconds(10), NOW), "just now");
        assert_eq!(relative(NOW - Duration::minutes(5), NOW), "5 minutes ago");
        assert_eq!(relative(NOW + Duration::hours(3), NOW), "in 3 hours");
        assert_eq!(relative(NOW + Duration::days(30), NOW), "in 30 days");
        assert_eq!(relative(NOW - Duration::days(1), NOW), "1 day ago");
        assert_eq!(relative(NOW + Duration::days(400), NOW), "2027-12-30");
    }

    #[test]
    fn roles_round_trip_through_selects() {
        for role in ROLES {
            assert_eq!(parse_role(role_value(*role)), Some(*role));
            let wire = serde_json::to_string(role).unwrap();
            assert_eq!(
                wire,
                format!("\"{}\"", role_value(*role)),
                "same as the API"
            );
        }
        assert_eq!(parse_role("root"), None);
    }

    #[test]
    fn actors_prefer_their_label() {
        let mut who = ActorView {
            kind: "user".into(),
            id: Some("u1".into()),
            label: Some("ada@example.com".into()),
        };
        assert_eq!(actor(&who), "ada@example.com");
        who.label = None;
        assert_eq!(actor(&who), "user u1");
        assert_eq!(key_hint("sk-sluice-AbCd", "wxyz"), "sk-sluice-AbCd…wxyz");
    }
}
