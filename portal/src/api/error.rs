//! What went wrong with a call, and the one place that turns an `ErrorCode` into words a person
//! can act on. Pages show `ApiError::message` and `ApiError::field`; they never match on codes
//! to write their own sentences.

use api_types::ErrorCode;
use api_types::manage::{FieldError, Problem};

/// A failed management API call.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status; 0 when no answer arrived.
    pub status: u16,
    /// The problem's stable code, when the answer was a problem document.
    pub code: Option<ErrorCode>,
    /// The server's explanation (English, already written for people).
    pub detail: String,
    /// The fields that failed validation.
    pub fields: Vec<FieldError>,
    /// Seconds to wait, from `retry-after`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// From a `application/problem+json` body.
    pub fn from_problem(problem: Problem, retry_after: Option<u64>) -> Self {
        ApiError {
            status: problem.status,
            code: Some(problem.code),
            detail: problem.detail,
            fields: problem.errors,
            retry_after,
        }
    }

    /// A data-plane error: OpenAI's envelope `{"error": {"message", "type", "param", "code"}}`,
    /// as the body of a failed call or as an event that ends a stream. `None` for other JSON.
    pub fn from_openai(status: u16, body: &serde_json::Value) -> Option<Self> {
        let error = body.get("error")?;
        let detail = error.get("message")?.as_str()?.to_owned();
        let code = error
            .get("code")
            .and_then(|it| serde_json::from_value::<ErrorCode>(it.clone()).ok());
        Some(ApiError {
            status,
            // A code this portal does not know still has a message written for people.
            code: Some(code.unwrap_or(ErrorCode::UpstreamError)),
            detail,
            fields: Vec::new(),
            retry_after: None,
        })
    }

    /// A failed data-plane call from its status and body text.
    pub fn from_openai_text(status: u16, text: &str) -> Self {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|body| ApiError::from_openai(status, &body))
            .unwrap_or_else(|| {
                ApiError::unexpected(status, text.chars().take(200).collect::<String>())
            })
    }

    /// No answer: the network or the server is down.
    pub fn network(detail: impl Into<String>) -> Self {
        ApiError {
            status: 0,
            code: None,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// An answer that is not what the API promises (a proxy's error page, say).
    pub fn unexpected(status: u16, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code: None,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// Whether the caller has no (valid) session: the portal then goes to the sign-in page.
    pub fn is_unauthenticated(&self) -> bool {
        self.code == Some(ErrorCode::Unauthenticated)
    }

    /// Whether signing in failed only because the address is not verified yet (the sign-in
    /// page then offers a new link).
    pub fn needs_verification(&self) -> bool {
        self.code == Some(ErrorCode::EmailNotVerified)
    }

    /// Whether the address's organisation signs in only through single sign-on (the sign-in
    /// page then points at its buttons).
    pub fn needs_sso(&self) -> bool {
        self.code == Some(ErrorCode::SsoRequired)
    }

    /// The validation message for one field (`name`, or a nested `limits.tokens_per_minute`),
    /// shown next to that field.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|it| it.field == name || it.field.starts_with(&format!("{name}[")))
            .map(|it| sentence(&it.message))
    }

    /// The sentence to show for this error.
    pub fn message(&self) -> String {
        let detail = sentence(&self.detail);
        let Some(code) = self.code else {
            return if self.status == 0 {
                "Could not reach the server. Check your connection and try again.".to_owned()
            } else {
                format!(
                    "The server answered unexpectedly (HTTP {}). Try again in a moment.",
                    self.status
                )
            };
        };
        match code {
            ErrorCode::InvalidRequest if !self.fields.is_empty() => {
                "Please correct the highlighted fields.".to_owned()
            }
            ErrorCode::InvalidRequest => detail,
            ErrorCode::Unauthenticated => detail,
            ErrorCode::Forbidden => format!("Your role does not allow this. {detail}"),
            ErrorCode::EmailNotVerified => {
                "Please verify your email address first: follow the link in the email we sent you."
                    .to_owned()
            }
            ErrorCode::CsrfTokenMismatch => {
                "Your session's security token is out of date. Reload the page and try again."
                    .to_owned()
            }
            ErrorCode::NotFound => {
                "It does not exist any more, or you have no access to it.".to_owned()
            }
            ErrorCode::Conflict => detail,
            ErrorCode::TooManyRequests => match self.retry_after {
                Some(secs) => format!("Too many attempts. Try again in {}.", wait(secs)),
                None => "Too many attempts. Wait a little and try again.".to_owned(),
            },
            ErrorCode::ServiceUnavailable => {
                format!("The service is temporarily unavailable. {detail}")
            }
            ErrorCode::InternalError => {
                "Something went wrong on our side. Try again; if it keeps happening, tell your operator."
                    .to_owned()
            }
            ErrorCode::PayloadTooLarge => "That is too large to send.".to_owned(),
            // The detail names the provider ("… sign in with Okta").
            ErrorCode::SsoRequired => format!(
                "{detail} Use its single sign-on button on the sign-in page instead of a password."
            ),
            // The detail says what was found and what to publish.
            ErrorCode::DomainNotVerified => format!("The domain is not verified yet. {detail}"),
            // Codes of the data plane, and codes added after this portal was built.
            _ => {
                if detail.is_empty() {
                    format!("The request failed ({}).", code.as_str())
                } else {
                    detail
                }
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Why single sign-on failed, from the `sso_error` the backend puts on the sign-in page's URL
/// when it sends the browser back.
pub fn sso_error_message(code: &str) -> String {
    match code {
        "invalid_state" => {
            "The sign-in expired or was already used. Start again with the button below."
        }
        "denied" => "The sign-in was cancelled at the identity provider.",
        "exchange_failed" => {
            "The identity provider did not confirm the sign-in. Try again; if it keeps happening, tell your operator."
        }
        "invalid_identity" => {
            "The identity provider's answer could not be verified. Try again; if it keeps happening, tell your operator."
        }
        "email_not_verified" => {
            "The identity provider has not verified your email address. Verify it there, then try again."
        }
        "signup_closed" => {
            "There is no account with that address, and new accounts need an invitation. Ask a colleague to invite you."
        }
        "provider_unavailable" => {
            "The identity provider cannot be reached right now. Try again in a moment."
        }
        _ => "Single sign-on did not work. Try again.",
    }
    .to_owned()
}

/// The server writes lower-case clauses (`the email address or password is wrong`); the portal
/// shows sentences.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn wait(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(code: ErrorCode, status: u16, detail: &str) -> Problem {
        Problem {
            kind: String::new(),
            title: String::new(),
            status,
            detail: detail.into(),
            code,
            errors: Vec::new(),
            request_id: None,
        }
    }

    #[test]
    fn server_details_become_sentences() {
        let e = ApiError::from_problem(
            problem(
                ErrorCode::Unauthenticated,
                401,
                "the email address or password is wrong",
            ),
            None,
        );
        assert_eq!(e.message(), "The email address or password is wrong.");
        assert!(e.is_unauthenticated());
    }

    #[test]
    fn a_failed_domain_check_says_what_to_publish() {
        let e = ApiError::from_problem(
            problem(
                ErrorCode::DomainNotVerified,
                422,
                "no TXT record was found at `_domain-verification.ai.acme.example`; publish one with the value `abc` and try again",
            ),
            None,
        );
        assert_eq!(
            e.message(),
            "The domain is not verified yet. No TXT record was found at `_domain-verification.ai.acme.example`; publish one with the value `abc` and try again."
        );
    }

    #[test]
    fn codes_have_their_own_words() {
        let e = ApiError::from_problem(problem(ErrorCode::EmailNotVerified, 403, "x"), None);
        assert!(e.message().starts_with("Please verify your email"));
        assert!(e.needs_verification() && !e.is_unauthenticated());
        let e = ApiError::from_problem(problem(ErrorCode::CsrfTokenMismatch, 403, "x"), None);
        assert!(e.message().contains("Reload the page"));
        let e = ApiError::from_problem(
            problem(ErrorCode::Forbidden, 403, "only owners may invite owners"),
            None,
        );
        assert_eq!(
            e.message(),
            "Your role does not allow this. Only owners may invite owners."
        );
        let e = ApiError::from_problem(problem(ErrorCode::InternalError, 500, "db down"), None);
        assert!(!e.message().contains("db down"), "internals stay hidden");
    }

    #[test]
    fn sso_only_addresses_are_pointed_at_the_button() {
        let e = ApiError::from_problem(
            problem(
                ErrorCode::SsoRequired,
                403,
                "your organisation requires single sign-on: sign in with Okta",
            ),
            None,
        );
        assert!(e.needs_sso());
        assert_eq!(
            e.message(),
            "Your organisation requires single sign-on: sign in with Okta. Use its single sign-on button on the sign-in page instead of a password."
        );
    }

    #[test]
    fn every_sso_failure_has_its_words() {
        let codes = [
            "invalid_state",
            "denied",
            "exchange_failed",
            "invalid_identity",
            "email_not_verified",
            "signup_closed",
            "provider_unavailable",
        ];
        let fallback = sso_error_message("something_new");
        let mut seen = Vec::new();
        for code in codes {
            let words = sso_error_message(code);
            assert_ne!(words, fallback, "{code}");
            assert!(!words.contains('_'), "{code}: no codes on screen");
            assert!(!seen.contains(&words), "{code}: its own words");
            seen.push(words);
        }
    }

    #[test]
    fn rate_limits_say_how_long_to_wait() {
        let e = ApiError::from_problem(problem(ErrorCode::TooManyRequests, 429, ""), Some(5));
        assert_eq!(e.message(), "Too many attempts. Try again in 5 seconds.");
        let e = ApiError::from_problem(problem(ErrorCode::TooManyRequests, 429, ""), Some(900));
        assert_eq!(e.message(), "Too many attempts. Try again in 15 minutes.");
    }

    #[test]
    fn field_errors_are_found_by_name_and_index() {
        let mut p = problem(ErrorCode::InvalidRequest, 400, "bad");
        p.errors = vec![FieldError {
            field: "ip_allowlist[1]".into(),
            message: "`x` is not an IP address or CIDR network".into(),
        }];
        let e = ApiError::from_problem(p, None);
        assert_eq!(e.message(), "Please correct the highlighted fields.");
        assert_eq!(
            e.field("ip_allowlist").as_deref(),
            Some("`x` is not an IP address or CIDR network.")
        );
        assert_eq!(e.field("ip"), None);
    }

    #[test]
    fn data_plane_errors_show_the_servers_message() {
        let body = r#"{"error":{"message":"model `nope` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#;
        let e = ApiError::from_openai_text(404, body);
        assert_eq!(e.status, 404);
        assert_eq!(e.code, Some(ErrorCode::ModelNotFound));
        assert_eq!(e.message(), "Model `nope` does not exist.");
        let e = ApiError::from_openai_text(
            400,
            r#"{"error":{"message":"`max_tokens` must be at least 1","code":"invalid_request"}}"#,
        );
        assert_eq!(e.message(), "`max_tokens` must be at least 1.");
        let e = ApiError::from_openai_text(
            502,
            r#"{"error":{"message":"the upstream failed","code":"something_new"}}"#,
        );
        assert_eq!(e.message(), "The upstream failed.");
        let e = ApiError::from_openai_text(502, "<html>bad gateway</html>");
        assert!(e.message().contains("HTTP 502"));
        assert!(ApiError::from_openai(200, &serde_json::json!({"id": "x"})).is_none());
    }

    #[test]
    fn answers_without_a_problem_still_read_well() {
        assert!(
            ApiError::network("boom")
                .message()
                .starts_with("Could not reach")
        );
        assert!(
            ApiError::unexpected(502, "<html>")
                .message()
                .contains("HTTP 502")
        );
    }
}
