//! Bills and finance exports: a period's statement (per tenant and model, from the rollups) and
//! its ledger entries as CSV and JSON, whose totals equal the ledger's to the nano-unit, late
//! replayed records included and replays never counted twice; who may see them; bad periods
//! and formats refused by field.

use domain::pricing::Money;
use domain::rollup::Grain;
use domain::{ApiKeyId, TenantId, UsageRecord, UsageStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use it::harness::TestApp;

use crate::manage::{Browser, assert_problem};

/// The mock model, priced (with the platform's markup), so every call has a price.
const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
model = "echo-1"

[pricing]
markup_percent = "12.5"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1.25"
output = "2.5"
"#;

async fn priced_app() -> TestApp {
    TestApp::builder().config(CONFIG).spawn().await
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// A record the way a replayed journal entry arrives: written late, for an earlier time.
fn late_record(tenant: TenantId, at: OffsetDateTime, nanos: i64) -> UsageRecord {
    let mut record = store::contract::usage(tenant, ApiKeyId::new(), at);
    record.prompt_tokens = 7;
    record.price = Some(Money::from_nanos(nanos));
    record.wholesale = None;
    record
}

/// The ledger's own sums of the tenant's billable records in `[from, to)`.
async fn ledger(
    app: &TestApp,
    tenant: TenantId,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> (u64, Money) {
    let records = app
        .store
        .usage_between(tenant, from, to, None, 100_000)
        .await
        .unwrap();
    let billable: Vec<&UsageRecord> = records
        .iter()
        .filter(|it| it.status != UsageStatus::Shadow)
        .collect();
    let price = billable
        .iter()
        .filter_map(|it| it.price)
        .fold(Money::ZERO, Money::saturating_add);
    (billable.len() as u64, price)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_and_statements_equal_the_ledger_with_late_records() {
    let app = priced_app().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Billed, \"Inc\"").await;
    let tenant_id: TenantId = tenant.parse().unwrap();
    let (_, key) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "web"}),
        )
        .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        let res = app
            .post_as(
                &secret,
                "/v1/chat/completions",
                &json!({"model": "mock", "messages": [{"role": "user", "content": "bill me"}]}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let now = OffsetDateTime::now_utc();
    let from = Grain::Day.floor(now) - time::Duration::days(2);
    let to = Grain::Minute.floor(now) + time::Duration::minutes(2);
    // Late records: replayed from a journal after the calls of today, for two days ago (one
    // of them a shadow mirror, never billed), and replayed again.
    let mut late: Vec<UsageRecord> = (0..3)
        .map(|i| {
            late_record(
                tenant_id,
                from + time::Duration::hours(i + 1),
                1_000_000_007 + i,
            )
        })
        .collect();
    late[2].status = UsageStatus::Shadow;
    assert!(
        it::harness::eventually(std::time::Duration::from_secs(10), || async {
            ledger(&app, tenant_id, from, to).await.0 == 6
        })
        .await
    );
    assert_eq!(app.store.insert_usage(&late).await.unwrap(), 3);
    assert_eq!(app.store.insert_usage(&late).await.unwrap(), 0, "a replay");
    let (entries, price) = ledger(&app, tenant_id, from, to).await;
    assert_eq!(
        entries, 8,
        "six calls and two late records; the mirror is not billed"
    );
    assert!(
        price.nanos() > 2_000_000_015,
        "the calls are priced too: {price}"
    );

    let period = format!("from={}&to={}", rfc3339(from), rfc3339(to));
    let base = format!("/api/v1/tenants/{tenant}/billing");

    // The statement: from the rollups, equal to the ledger.
    let (status, statement) = owner.get(&format!("{base}/statement?{period}")).await;
    assert_eq!(status, StatusCode::OK, "{statement}");
    assert_eq!(statement["totals"]["requests"], 8, "{statement}");
    assert_eq!(statement["totals"]["price"], price.to_string());
    assert!(
        statement["totals"].get("wholesale").is_none(),
        "a tenant's bill has no wholesale"
    );
    let part = &statement["tenants"][0];
    assert_eq!(part["tenant"], "Billed, \"Inc\"");
    let lines: Vec<(&str, u64)> = part["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["model"].as_str().unwrap(),
                it["figures"]["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [("gpt", 2), ("mock", 6)], "{statement}");

    // Corrections: a credit (by the platform's operator, the first account) lowers what is
    // owed; bad ones are refused by field and change nothing.
    let adjustments = format!("{base}/adjustments");
    let (status, credit) = owner
        .post(
            &adjustments,
            json!({"kind": "credit", "amount": "1.5", "currency": "USD",
                   "reason": "goodwill for the outage", "effective_at": rfc3339(from + time::Duration::hours(5))}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{credit}");
    assert_eq!(credit["amount"], "-1.5");
    assert_eq!(credit["author"], "owner@example.com");
    for (body, field) in [
        (
            json!({"kind": "refund", "amount": "1", "reason": "x"}),
            "kind",
        ),
        (
            json!({"kind": "credit", "amount": "-1", "reason": "x"}),
            "amount",
        ),
        (
            json!({"kind": "adjustment", "amount": "0", "reason": "x"}),
            "amount",
        ),
        (
            json!({"kind": "adjustment", "amount": "1e3", "reason": "x"}),
            "amount",
        ),
        (
            json!({"kind": "credit", "amount": "1", "currency": "EUR", "reason": "x"}),
            "currency",
        ),
        (
            json!({"kind": "credit", "amount": "1", "reason": "  "}),
            "reason",
        ),
        (
            json!({"kind": "credit", "amount": "1", "reason": "x", "effective_at": "2999-01-01T00:00:00Z"}),
            "effective_at",
        ),
        (
            json!({"kind": "credit", "amount": 1, "reason": "x"}),
            "amount",
        ),
        (
            json!({"kind": "credit", "amount": "1", "reason": "x", "approved": true}),
            "approved",
        ),
    ] {
        let (status, problem) = owner.post(&adjustments, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let (_, statement) = owner.get(&format!("{base}/statement?{period}")).await;
    let part = &statement["tenants"][0];
    assert_eq!(
        part["adjustments"].as_array().unwrap().len(),
        1,
        "{statement}"
    );
    assert_eq!(part["adjusted"], "-1.5");
    let due = Money::from_nanos(price.nanos() - 1_500_000_000);
    assert_eq!(part["due"], due.to_string());
    assert_eq!(statement["due"], due.to_string());

    // The printable page: the same bill, its texts escaped.
    let (status, content_type, _, page) = owner
        .get_text(&format!("{base}/statement.html?{period}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("Billed, &quot;Inc&quot;"), "{page}");
    assert!(page.contains(&format!("Total due: {due} USD")), "{page}");
    assert!(page.contains("goodwill for the outage"));

    // CSV: a header, a line per entry; the price column sums to the ledger's.
    let (status, content_type, disposition, csv_text) =
        owner.get_text(&format!("{base}/export?{period}")).await;
    assert_eq!(status, StatusCode::OK, "{csv_text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert!(
        disposition.starts_with("attachment; filename=\"usage-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|it| it == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    let summed = rows
        .iter()
        .map(|row| Money::parse(&row[column("price")]).unwrap())
        .fold(Money::ZERO, Money::saturating_add);
    assert_eq!(summed, price, "the export's total is the ledger's, exactly");
    assert!(
        rows.iter()
            .all(|row| &row[column("tenant")] == "Billed, \"Inc\"")
    );
    assert!(rows.iter().all(|row| &row[column("status")] != "shadow"));

    // JSON: the entries and their totals, equal to the ledger's.
    let (status, content_type, _, json_text) = owner
        .get_text(&format!("{base}/export?{period}&format=json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let document: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(document["entries"].as_array().unwrap().len(), 8);
    assert_eq!(document["totals"]["entries"], 8);
    assert_eq!(document["totals"]["price"], price.to_string());
    assert_eq!(document["currency"], "USD");
    assert_eq!(
        document["adjustments"].as_array().unwrap().len(),
        1,
        "{json_text}"
    );
    assert_eq!(document["adjustments"][0]["amount"], "-1.5");
    assert_eq!(document["totals"]["adjusted"], "-1.5");
    assert_eq!(document["totals"]["due"], due.to_string());

    // An empty period: a header alone, an empty list with zero totals.
    let empty = "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z";
    let (_, _, _, csv_text) = owner.get_text(&format!("{base}/export?{empty}")).await;
    assert_eq!(csv_text.lines().count(), 1, "{csv_text}");
    let (_, _, _, json_text) = owner
        .get_text(&format!("{base}/export?{empty}&format=json"))
        .await;
    let document: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(document["entries"], json!([]));
    assert_eq!(document["adjustments"], json!([]));
    assert_eq!(document["totals"]["price"], "0");
    assert_eq!(document["totals"]["due"], "0");

    // Bad periods and formats are refused by field, and nothing is exported.
    for (path, field) in [
        (
            "statement?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
        ),
        (
            "export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
        ),
        (
            "statement?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
            "from",
        ),
        (
            "export?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
            "from",
        ),
        (
            "statement?from=2026-01-01T00:00:30Z&to=2026-02-01T00:00:00Z",
            "from",
        ),
        ("statement?from=yesterday", "from"),
        ("export?format=xlsx", "format"),
        ("export?tenant=other", "query"),
    ] {
        let (status, body) = owner.get(&format!("{base}/{path}")).await;
        assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(body.to_string().contains(field), "{path}: {body}");
    }

    // An unknown tenant, and another tenant's bill, are not found.
    let stranger = Browser::join(&app, "stranger@example.com").await;
    for path in [
        format!("{base}/statement"),
        format!("{base}/export"),
        format!("/api/v1/tenants/{}/billing/export", TenantId::new()),
        "/api/v1/tenants/not-a-tenant/billing/statement".to_owned(),
    ] {
        let (status, body) = stranger.get(&path).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_sees_bills_developers_do_not() {
    let app = priced_app().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Roles").await;
    for (email, role, allowed) in [
        ("finance@example.com", "finance", true),
        ("dev@example.com", "developer", false),
        ("viewer@example.com", "viewer", false),
    ] {
        let (status, invitation) = owner
            .post(
                &format!("/api/v1/tenants/{tenant}/invitations"),
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invitation}");
        let token = invitation["url"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap();
        let member = Browser::join(&app, email).await;
        let (status, _) = member
            .post("/api/v1/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(status, StatusCode::OK);
        // Nobody corrects their own tenant's bill: operators and partners do.
        let (status, body) = member
            .post(
                &format!("/api/v1/tenants/{tenant}/billing/adjustments"),
                json!({"kind": "credit", "amount": "5", "reason": "mine"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        for path in ["statement", "export"] {
            let (status, _, _, body) = member
                .get_text(&format!("/api/v1/tenants/{tenant}/billing/{path}"))
                .await;
            if allowed {
                assert_eq!(status, StatusCode::OK, "{role} {path}: {body}");
            } else {
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_statement_shows_each_sub_tenant_with_wholesale_and_margin() {
    let app = priced_app().await;
    let world = crate::partners::world(&app).await;
    let partner = &world.partner;
    // The partner's rate card: 40 % over what the platform charges it.
    let (status, body) = world
        .admin
        .post(
            &format!("/api/v1/partners/{partner}/prices/markup"),
            json!({"percent": "40"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut secrets = Vec::new();
    for name in ["Customer One", "Customer Two"] {
        let id = world.sub_tenant(name).await;
        let (_, key) = world
            .admin
            .post(&format!("/api/v1/tenants/{id}/keys"), json!({"name": "k"}))
            .await;
        secrets.push(key["secret"].as_str().unwrap().to_owned());
    }
    for (calls, secret) in [(2, &secrets[0]), (1, &secrets[1])] {
        for _ in 0..calls {
            let res = app
                .post_as(
                    secret,
                    "/v1/chat/completions",
                    &json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}),
                )
                .await;
            assert_eq!(res.status(), 200);
        }
    }
    let path = format!("/api/v1/partners/{partner}/billing/statement");
    let mut statement = Value::Null;
    for _ in 0..100 {
        statement = world.admin.get(&path).await.1;
        if statement["totals"]["requests"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(statement["totals"]["requests"], 3, "{statement}");
    let parts: Vec<(&str, u64)> = statement["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["tenant"].as_str().unwrap(),
                it["totals"]["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(parts, [("Customer One", 2), ("Customer Two", 1)]);
    let totals = &statement["totals"];
    let money = |field: &str| Money::parse(totals[field].as_str().unwrap()).unwrap();
    assert!(money("wholesale") > Money::ZERO, "{statement}");
    assert_eq!(
        money("margin").nanos(),
        money("price").nanos() - money("wholesale").nanos(),
        "{statement}"
    );
    // Each line's retail price is its wholesale price marked up 40 %, so the margin is 40 %
    // of wholesale (to a nano-unit of rounding per call).
    let expected = money("wholesale").nanos() * 4 / 10;
    assert!(
        (money("margin").nanos() - expected).abs() <= 3,
        "margin {} for wholesale {}: {statement}",
        money("margin"),
        money("wholesale")
    );
    // The partner credits a customer: its part and the partner's total owe less.
    let customer = statement["tenants"][0]["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, credit) = world
        .admin
        .post(
            &format!("/api/v1/tenants/{customer}/billing/adjustments"),
            json!({"kind": "adjustment", "amount": "-0.25", "reason": "launch discount"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{credit}");
    let (_, statement) = world.admin.get(&path).await;
    assert_eq!(statement["tenants"][0]["adjusted"], "-0.25");
    assert_eq!(statement["tenants"][1]["adjusted"], "0");
    assert_eq!(statement["adjusted"], "-0.25");
    // The partner's export holds both sub-tenants' entries.
    let (status, _, _, csv_text) = world
        .admin
        .get_text(&format!("/api/v1/partners/{partner}/billing/export"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv_text.lines().count(), 4, "{csv_text}");
    // Another partner's administrator, or a tenant's owner, does not see it.
    let outsider = Browser::join(&app, "outsider@example.com").await;
    let (status, body) = outsider.get(&path).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
}

/// `sluice export` (run as the real binary on a stopped node's database): the JSON form's totals
/// equal its entries' sums, CSV goes to standard output, and bad arguments fail with a message
/// and leave no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sluice_export_writes_a_period_and_refuses_bad_arguments() {
    use std::process::Command;

    const NODE: &str = env!("CARGO_BIN_EXE_sluice-node");
    let data_dir = std::env::temp_dir().join(format!("sluice-export-{}", uuid::Uuid::now_v7()));
    let mut node = it::process::Node::start(NODE, &data_dir, CONFIG, &[]).await;
    let key = node.first_key();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..5 {
        let res = client
            .post(format!("{}/v1/chat/completions", node.url))
            .bearer_auth(&key)
            .json(&json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    node.terminate();
    assert!(
        node.exit_status(std::time::Duration::from_secs(30))
            .await
            .success()
    );

    let config = data_dir.join("export.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let today = OffsetDateTime::now_utc().date();
    let (from, to) = (
        (today - time::Duration::days(1)).to_string(),
        (today + time::Duration::days(1)).to_string(),
    );
    let export = |args: &[&str]| {
        Command::new(NODE)
            .arg("export")
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("SLUICE_DATA_DIR", &data_dir)
            .env_remove("SLUICE_DATABASE_URL")
            .output()
            .unwrap()
    };
    let file = data_dir.join("november.json");
    let file_text = file.to_str().unwrap();
    let out = export(&[
        "--tenant", "default", "--from", &from, "--to", &to, "--format", "json", "--output",
        file_text,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("exported 5 entries of default"), "{stderr}");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entries = document["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let summed = entries
        .iter()
        .map(|it| Money::parse(it["price"].as_str().unwrap()).unwrap())
        .fold(Money::ZERO, Money::saturating_add);
    assert!(summed.nanos() > 0);
    assert_eq!(document["totals"]["price"], summed.to_string());
    assert!(
        !data_dir.join("november.partial").exists(),
        "renamed when complete"
    );

    let out = export(&["--tenant", "default", "--from", &from, "--to", &to]);
    assert!(out.status.success());
    let csv_text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        csv_text.lines().count(),
        6,
        "a header and five entries: {csv_text}"
    );
    assert!(csv_text.starts_with("id,created_at,"));

    for (args, expected) in [
        (
            vec![
                "--tenant",
                "default",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-01",
            ],
            "`to` must be after `from`",
        ),
        (
            vec![
                "--tenant",
                "default",
                "--from",
                "2025-01-01",
                "--to",
                "2026-03-01",
            ],
            "at most 366 days",
        ),
        (
            vec!["--tenant", "nobody", "--from", &from, "--to", &to],
            "nobody",
        ),
        (
            vec!["--partner", "nobody", "--from", &from, "--to", &to],
            "no partner `nobody`",
        ),
        (
            vec![
                "--tenant", "default", "--from", &from, "--to", &to, "--format", "xml",
            ],
            "--format `xml`",
        ),
        (
            vec!["--tenant", "default", "--from", "yesterday", "--to", &to],
            "--from `yesterday`",
        ),
        (vec!["--from", &from, "--to", &to], "--tenant"),
    ] {
        let bad = data_dir.join("bad.csv");
        let mut with_output = args.clone();
        with_output.extend(["--output", bad.to_str().unwrap()]);
        let out = export(&with_output);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !bad.exists() && !data_dir.join("bad.partial").exists(),
            "{args:?}"
        );
    }
}
