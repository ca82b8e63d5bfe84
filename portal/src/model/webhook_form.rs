//! The "Budget alerts webhook" card: the URL as typed turned into the request (trimmed, not
//! empty; whether it is a public http(s) address is the server's check, whose message lands on
//! the same field), and how a receiver checks a delivery's signature, in a few words.

use api_types::limits::WebhookRequest;

use super::errors::FieldErrors;

/// The request for `url` as typed; `rotate` asks for a new signing secret.
///
/// # Errors
/// The message for the `url` field when it is empty.
pub fn request(url: &str, rotate: bool) -> Result<WebhookRequest, FieldErrors> {
    let url = url.trim();
    let mut errors = FieldErrors::new();
    if url.is_empty() {
        errors.add(
            "url",
            "Enter the address alerts are sent to, like https://example.com/hooks/budget.",
        );
    }
    errors.into_result(WebhookRequest {
        url: url.to_owned(),
        rotate_secret: rotate,
    })
}

/// How a receiver knows a delivery is genuine (Standard Webhooks).
pub const SIGNATURE_HELP: [&str; 3] = [
    "Each alert is a POST with the headers webhook-id, webhook-timestamp and webhook-signature (\"v1,\" then a base64 HMAC-SHA256).",
    "To check it, compute HMAC-SHA256 over \"{webhook-id}.{webhook-timestamp}.{body}\" with the secret's part after whsec_, base64-decoded, as the key, and compare it with the signature; refuse old timestamps. Standard Webhooks libraries do this for you.",
    "An alert not answered with 2xx within 10 s is sent again after 5 s, 30 s, 2 min, 15 min, 1 h, 4 h and 12 h.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_trimmed_and_required() {
        let request = request("  https://hooks.example.com/x \n", false).expect("valid");
        assert_eq!(request.url, "https://hooks.example.com/x");
        assert!(!request.rotate_secret);
        assert!(
            super::request("https://hooks.example.com/x", true)
                .expect("valid")
                .rotate_secret
        );
        let errors = super::request("   ", false).expect_err("empty");
        assert!(
            errors
                .get("url")
                .is_some_and(|it| it.starts_with("Enter the address"))
        );
    }

    #[test]
    fn the_signature_help_names_the_headers_and_the_key() {
        let help = SIGNATURE_HELP.join(" ");
        for word in [
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "whsec_",
        ] {
            assert!(help.contains(word), "{word}");
        }
    }
}
