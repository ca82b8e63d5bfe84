//! Invoices: drafted for an ended period, shown live, frozen and numbered when finalized (late
//! records and corrections then change nothing on it and are carried onto the next invoice
//! finalized, once), voided and reissued; who may write and read them; bad periods, ids and
//! reasons refused by field; the printable page.

use domain::pricing::Money;
use domain::{ApiKeyId, TenantId, UsageRecord};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use it::harness::TestApp;

use crate::isolation::invite;
use crate::manage::{Browser, assert_problem};

/// The mock model priced, and a 20 % tax shown on invoices.
const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
model = "echo-1"

[pricing]
tax_label = "VAT"
tax_percent = "20"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1.25"
output = "2.5"
"#;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// The first instant of the calendar month `months` before the current one (UTC).
fn month_start(months: i32) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let index = now.year() * 12 + i32::from(u8::from(now.month())) - 1 - months;
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap()).unwrap();
    time::Date::from_calendar_date(index.div_euclid(12), month, 1)
        .unwrap()
        .midnight()
        .assume_utc()
}

/// A record replayed from a journal: written now, for `at`.
fn record(tenant: TenantId, at: OffsetDateTime, nanos: i64) -> UsageRecord {
    let mut record = store::contract::usage(tenant, ApiKeyId::new(), at);
    record.price = Some(Money::from_nanos(nanos));
    record.wholesale = None;
    record
}

fn money(value: &Value) -> Money {
    Money::parse(value.as_str().unwrap()).unwrap()
}

