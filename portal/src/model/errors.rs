//! A form's per-field messages, keyed by the API's field names so that the server's
//! `errors[].field` and the portal's own checks land on the same input.

use crate::api::ApiError;

/// Messages for the fields of one form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors::default()
    }

    /// Records a message for `field` (the first one per field wins).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), message.into()));
        }
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no field failed.
    ///
    /// # Errors
    /// The messages, when any field failed.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The server's field messages, under the same names: a list's message both under the
    /// list (`deployments`, for a form that shows one message for it) and under the item's own
    /// path (`budgets[1].spend`, for a form with an input per item).
    pub fn from_api(error: &ApiError) -> Self {
        let mut out = FieldErrors::new();
        for it in &error.fields {
            let name = it.field.split('[').next().unwrap_or(&it.field);
            if let Some(message) = error.field(name) {
                out.add(name, message);
            }
            if name != it.field
                && let Some(message) = error.field(&it.field)
            {
                out.add(&it.field, message);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_per_field_wins() {
        let mut errors = FieldErrors::new();
        errors.add("name", "first");
        errors.add("name", "second");
        assert_eq!(errors.get("name").as_deref(), Some("first"));
        assert_eq!(errors.get("other"), None);
        assert!(errors.clone().into_result(()).is_err());
        assert_eq!(FieldErrors::new().into_result(1), Ok(1));
    }

    #[test]
    fn a_list_items_message_lands_on_the_list_and_on_the_item() {
        let problem: api_types::manage::Problem = serde_json::from_value(serde_json::json!({
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "code": "invalid_request",
            "detail": "`budgets[1].spend` has more than 6 decimal places",
            "errors": [
                { "field": "budgets[1].spend", "message": "has more than 6 decimal places" },
                { "field": "requests_per_minute", "message": "must be at least 1" },
            ],
        }))
        .unwrap();
        let errors = FieldErrors::from_api(&ApiError::from_problem(problem, None));
        assert!(errors.get("budgets").is_some());
        assert!(errors.get("budgets[1].spend").is_some());
        assert!(errors.get("requests_per_minute").is_some());
        assert_eq!(errors.get("budgets[0].spend"), None);
    }
}
