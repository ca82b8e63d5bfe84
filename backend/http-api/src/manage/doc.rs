//! What the OpenAPI document says about errors, declared once for every management operation
//! instead of by each handler: the failures the shared steps of a handler (authentication, the
//! CSRF check, reading the body and the query, parsing path ids, the store) can produce, all as
//! `application/problem+json`.
//!
//! The steps are the same for every handler, and the document tells which ones a handler
//! takes: it is secured when it calls `caller`, has a request body when it calls `json`, and
//! path parameters when it parses ids. So each shared response is declared exactly where its
//! step runs, and never where it cannot happen.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// The media type of every management error (RFC 7807).
pub(super) const PROBLEM_JSON: &str = "application/problem+json";

/// Operations whose query parameters are not checked: an identity provider sends the browser
/// back with parameters of its own, so the SSO callback reads the ones it knows and ignores
/// the rest. Every other operation refuses unknown and invalid parameters with 400.
const LENIENT_QUERY: &[&str] = &["callback"];

/// The shared error responses, added to every operation under `/api/v1`.
pub(super) struct SharedErrors;

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let operations = [
                (false, &mut item.get),
                (true, &mut item.put),
                (true, &mut item.post),
                (true, &mut item.delete),
                (true, &mut item.patch),
            ];
            // Anyone may call these, a few requests at a time per address (`client_slots`).
            let slotted = path.starts_with("/api/v1/auth/");
            for (mutating, operation) in operations {
                if let Some(operation) = operation {
                    declare(operation, mutating, slotted);
                }
            }
        }
    }
}

/// What an operation's shape says about the steps its handler takes.
struct Shape {
    /// It authenticates the caller (`caller`).
    secured: bool,
    /// A session may call it, and it changes something: the CSRF check runs.
    csrf: bool,
    /// It reads a JSON body (`json`).
    body: bool,
    /// It parses ids from its path.
    path: bool,
    /// It refuses unknown or invalid query parameters (`query`).
    strict_query: bool,
}

impl Shape {
    fn of(operation: &Operation, mutating: bool) -> Self {
        let parameters = operation.parameters.as_deref().unwrap_or_default();
        let has = |place: ParameterIn| {
            parameters
                .iter()
                .any(|it| matches!(it, RefOr::T(it) if it.parameter_in == place))
        };
        // `SecurityRequirement` hides its map: its JSON names the schemes.
        let schemes = serde_json::to_value(&operation.security).unwrap_or_default();
        let schemes = schemes.as_array().map(Vec::as_slice).unwrap_or_default();
        let lenient = operation
            .operation_id
            .as_deref()
            .is_some_and(|id| LENIENT_QUERY.contains(&id));
        Shape {
            secured: !schemes.is_empty(),
            csrf: mutating && schemes.iter().any(|it| it.get("session").is_some()),
            body: operation.request_body.is_some(),
            path: has(ParameterIn::Path),
            strict_query: has(ParameterIn::Query) && !lenient,
        }
    }
}

/// Declares the shared responses of one operation, and moves the ones it declared itself to
/// `application/problem+json`.
fn declare(operation: &mut Operation, mutating: bool, slotted: bool) {
    let shape = Shape::of(operation, mutating);
    // An operation that declares its own 413 reads its body with a limit of its own.
    let own_limit = operation.responses.responses.contains_key("413");
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            as_problem_json(response);
        }
    }
    let mut add = |status: &str, description: &str| {
        let responses = &mut operation.responses.responses;
        match responses.get_mut(status) {
            Some(RefOr::T(existing)) => {
                // The handler's own causes come first; the shared one is one more.
                if !existing.description.contains(description) {
                    existing.description = format!("{}; or {description}", existing.description);
                }
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                responses.insert(status.to_owned(), RefOr::T(problem(description)));
            }
        }
    };
    if shape.body {
        add(
            "400",
            "the body is not valid JSON or has a wrong, missing or unknown field (`errors[].field` names it)",
        );
    }
    if shape.strict_query {
        add("400", "a query parameter is unknown or invalid");
    }
    if shape.secured {
        add(
            "401",
            "no valid session or access token (`Authorization: Bearer`)",
        );
    }
    if shape.csrf {
        add(
            "403",
            "signed in with a session, the `x-csrf-token` header is missing or wrong",
        );
    }
    if shape.path {
        add(
            "404",
            "a path id is malformed or names nothing the caller can see",
        );
    }
    if shape.body {
        add(
            "408",
            "the body arrived more slowly than the minimum rate; the connection is closed",
        );
        if !own_limit {
            add("413", "the body is larger than 64 KiB");
        }
        add(
            "415",
            "the body is not sent with `content-type: application/json`",
        );
    }
    if slotted {
        add(
            "429",
            "this address has too many requests in flight on these endpoints already (`retry-after`); the connection is closed",
        );
    }
    if shape.secured || shape.body || shape.path || shape.strict_query {
        // Each of those steps reaches the store, which can fail.
        add(
            "500",
            "an unexpected failure, such as the store's; logged with the request id",
        );
    }
}