/// 20 % on top, rounded half away from zero to the nano-unit.
fn taxed(amount: Money) -> Money {
    amount.marked_up(2_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_freeze_when_finalized_and_bill_late_usage_once() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    // The first account is the platform's operator: it writes bills.
    let operator = Browser::join(&app, "ops@example.com").await;
    let tenant = operator.create_tenant("Invoiced <Ltd>").await;
    let tenant_id: TenantId = tenant.parse().unwrap();
    let finance = invite(&operator, &app, &tenant, "finance@example.com", "finance").await;
    let developer = invite(&operator, &app, &tenant, "dev@example.com", "developer").await;
    let base = format!("/api/v1/tenants/{tenant}/billing/invoices");

    let (two_ago, last, this) = (month_start(2), month_start(1), month_start(0));
    let hour = time::Duration::hours(1);
    app.store
        .insert_usage(&[
            record(tenant_id, two_ago + hour, 2_000_000_001),
            record(tenant_id, two_ago + hour * 30, 3_000_000_000),
            record(tenant_id, last + hour, 5_000_000_000),
        ])
        .await
        .unwrap();

    // A draft for two months ago shows what the ledger holds, taxed.
    let (status, draft) = operator
        .post(
            &base,
            json!({"from": rfc3339(two_ago), "to": rfc3339(last)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert!(draft.get("number").is_none(), "{draft}");
    assert_eq!(draft["tenant"], "Invoiced <Ltd>");
    assert_eq!(draft["lines"][0]["figures"]["requests"], 2, "{draft}");
    assert_eq!(money(&draft["subtotal"]), Money::from_nanos(5_000_000_001));
    assert_eq!(draft["tax"]["label"], "VAT");
    assert_eq!(draft["tax"]["percent"], "20");
    assert_eq!(
        money(&draft["total"]),
        taxed(Money::from_nanos(5_000_000_001))
    );
    let first = draft["id"].as_str().unwrap().to_owned();

    // No second invoice over any part of it; a reversed, partial, uneven or future period is
    // refused by field.
    let (status, body) = operator
        .post(
            &base,
            json!({"from": rfc3339(two_ago + hour), "to": rfc3339(this)}),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    for (body, field) in [
        (json!({"from": rfc3339(last), "to": rfc3339(two_ago)}), "to"),
        (json!({"from": rfc3339(last)}), "to"),
        (json!({"to": rfc3339(last)}), "from"),
        (
            json!({"from": rfc3339(last + time::Duration::seconds(1)), "to": rfc3339(this)}),
            "from",
        ),
        (
            json!({"from": rfc3339(this + time::Duration::days(40)), "to": rfc3339(this + time::Duration::days(50))}),
            "from",
        ),
        (
            json!({"from": rfc3339(two_ago - time::Duration::days(400)), "to": rfc3339(two_ago)}),
            "from",
        ),
        (json!({"from": "last month", "to": rfc3339(this)}), "from"),
        (json!({"period": "last"}), "period"),
    ] {
        let (status, problem) = operator.post(&base, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }

    // Finance reads invoices; nobody in the tenant writes them; a developer sees none.
    let (status, listed) = finance.get(&base).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["invoices"][0]["id"], first.as_str());
    assert!(
        listed["invoices"][0].get("total").is_none(),
        "a draft's total moves"
    );
    let (status, body) = finance
        .post(&format!("{base}/{first}/finalize"), json!({}))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = finance.post(&base, json!({})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = developer.get(&format!("{base}/{first}")).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // Finalized: numbered and frozen.
    let (status, frozen) = operator
        .post(&format!("{base}/{first}/finalize"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{frozen}");
    assert_eq!(frozen["status"], "finalized");
    let number = frozen["number"].as_i64().unwrap();
    assert_eq!(frozen["total"], draft["total"]);
    let (status, body) = operator
        .post(&format!("{base}/{first}/finalize"), json!({}))
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");

    // A record replayed late and a credit dated back into its period change nothing on it.
    app.store
        .insert_usage(&[record(tenant_id, two_ago + hour * 2, 700_000_000)])
        .await
        .unwrap();
    let (status, credit) = operator
        .post(
            "/api/v1/tenants/{tenant}/billing/adjustments"
                .replace("{tenant}", &tenant)
                .as_str(),
            json!({"kind": "credit", "amount": "0.2", "reason": "slow week",
                   "effective_at": rfc3339(two_ago + hour * 3)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{credit}");
    let (_, again) = finance.get(&format!("{base}/{first}")).await;
    assert_eq!(again, frozen, "a finalized invoice never changes");
    let late = Money::from_nanos(700_000_000 - 200_000_000);

    // The next invoice carries them, once; a period that has not ended is not finalized.
    let (status, current) = operator
        .post(
            &base,
            json!({"from": rfc3339(this), "to": rfc3339(this + time::Duration::days(20))}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{current}");
    let current = current["id"].as_str().unwrap().to_owned();
    let (status, body) = operator
        .post(&format!("{base}/{current}/finalize"), json!({}))
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(body.to_string().contains("to"), "{body}");
    // Default period: the last calendar month.
    let (status, second) = operator.post(&base, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["from"], rfc3339(last));
    assert_eq!(second["to"], rfc3339(this));
    assert_eq!(money(&second["carried"]), late, "{second}");
    let second = second["id"].as_str().unwrap().to_owned();
    let (status, second) = operator
        .post(&format!("{base}/{second}/finalize"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert!(second["number"].as_i64().unwrap() > number);
    assert_eq!(
        money(&second["total"]),
        taxed(Money::from_nanos(5_000_000_000).saturating_add(late))
    );

    // Voided (with a reason) and reissued: the period is billed once more in full, and what
    // the voided one's successor carried for it is given back.
    let void = format!("{base}/{first}/void");
    for (body, field) in [
        (json!({"reason": " "}), "reason"),
        (json!({"reason": "x".repeat(501)}), "reason"),
        (json!({"reason": "bad\u{7}bell"}), "reason"),
        (json!({}), "reason"),
    ] {
        let (status, problem) = operator.post(&void, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let (status, body) = finance.post(&void, json!({"reason": "mine"})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, voided) = operator
        .post(&void, json!({"reason": "wrong rate card"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{voided}");
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["number"], number, "a void invoice keeps its number");
    assert_eq!(voided["total"], frozen["total"]);
    let (status, body) = operator.post(&void, json!({"reason": "again"})).await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, reissued) = operator
        .post(
            &base,
            json!({"from": rfc3339(two_ago), "to": rfc3339(last)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reissued}");
    let own = Money::from_nanos(5_000_000_001).saturating_add(late);
    assert_eq!(
        money(&reissued["subtotal"]),
        Money::from_nanos(5_700_000_001)
    );
    assert_eq!(
        money(&reissued["adjusted"]),
        Money::from_nanos(-200_000_000)
    );
    assert_eq!(
        money(&reissued["carried"]),
        Money::from_nanos(-late.nanos()),
        "{reissued}"
    );
    let reissued = reissued["id"].as_str().unwrap().to_owned();
    let (status, reissued) = operator
        .post(&format!("{base}/{reissued}/finalize"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reissued}");
    // Over the finalized invoices, every call and correction is billed exactly once.
    let (_, listed) = finance.get(&base).await;
    let billed = listed["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["status"] == "finalized")
        .map(|it| money(&it["total"]))
        .fold(Money::ZERO, Money::saturating_add);
    // The two periods' calls and corrections, 5.500000001 and 5, untaxed: billed as 5.5 (the
    // last month's with the late 0.5) and 5.000000001 (the reissue, which gives the 0.5 back).
    assert_eq!(own, Money::from_nanos(5_500_000_001));
    assert_eq!(
        billed,
        taxed(Money::from_nanos(5_500_000_000))
            .saturating_add(taxed(Money::from_nanos(5_000_000_001))),
        "{listed}"
    );
    let statuses: Vec<&str> = listed["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 4, "{listed}");
    assert_eq!(statuses[0], "draft", "latest period first: {listed}");

    // The printable page: the frozen figures, escaped, under a policy that forbids scripts.
    let (status, content_type, _, page) = finance
        .get_text(&format!("{base}/{first}/invoice.html"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains(&format!("Invoice {number} (void)")), "{page}");
    assert!(page.contains("Invoiced &lt;Ltd&gt;"), "{page}");
    assert!(page.contains("wrong rate card"), "{page}");

    // Unknown or malformed ids, and other tenants' invoices, are not found.
    let other = operator.create_tenant("Other").await;
    for path in [
        format!("{base}/{}", uuid::Uuid::nil()),
        format!("{base}/not-an-id"),
        format!("/api/v1/tenants/{other}/billing/invoices/{first}"),
    ] {
        let (status, body) = operator.get(&path).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
    let (status, body) = operator
        .post(
            &format!("/api/v1/tenants/{other}/billing/invoices/{first}/void"),
            json!({"reason": "not theirs"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_invoices_last_month_by_itself_once() {
    let config =
        format!("{CONFIG}\n[invoicing]\nmonthly = true\nafter_minutes = 0\ncheck_ms = 100\n");
    let app = TestApp::builder().config(&config).spawn().await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let (last, this) = (month_start(1), month_start(0));
    let old = |name: &str| {
        let mut tenant = domain::Tenant::new(name, last - time::Duration::days(3)).unwrap();
        tenant.created_at = last - time::Duration::days(3);
        tenant
    };
    let audit = || {
        domain::AuditEntry::new(
            None,
            domain::Actor::cli(),
            "test.tenant",
            OffsetDateTime::now_utc(),
        )
    };
    // A tenant with calls last month; one without; one invoiced by hand already; one that
    // did not exist yet.
    let (busy, idle, manual) = (old("busy"), old("idle"), old("manual"));
    for tenant in [&busy, &idle, &manual] {
        app.store.create_tenant(tenant, &audit()).await.unwrap();
    }
    let newcomer = operator.create_tenant("Newcomer").await;
    let records: Vec<UsageRecord> = [&busy, &manual, &manual]
        .iter()
        .chain([&busy].iter())
        .enumerate()
        .map(|(i, tenant)| {
            record(
                tenant.id,
                last + time::Duration::hours(i as i64 + 1),
                1_000_000_000,
            )
        })
        .collect();
    let (status, draft) = operator
        .post(
            &format!("/api/v1/tenants/{}/billing/invoices", manual.id),
            json!({"from": rfc3339(last), "to": rfc3339(this)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    app.store.insert_usage(&records).await.unwrap();
    let invoices = |tenant: String| {
        let operator = &operator;
        async move {
            let (status, list) = operator
                .get(&format!("/api/v1/tenants/{tenant}/billing/invoices"))
                .await;
            assert_eq!(status, StatusCode::OK, "{list}");
            list["invoices"].as_array().unwrap().clone()
        }
    };
    assert!(
        it::harness::eventually(std::time::Duration::from_secs(10), || async {
            invoices(busy.id.to_string())
                .await
                .first()
                .is_some_and(|it| it["status"] == "finalized")
        })
        .await,
        "the busy tenant is invoiced"
    );
    // Several more passes: still one invoice, by the system, for exactly last month.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let busy_invoices = invoices(busy.id.to_string()).await;
    assert_eq!(busy_invoices.len(), 1, "{busy_invoices:?}");
    let id = busy_invoices[0]["id"].as_str().unwrap();
    let (_, invoice) = operator
        .get(&format!(
            "/api/v1/tenants/{}/billing/invoices/{id}",
            busy.id
        ))
        .await;
    assert_eq!(invoice["created_by"], "system");
    assert_eq!(invoice["from"], rfc3339(last));
    assert_eq!(invoice["to"], rfc3339(this));
    assert_eq!(
        money(&invoice["subtotal"]),
        Money::from_nanos(2_000_000_000)
    );
    assert_eq!(
        money(&invoice["total"]),
        taxed(Money::from_nanos(2_000_000_000))
    );
    // Nothing to bill, a hand-made draft, a tenant born after the month: left alone.
    assert!(invoices(idle.id.to_string()).await.is_empty());
    let manual_invoices = invoices(manual.id.to_string()).await;
    assert_eq!(manual_invoices.len(), 1);
    assert_eq!(
        manual_invoices[0]["status"], "draft",
        "a person's draft is theirs to finalize"
    );
    assert!(invoices(newcomer).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchored_at_sign_up_each_tenant_is_invoiced_for_its_own_month() {
    let config = format!(
        "{CONFIG}\n[invoicing]\nmonthly = true\nanchor = \"sign_up\"\nafter_minutes = 0\ncheck_ms = 100\n"
    );
    let app = TestApp::builder().config(&config).spawn().await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let audit = || {
        domain::AuditEntry::new(
            None,
            domain::Actor::cli(),
            "test.tenant",
            OffsetDateTime::now_utc(),
        )
    };
    // Signed up on the 15th and on the 20th, two months ago, in the afternoon.
    let signed_up = |day: u8| {
        month_start(2)
            .replace_day(day)
            .unwrap()
            .replace_hour(15)
            .unwrap()
    };
    let tenant = |name: &str, day: u8| {
        let mut tenant = domain::Tenant::new(name, signed_up(day)).unwrap();
        tenant.created_at = signed_up(day);
        tenant
    };
    let (fifteenth, twentieth) = (tenant("fifteenth", 15), tenant("twentieth", 20));
    for tenant in [&fifteenth, &twentieth] {
        app.store.create_tenant(tenant, &audit()).await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let anchor = domain::invoice::BillingAnchor::SignUp;
    let (from, to) = anchor.last_ended(fifteenth.created_at, now);
    assert_eq!((from.day(), to.day()), (15, 15));
    assert_eq!((from.hour(), to.hour()), (0, 0), "from midnight, UTC");
    app.store
        .insert_usage(&[
            record(fifteenth.id, from + time::Duration::hours(1), 1_000_000_000),
            // Just before and at the period's end: the next period's, not this one's.
            record(fifteenth.id, to - time::Duration::minutes(1), 2_000_000_000),
            record(fifteenth.id, to, 4_000_000_000),
        ])
        .await
        .unwrap();
    let base = format!("/api/v1/tenants/{}/billing/invoices", fifteenth.id);
    assert!(
        it::harness::eventually(std::time::Duration::from_secs(10), || async {
            let (_, list) = operator.get(&base).await;
            list["invoices"][0]["status"] == "finalized"
        })
        .await,
        "the fifteenth's month is invoiced by itself"
    );
    let (_, list) = operator.get(&base).await;
    let invoice = &list["invoices"][0];
    assert_eq!(list["invoices"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(invoice["from"], rfc3339(from));
    assert_eq!(invoice["to"], rfc3339(to));
    assert_eq!(
        money(&invoice["total"]),
        taxed(Money::from_nanos(3_000_000_000))
    );

    // Drafted by hand without a period: the tenant's own last month, from the 20th.
    let other = format!("/api/v1/tenants/{}/billing/invoices", twentieth.id);
    let (_, list) = operator.get(&other).await;
    assert!(
        list["invoices"].as_array().unwrap().is_empty(),
        "nothing to bill: {list}"
    );
    let (status, draft) = operator.post(&other, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let (from, to) = anchor.last_ended(twentieth.created_at, OffsetDateTime::now_utc());
    assert_eq!((from.day(), to.day()), (20, 20));
    assert_eq!(draft["from"], rfc3339(from));
    assert_eq!(draft["to"], rfc3339(to));
}
