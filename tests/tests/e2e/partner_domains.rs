//! Partner domains must be proved before they count, and mail about an account links to the
//! domain the account belongs to, never to the requester's host: the account takeover of issue
//! 16 (a partner adds any domain, asks for the operator's password reset with `Host` set to it,
//! and receives the genuine reset link) must fail. Proofs are TXT records served by a fake DNS
//! server over real UDP packets.

use it::fake_dns::FakeDns;
use it::harness::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::manage::{Browser, assert_problem};
use crate::partners::{HOST, World, app_with, branding, domain_in, verify, world};

/// The last mail to `to`: subject and body.
fn last_mail_to(app: &TestApp, to: &str) -> String {
    let mail = app
        .mailer
        .sent()
        .into_iter()
        .rfind(|it| it.to.as_str() == to)
        .unwrap_or_else(|| panic!("no mail to {to}"));
    format!("{}\n{}", mail.subject, mail.body)
}

/// An unauthenticated reset request for `email`, through whatever host headers are given.
async fn ask_reset(app: &TestApp, email: &str, headers: &[(&str, &str)]) {
    let mut req = app
        .client()
        .post(format!("{}/api/v1/auth/password-reset", app.url))
        .json(&json!({ "email": email }));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::ACCEPTED);
}

/// The operator creates a second partner administered by `email`, with no domain.
async fn rival(app: &TestApp, operator: &Browser, email: &str) -> (Browser, String) {
    let admin = Browser::join(app, email).await;
    let (status, partner) = operator
        .post(
            "/api/v1/partners",
            json!({
                "name": "Rival",
                "key_prefix": "sk-rival",
                "branding": branding("Rival AI", "#00aa00"),
                "admin_email": email,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    (admin, partner["id"].as_str().unwrap().to_owned())
}

async fn add_domain(browser: &Browser, partner: &str, host: &str) -> Value {
    let (status, body) = browser
        .post(
            &format!("/api/v1/partners/{partner}/domains"),
            json!({ "host": host }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    domain_in(&body, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_never_lands_on_a_domain_the_account_does_not_belong_to() {
    let dns = FakeDns::start().await;
    let app = app_with(&dns).await;
    let World { operator, .. } = world(&app).await;
    let (attacker, evil) = rival(&app, &operator, "mallory@evil.example").await;
    let public_url = app.manager.config().public_url.clone();
    let reset_link = format!("{public_url}/reset-password?token=");

    // The attack as reported: an unproved domain, the operator's address, forged host headers.
    let claim = add_domain(&attacker, &evil, "login.evil.example").await;
    assert_eq!(claim["status"], "pending");
    let forged = [
        ("host", "login.evil.example"),
        ("x-forwarded-host", "login.evil.example"),
        ("forwarded", "host=login.evil.example;proto=https"),
    ];
    ask_reset(&app, "operator@platform.example", &forged).await;
    let mail = last_mail_to(&app, "operator@platform.example");
    assert!(mail.contains(&reset_link), "{mail}");
    assert!(!mail.contains("evil"), "the link is the platform's: {mail}");

    // Proving its own domain does not help: the operator's account is not the partner's.
    dns.set_txt(
        claim["record_name"].as_str().unwrap(),
        &[claim["record_value"].as_str().unwrap()],
    );
    let (status, body) = verify(&attacker, &evil, "login.evil.example").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ask_reset(&app, "operator@platform.example", &forged).await;
    let mail = last_mail_to(&app, "operator@platform.example");
    assert!(mail.contains(&reset_link), "{mail}");
    assert!(!mail.contains("evil"), "{mail}");
    let token = mail
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(token.len(), 43, "{mail}");

    // Nor for the administrator of another partner, or a member of the platform's tenants.
    ask_reset(&app, "admin@acme.example", &forged).await;
    let mail = last_mail_to(&app, "admin@acme.example");
    assert!(
        mail.contains(&format!("http://{HOST}/reset-password?token=")),
        "{mail}"
    );
    assert!(
        mail.starts_with("Acme AI: "),
        "signed by its own partner: {mail}"
    );
    let member = Browser::join(&app, "dev@platform.example").await;
    member.create_tenant("platform customer").await;
    ask_reset(&app, "dev@platform.example", &forged).await;
    let mail = last_mail_to(&app, "dev@platform.example");
    assert!(mail.contains(&reset_link), "{mail}");

    // The attacker's own customers do get the attacker's proved domain: that is white-label.
    let (_, tenant) = attacker
        .post(
            &format!("/api/v1/partners/{evil}/tenants"),
            json!({"name": "Evil's customer"}),
        )
        .await;
    let tenant = tenant["id"].as_str().unwrap();
    let (status, invitation) = attacker
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "victim@customer.example", "role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    assert!(
        invitation["url"]
            .as_str()
            .unwrap()
            .starts_with("http://login.evil.example/accept-invitation?token="),
        "{invitation}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_is_verified_only_through_its_own_txt_record() {
    let dns = FakeDns::start().await;
    let app = app_with(&dns).await;
    let World {
        operator,
        admin,
        partner,
    } = world(&app).await;
    let host = "portal.acme.example";
    let claim = add_domain(&admin, &partner, host).await;
    let name = claim["record_name"].as_str().unwrap().to_owned();
    let value = claim["record_value"].as_str().unwrap().to_owned();
    assert_eq!(name, format!("_domain-verification.{host}"));
    assert!(
        value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "{value}"
    );
    assert!(
        !format!("{claim}").to_lowercase().contains("sluice"),
        "the record names no platform: {claim}"
    );

    // No record, then a wrong one: refused, saying what to publish.
    let (status, body) = verify(&admin, &partner, host).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "domain_not_verified",
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("no TXT record") && detail.contains(&name) && detail.contains(&value),
        "{detail}"
    );
    dns.set_txt(&name, &["v=spf1 -all", "0123456789abcdef0123456789abcdef"]);
    let (status, body) = verify(&admin, &partner, host).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "domain_not_verified",
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("does not hold this domain's value"),
        "{body}"
    );
    assert!(
        dns.queried().iter().all(|it| it == &name),
        "only the proof's name was asked for: {:?}",
        dns.queried()
    );

    // Another partner may claim the same host while it is unproved (nobody squats a domain by
    // claiming it first), but its record value is its own.
    let (rival_admin, rival) = rival(&app, &operator, "rival@rival.example").await;
    let rival_claim = add_domain(&rival_admin, &rival, host).await;
    assert_ne!(rival_claim["record_value"], claim["record_value"]);
    let (status, body) = verify(&rival_admin, &rival, host).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "domain_not_verified",
    );

    // The right value proves it; a second check changes nothing.
    dns.set_txt(&name, &["v=spf1 -all", &value]);
    let (status, proved) = verify(&admin, &partner, host).await;
    assert_eq!(status, StatusCode::OK, "{proved}");
    assert_eq!(proved["status"], "verified");
    let (status, again) = verify(&admin, &partner, host).await;
    assert_eq!(
        (status, &again["verified_at"]),
        (StatusCode::OK, &proved["verified_at"])
    );

    // Now the host is Acme's: the rival can neither prove nor claim it.
    dns.set_txt(
        &name,
        &[&value, rival_claim["record_value"].as_str().unwrap()],
    );
    let (status, body) = verify(&rival_admin, &rival, host).await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, body) = rival_admin
        .post(
            &format!("/api/v1/partners/{rival}/domains"),
            json!({ "host": HOST }),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, body) = verify(&rival_admin, &partner, host).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = verify(&admin, &partner, "unknown.acme.example").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    // Operators vouch for domains: added by one, a domain is verified at once, and adding a
    // pending one verifies it.
    let added = add_domain(&operator, &partner, "ops.acme.example").await;
    assert_eq!(added["status"], "verified");
    let pending = add_domain(&admin, &partner, "later.acme.example").await;
    assert_eq!(pending["status"], "pending");
    let vouched = add_domain(&operator, &partner, "later.acme.example").await;
    assert_eq!(vouched["status"], "verified");
    let (status, body) = admin
        .post(
            &format!("/api/v1/partners/{partner}/domains"),
            json!({ "host": "later.acme.example" }),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");

    // Every check is in the audit trail, failures included.
    let events = app
        .store
        .list_audit(
            &store::AuditFilter {
                action_prefix: Some("partner.verify_domain".into()),
                ..store::AuditFilter::default()
            },
            None,
            50,
        )
        .await
        .unwrap();
    let mut actions: Vec<&str> = events.iter().map(|it| it.entry.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "partner.verify_domain",
            "partner.verify_domain",
            "partner.verify_domain_failed",
            "partner.verify_domain_failed",
            "partner.verify_domain_failed",
        ],
        "two proofs (DNS, operator) and three failed checks"
    );
}
