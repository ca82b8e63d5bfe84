//! Management errors on the wire: RFC 7807 problem details with a stable `code`, logged once.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use api_types::ErrorCode;
use api_types::manage::{FieldError, Problem};
use management::Error;

/// A management failure on its way to the caller.
#[derive(Debug)]
pub enum ApiProblem {
    /// A rule of the management plane.
    Manage(Error),
    /// The request body could not be read or decoded (shared with the data plane).
    Body(gateway::Error),
}

impl From<Error> for ApiProblem {
    fn from(e: Error) -> Self {
        ApiProblem::Manage(e)
    }
}

impl From<gateway::Error> for ApiProblem {
    fn from(e: gateway::Error) -> Self {
        ApiProblem::Body(e)
    }
}

impl std::fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiProblem::Manage(e) => e.fmt(f),
            ApiProblem::Body(e) => e.fmt(f),
        }
    }
}

impl ApiProblem {
    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiProblem::Body(e) => (
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.code(),
            ),
            ApiProblem::Manage(e) => match e {
                Error::Invalid { .. } => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
                Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
                Error::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
                Error::EmailNotVerified => (StatusCode::FORBIDDEN, ErrorCode::EmailNotVerified),
                Error::CsrfMismatch => (StatusCode::FORBIDDEN, ErrorCode::CsrfTokenMismatch),
                Error::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
                Error::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
                Error::TooManyRequests { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
                }
                Error::SsoRequired { .. } => (StatusCode::FORBIDDEN, ErrorCode::SsoRequired),
                Error::DomainNotVerified(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::DomainNotVerified,
                ),
                Error::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::ServiceUnavailable,
                ),
                Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError),
            },
        }
    }

    fn field(&self) -> Option<FieldError> {
        let (field, message) = match self {
            ApiProblem::Manage(Error::Invalid { field, message }) => {
                (field.clone(), message.clone())
            }
            ApiProblem::Body(e) => (e.param.clone().unwrap_or_default(), e.message.clone()),
            ApiProblem::Manage(_) => return None,
        };
        (!field.is_empty()).then_some(FieldError { field, message })
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        Problem {
            kind: format!("/api/v1/problems/{}", code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code,
            errors: self.field().into_iter().collect(),
            request_id: None,
        }
    }
}

impl ResponseError for ApiProblem {
    fn status_code(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiProblem::Manage(Error::Internal(cause)) => {
                tracing::error!(error = %cause, "management request failed");
            }
            other => tracing::debug!(error = %other, "management request refused"),
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let ApiProblem::Manage(Error::TooManyRequests { retry_after, .. }) = self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            res.insert_header((RETRY_AFTER, secs.max(1).to_string()));
        }
        res.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}