/// A response whose body is a `Problem`.
fn problem(description: &str) -> Response {
    let mut response = Response::new(capitalized(description));
    response.content.insert(
        PROBLEM_JSON.to_owned(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
    );
    response
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Declares a handler's own `Problem` response with the media type it is sent with.
fn as_problem_json(response: &mut Response) {
    let is_problem = matches!(
        response.content.get("application/json"),
        Some(RefOr::T(Content { schema: Some(RefOr::Ref(it)), .. }))
            if it.ref_location == "#/components/schemas/Problem"
    );
    if is_problem && let Some(content) = response.content.shift_remove("application/json") {
        response.content.insert(PROBLEM_JSON.to_owned(), content);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::OpenApi as _;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(super::super::ApiDoc::openapi()).unwrap()
    }

    fn responses<'a>(
        doc: &'a Value,
        path: &str,
        method: &str,
    ) -> &'a serde_json::Map<String, Value> {
        doc["paths"][path][method]["responses"].as_object().unwrap()
    }

    #[test]
    fn every_management_error_is_problem_json() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if !status.starts_with(['4', '5']) {
                        continue;
                    }
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        [PROBLEM_JSON],
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    /// The shape is only as true as the annotations: a handler is secured exactly when it calls
    /// `caller`, and has a request body exactly when it calls `json`.
    #[test]
    fn annotations_match_the_steps_handlers_take() {
        let sources = [
            include_str!("accounts.rs"),
            include_str!("credentials.rs"),
            include_str!("explorer.rs"),
            include_str!("keys.rs"),
            include_str!("partners.rs"),
            include_str!("service_accounts.rs"),
            include_str!("sso.rs"),
            include_str!("tenants.rs"),
            include_str!("usage.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for handler in source.split("#[utoipa::path(").skip(1) {
                let (annotation, rest) = handler.split_once(")]\n").unwrap();
                let body = rest.split("\n}\n").next().unwrap();
                let name = rest.lines().next().unwrap_or_default();
                assert_eq!(
                    annotation.contains("security("),
                    body.contains("caller(&req, &state)"),
                    "{name}: declared security and the `caller` call disagree"
                );
                assert_eq!(
                    annotation.contains("request_body"),
                    body.contains("json(&req, payload)"),
                    "{name}: declared request body and the `json` call disagree"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 59, "every management handler is checked");
    }

    #[test]
    fn shared_errors_follow_the_steps_a_handler_takes() {
        let doc = document();
        let statuses = |path, method| {
            responses(&doc, path, method)
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        };
        // A secured change with a body and a path id: every step.
        assert_eq!(
            statuses("/api/v1/tenants/{tenant}/keys", "post"),
            "201 400 401 403 404 408 413 415 500"
        );
        // A secured read with a path id and a strict query: no CSRF, no body (403 is the
        // handler's own: the finance role may not see keys).
        assert_eq!(
            statuses("/api/v1/tenants/{tenant}/keys", "get"),
            "200 400 401 403 404 500"
        );
        // Public, with a body: no authentication.
        assert_eq!(
            statuses("/api/v1/auth/verify-email", "post"),
            "200 400 408 413 415 429 500"
        );
        // In-memory answers cannot fail.
        assert_eq!(statuses("/api/v1/branding", "get"), "200");
        // The SSO callback reads only the parameters it knows.
        assert_eq!(
            statuses("/api/v1/auth/sso/{provider}/callback", "get"),
            "302 404 429 500"
        );
        // The OAuth server keeps RFC 6749's errors.
        assert!(!responses(&doc, "/oauth/token", "post").contains_key("415"));
    }
}
