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

    /// The server's field messages, under the same names.
    pub fn from_api(error: &ApiError) -> Self {
        let mut out = FieldErrors::new();
        for it in &error.fields {
            let name = it.field.split('[').next().unwrap_or(&it.field);
            if let Some(message) = error.field(name) {
                out.add(name, message);
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
}
