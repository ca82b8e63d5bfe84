//! Outgoing mail through a real SMTP conversation with a fake relay: verification, reset and
//! invitation mails arrive with their links; a relay that refuses is a clear error, and nothing
//! already accepted is lost.

use it::fake_smtp::FakeSmtp;
use it::harness::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::manage::{Browser, PASSWORD, assert_problem};

const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#;

fn link_in(data: &str) -> String {
    // Quoted-printable may fold long lines with `=`; undo that before looking for the link.
    let unfolded = data.replace("=\n", "").replace("=3D", "=");
    let start = unfolded.find("http").unwrap();
    unfolded[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_through_the_smtp_relay() {
    let smtp = FakeSmtp::start().await;
    let app = TestApp::builder()
        .config(CONFIG)
        .env(
            "SLUICE_SMTP_URL",
            &format!("smtp://127.0.0.1:{}", smtp.port),
        )
        .env("SLUICE_MAIL_FROM", "Gateway <no-reply@gateway.example>")
        .real_mailer()
        .spawn()
        .await;
    let browser = Browser::new(&app);
    let (status, body) = browser
        .post(
            "/api/v1/auth/signup",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].from, "<no-reply@gateway.example>");
    assert_eq!(mails[0].to, ["<ada@example.com>"]);
    assert!(
        mails[0].data.contains("Subject: Verify your email address"),
        "{}",
        mails[0].data
    );
    let link = link_in(&mails[0].data);
    let token = link.split("token=").nth(1).unwrap();
    let (status, body) = browser
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "the mailed link verifies: {body}");

    // A relay that refuses: a clear, retryable error; the account stays.
    smtp.refuse(true);
    let (status, body) = browser
        .post(
            "/api/v1/auth/signup",
            json!({"email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("could not be sent"),
        "{body}"
    );
    smtp.refuse(false);
    let (status, body) = browser
        .post(
            "/api/v1/auth/resend-verification",
            json!({"email": "bob@example.com"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert!(
        smtp.received()
            .iter()
            .any(|it| it.to == ["<bob@example.com>"]),
        "the account kept; a new link arrives"
    );
}
