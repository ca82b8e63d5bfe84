//! The audit log's filter form (dates as the date inputs give them) and its conversion into
//! the API's query.

use time::macros::format_description;
use time::{Date, Duration};

use super::errors::FieldErrors;
use crate::api::paths::AuditQuery;

/// Events per page on the audit page.
pub const PAGE_SIZE: u32 = 25;

/// Action prefixes offered as suggestions (the field takes any prefix).
pub const ACTION_PREFIXES: &[&str] = &[
    "tenant.",
    "member.",
    "invitation.",
    "key.",
    "provider_credential.",
];

/// The filters as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditForm {
    pub action: String,
    /// A user id.
    pub actor: String,
    /// `YYYY-MM-DD`, from the start of that day (UTC).
    pub since: String,
    /// `YYYY-MM-DD`, up to the end of that day (UTC).
    pub until: String,
}

impl AuditForm {
    /// The first page's query.
    ///
    /// # Errors
    /// A message per field that cannot be understood.
    pub fn to_query(&self) -> Result<AuditQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let since = day(&self.since, 0, "since", &mut errors);
        let until = day(&self.until, 1, "until", &mut errors);
        if let (Some(since), Some(until)) = (&since, &until)
            && since >= until
        {
            errors.add("until", "The end date must not be before the start date.");
        }
        let actor = self.actor.trim();
        if !actor.is_empty() && actor.parse::<uuid::Uuid>().is_err() {
            errors.add("actor", "Enter a user id (a UUID), or leave it empty.");
        }
        errors.into_result(AuditQuery {
            action: Some(self.action.trim().to_owned()).filter(|it| !it.is_empty()),
            actor: Some(actor.to_owned()).filter(|it| !it.is_empty()),
            since,
            until,
            cursor: None,
            limit: PAGE_SIZE,
        })
    }
}

/// Midnight UTC at the start of `raw` plus `days_after` days, as RFC 3339.
fn day(raw: &str, days_after: i64, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match Date::parse(raw, format_description!("[year]-[month]-[day]")) {
        Ok(date) => date.checked_add(Duration::days(days_after)).and_then(|it| {
            it.format(format_description!("[year]-[month]-[day]T00:00:00Z"))
                .ok()
        }),
        Err(_) => {
            errors.add(field, "Enter a date like 2026-11-25.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_form_asks_for_everything() {
        assert_eq!(
            AuditForm::default().to_query(),
            Ok(AuditQuery {
                limit: PAGE_SIZE,
                ..AuditQuery::default()
            })
        );
    }

    #[test]
    fn dates_cover_whole_days() {
        let form = AuditForm {
            action: " key. ".into(),
            actor: "0190a0c2-0000-7000-8000-000000000001".into(),
            since: "2026-11-01".into(),
            until: "2026-11-30".into(),
        };
        let query = form.to_query().unwrap();
        assert_eq!(query.action.as_deref(), Some("key."));
        assert_eq!(query.since.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(query.until.as_deref(), Some("2026-12-01T00:00:00Z"));
    }

    #[test]
    fn bad_filters_are_named() {
        let form = AuditForm {
            actor: "ada".into(),
            since: "2026-12-01".into(),
            until: "2026-11-01".into(),
            ..AuditForm::default()
        };
        let errors = form.to_query().unwrap_err();
        assert!(errors.get("actor").is_some());
        assert!(errors.get("until").is_some());
        let form = AuditForm {
            since: "yesterday".into(),
            ..AuditForm::default()
        };
        assert!(form.to_query().unwrap_err().get("since").is_some());
    }
}
