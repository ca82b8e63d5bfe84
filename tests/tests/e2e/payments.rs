//! Stripe (a fake over real HTTP, checking every request's path, fields and idempotency key):
//! a finalized invoice reaches it once — a customer, the invoice, an item per line and
//! correction, finalized — even when the answers to two of those requests are lost and the
//! sync is retried; prepaid tenants' invoices are kept back; signed notices mark invoices paid
//! or failed and top up prepaid credit once; an invoice unpaid past its due date and the grace
//! period stops the tenant's calls until it is paid; voiding withdraws an open invoice from
//! Stripe and refuses a paid one; a partner's sub-tenants' invoices reach the partner's one
//! customer at wholesale, which their own members never see; a prepaid tenant buys credit on
//! a checkout page whose payment tops it up once; bad signatures, old timestamps and bad fields are refused by
//! name.

use std::time::Duration;

use domain::pricing::Money;
use domain::{ApiKeyId, TenantId, UsageRecord};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use it::fake_stripe::{
    FakeStripe, SECRET_KEY, WEBHOOK_SECRET, event, invoice_object, payment_intent_object, signature,
};
use it::harness::{TestApp, eventually};

use crate::manage::{Browser, assert_problem};

const WEBHOOK: &str = "/api/v1/billing/stripe/webhook";

/// The mock model priced; Stripe at `stripe`, no grace after the due date, the sync loop left
/// to the test (it runs once at start, then hourly).
fn config(stripe: &FakeStripe) -> String {
    format!(
        r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
model = "echo-1"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1.25"
output = "2.5"

[stripe]
secret_key = "env:TEST_STRIPE_KEY"
webhook_secret = "env:TEST_STRIPE_WEBHOOK"
api_base = "{}"
since = "2000-01-01T00:00:00Z"
days_until_due = 30
grace_days = 0
sync_ms = 3600000
"#,
        stripe.url
    )
}

async fn spawn(stripe: &FakeStripe) -> TestApp {
    TestApp::builder()
        .config(config(stripe))
        .env("TEST_STRIPE_KEY", SECRET_KEY)
        .env("TEST_STRIPE_WEBHOOK", WEBHOOK_SECRET)
        .spawn()
        .await
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// The first instant of last calendar month and of this one (UTC).
fn last_month() -> (OffsetDateTime, OffsetDateTime) {
    let (this, _) = domain::invoice::calendar_month(OffsetDateTime::now_utc());
    let (last, _) = domain::invoice::calendar_month(this - time::Duration::days(1));
    (last, this)
}

fn record(tenant: TenantId, at: OffsetDateTime, model: &str, nanos: i64) -> UsageRecord {
    let mut record = store::contract::usage(tenant, ApiKeyId::new(), at);
    record.model_alias = model.to_owned();
    record.price = Some(Money::from_nanos(nanos));
    record.wholesale = None;
    record
}

/// A tenant with last month's usage on two models and a credit, invoiced and finalized.
async fn finalized_invoice(app: &TestApp, operator: &Browser, name: &str) -> (String, Value) {
    let tenant = operator.create_tenant(name).await;
    let tenant_id: TenantId = tenant.parse().unwrap();
    let (from, to) = last_month();
    let hour = time::Duration::hours(1);
    app.store
        .insert_usage(&[
            record(tenant_id, from + hour, "mock", 12_345_678_901),
            record(tenant_id, from + hour * 2, "other", 1_004_999_999),
        ])
        .await
        .unwrap();
    let (status, credit) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/billing/adjustments"),
            json!({"kind": "credit", "amount": "0.5", "reason": "outage on the 3rd",
                   "effective_at": rfc3339(from + hour * 3)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{credit}");
    let base = format!("/api/v1/tenants/{tenant}/billing/invoices");
    let (status, draft) = operator
        .post(&base, json!({"from": rfc3339(from), "to": rfc3339(to)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap();
    let (status, invoice) = operator
        .post(&format!("{base}/{id}/finalize"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    (tenant, invoice)
}

async fn notice(app: &TestApp, payload: &str, signature: Option<String>) -> (StatusCode, Value) {
    let mut request = app
        .client()
        .post(format!("{}{WEBHOOK}", app.url))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn signed(app: &TestApp, payload: &str) -> (StatusCode, Value) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    notice(app, payload, Some(signature(payload, WEBHOOK_SECRET, now))).await
}

async fn invoice_view(operator: &Browser, tenant: &str, id: &str) -> Value {
    let (status, view) = operator
        .get(&format!("/api/v1/tenants/{tenant}/billing/invoices/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalized_invoice_reaches_stripe_once_however_often_the_sync_is_cut_short() {
    let stripe = FakeStripe::start();
    let app = spawn(&stripe).await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let (tenant, invoice) = finalized_invoice(&app, &operator, "Collected Ltd").await;
    let id = invoice["id"].as_str().unwrap().to_owned();
    assert!(invoice.get("payment").is_none(), "not sent yet: {invoice}");

    // The answers to creating the invoice and to its second item are lost: Stripe acted, the
    // gateway was told it failed. Each pass stops there; the next resumes.
    stripe.lose_answer(2);
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!((done.sent, done.failed), (0, 1));
    assert_eq!(
        invoice_view(&operator, &tenant, &id).await["payment"]["status"],
        "sending"
    );
    stripe.lose_answer(3);
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!((done.sent, done.failed), (0, 1));
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!((done.sent, done.failed), (1, 0), "{:#?}", stripe.requests());
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!(done, management::payments::SentInvoices::default());

    // One of everything, in Stripe's shape.
    assert_eq!(stripe.problems(), Vec::<String>::new());
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_eq!(customers[0]["name"], "Collected Ltd");
    assert_eq!(
        customers[0]["metadata"]["sluice_tenant_id"],
        tenant.as_str()
    );
    let invoices = stripe.invoices();
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    let sent = &invoices[0];
    assert_eq!(sent["customer"], customers[0]["id"]);
    assert_eq!(sent["currency"], "usd");
    assert_eq!(sent["collection_method"], "send_invoice");
    assert_eq!(sent["days_until_due"], 30);
    assert_eq!(sent["auto_advance"], false);
    assert_eq!(sent["pending_invoice_items_behavior"], "exclude");
    assert_eq!(sent["metadata"]["sluice_invoice_id"], id.as_str());
    assert_eq!(
        sent["metadata"]["sluice_invoice_number"],
        invoice["number"].to_string().as_str()
    );
    assert_eq!(sent["status"], "open");
    // 12.345678901 → 1235, 1.004999999 → 100, −0.50 → −50; the rounding item brings the sum
    // to the total's cents (12.850678900 → 1285).
    let items = stripe.items();
    let amounts: Vec<i64> = items
        .iter()
        .map(|it| it["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![1235, 100, -50], "{items:?}");
    assert!(items.iter().all(|it| it["invoice"] == sent["id"]));
    assert_eq!(
        Money::parse(invoice["total"].as_str().unwrap()).unwrap(),
        Money::from_nanos(12_850_678_900)
    );
    assert_eq!(sent["total"], 1285);
    assert!(
        items[2]["description"]
            .as_str()
            .unwrap()
            .contains("outage on the 3rd")
    );

    // Every POST carried its own key; the retries were answered from Stripe's cache.
    let requests = stripe.requests();
    let posts: Vec<_> = requests.iter().filter(|it| it.method == "POST").collect();
    let keys: std::collections::HashSet<_> = posts
        .iter()
        .map(|it| it.idempotency_key.clone().unwrap())
        .collect();
    assert_eq!(
        keys.len(),
        6,
        "customer, invoice, three items, finalize: {posts:?}"
    );
    assert!(keys.contains(&format!("sluice-invoice-{id}-finalize")));
    assert_eq!(requests.iter().filter(|it| it.replayed).count(), 2);
    assert_eq!(
        posts
            .iter()
            .filter(|it| it.path == "/v1/invoiceitems")
            .map(|it| it.field("currency").unwrap())
            .collect::<Vec<_>>(),
        vec!["usd"; 4]
    );

    // The invoice shows how it is collected.
    let view = invoice_view(&operator, &tenant, &id).await;
    let payment = &view["payment"];
    assert_eq!(payment["status"], "open", "{view}");
    assert_eq!(
        payment["pay_url"],
        format!(
            "https://invoice.stripe.test/i/{}",
            sent["id"].as_str().unwrap()
        )
        .as_str()
    );
    assert!(payment["due_at"].is_string() && payment["suspend_at"].is_string());
    let (_, listed) = operator
        .get(&format!("/api/v1/tenants/{tenant}/billing/invoices"))
        .await;
    assert_eq!(listed["invoices"][0]["payment"]["status"], "open");

    // A prepaid tenant's invoice is a statement: kept back.
    let (prepaid, _) = {
        let tenant = operator.create_tenant("Prepaid Ltd").await;
        let (status, body) = operator
            .put(
                &format!("/api/v1/tenants/{tenant}/billing/credit"),
                json!({"stop_at_zero": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (tenant, ())
    };
    let tenant_id: TenantId = prepaid.parse().unwrap();
    let (from, to) = last_month();
    app.store
        .insert_usage(&[record(
            tenant_id,
            from + time::Duration::hours(1),
            "mock",
            3_000_000_000,
        )])
        .await
        .unwrap();
    let base = format!("/api/v1/tenants/{prepaid}/billing/invoices");
    let (_, draft) = operator
        .post(&base, json!({"from": rfc3339(from), "to": rfc3339(to)}))
        .await;
    let prepaid_invoice = draft["id"].as_str().unwrap().to_owned();
    let (status, _) = operator
        .post(&format!("{base}/{prepaid_invoice}/finalize"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!((done.sent, done.kept), (0, 1));
    assert_eq!(stripe.customers().len(), 1);
    assert_eq!(
        invoice_view(&operator, &prepaid, &prepaid_invoice).await["payment"]["status"],
        "prepaid"
    );

    // Voiding an open invoice voids it at Stripe first.
    let (status, voided) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/billing/invoices/{id}/void"),
            json!({"reason": "wrong customer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{voided}");
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["payment"]["status"], "void");
    assert_eq!(stripe.invoices()[0]["status"], "void");
    assert_eq!(stripe.problems(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_is_sent_its_sub_tenants_invoices_at_wholesale_under_one_customer() {
    let stripe = FakeStripe::start();
    let app = spawn(&stripe).await;
    let world = crate::partners::world(&app).await;
    let partner = world.partner.clone();
    let (from, to) = last_month();
    let hour = time::Duration::hours(1);
    let mut sub_tenants = Vec::new();
    // Retail (what the sub-tenant pays the partner) and wholesale (what the partner pays).
    for (name, retail, wholesale) in [
        ("Customer One", 5_000_000_000, 3_004_999_999),
        ("Customer Two", 2_000_000_000, 1_200_000_000),
    ] {
        let id = world.sub_tenant(name).await;
        let tenant_id: TenantId = id.parse().unwrap();
        let mut used = record(tenant_id, from + hour, "mock", retail);
        used.wholesale = Some(Money::from_nanos(wholesale));
        app.store.insert_usage(&[used]).await.unwrap();
        sub_tenants.push(id);
    }
    // The partner credits its first customer: between the two of them, not the platform.
    let first = &sub_tenants[0];
    let (status, body) = world
        .admin
        .post(
            &format!("/api/v1/tenants/{first}/billing/adjustments"),
            json!({"kind": "credit", "amount": "1", "reason": "welcome credit",
                   "effective_at": rfc3339(from + hour * 2)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut ids = Vec::new();
    for tenant in &sub_tenants {
        let base = format!("/api/v1/tenants/{tenant}/billing/invoices");
        let (status, draft) = world
            .admin
            .post(&base, json!({"from": rfc3339(from), "to": rfc3339(to)}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{draft}");
        let charge = &draft["partner_charge"];
        assert!(
            charge.is_object(),
            "a draft shows the partner's charge: {draft}"
        );
        let id = draft["id"].as_str().unwrap().to_owned();
        let (status, finalized) = world
            .admin
            .post(&format!("{base}/{id}/finalize"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{finalized}");
        ids.push((id, finalized));
    }
    let (_, first_invoice) = &ids[0];
    assert_eq!(first_invoice["total"], "4", "retail less the credit");
    assert_eq!(first_invoice["partner_charge"]["total"], "3.004999999");
    assert_eq!(
        first_invoice["partner_charge"]["lines"][0]["amount"],
        "3.004999999"
    );

    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!((done.sent, done.kept, done.failed), (2, 0, 0));
    assert_eq!(stripe.problems(), Vec::<String>::new());
    // One customer, the partner's, for both.
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_eq!(customers[0]["name"], "Acme");
    assert_eq!(
        customers[0]["metadata"]["sluice_partner_id"],
        partner.as_str()
    );
    let invoices = stripe.invoices();
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    for (sent, (id, _)) in invoices.iter().zip(&ids) {
        assert_eq!(sent["customer"], customers[0]["id"]);
        assert_eq!(sent["metadata"]["sluice_partner_id"], partner.as_str());
        assert_eq!(sent["metadata"]["sluice_invoice_id"], id.as_str());
    }
    assert!(
        invoices[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Customer One, invoice"),
        "{invoices:?}"
    );
    // At wholesale, to the cent, with no trace of the partner's own credit.
    assert_eq!(invoices[0]["total"], 300);
    assert_eq!(invoices[1]["total"], 120);
    assert!(
        stripe
            .items()
            .iter()
            .all(|it| !it["description"].as_str().unwrap().contains("welcome")),
        "{:?}",
        stripe.items()
    );

    // The partner sees what it pays and how its payment stands; paying settles it.
    let (status, listed) = world
        .admin
        .get(&format!("/api/v1/partners/{partner}/billing/invoices"))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let rows = listed["invoices"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    let row = rows
        .iter()
        .find(|it| it["tenant"] == "Customer One")
        .unwrap();
    assert_eq!(row["invoice"]["total"], "4");
    assert_eq!(row["invoice"]["partner_total"], "3.004999999");
    assert_eq!(row["invoice"]["payment"]["status"], "open");
    assert!(row["invoice"]["payment"]["pay_url"].is_string(), "{row}");
    let paid = event(
        "invoice.paid",
        invoice_object(
            invoices[0]["id"].as_str().unwrap(),
            customers[0]["id"].as_str().unwrap(),
            "usd",
        ),
    );
    let (status, body) = signed(&app, &paid).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true, "{body}");
    let view = invoice_view(&world.admin, first, &ids[0].0).await;
    assert_eq!(view["payment"]["status"], "paid", "{view}");

    // The sub-tenant's own members see their invoice from the partner, not the partner's.
    let finance = crate::isolation::invite(
        &world.admin,
        &app,
        first,
        "finance@customer-one.example",
        "finance",
    )
    .await;
    let view = invoice_view(&finance, first, &ids[0].0).await;
    assert_eq!(view["total"], "4");
    assert!(view.get("partner_charge").is_none(), "{view}");
    assert_eq!(view["payment"], json!({"status": "partner"}), "{view}");
    let (status, listed) = finance
        .get(&format!("/api/v1/tenants/{first}/billing/invoices"))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(
        listed["invoices"][0].get("partner_total").is_none(),
        "{listed}"
    );
    assert_eq!(listed["invoices"][0]["payment"]["status"], "partner");
    let (status, body) = finance
        .get(&format!("/api/v1/partners/{partner}/billing/invoices"))
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_mark_invoices_paid_suspend_the_unpaid_and_top_up_credit_once() {
    let stripe = FakeStripe::start();
    // Due as soon as it is finalized; no grace: unpaid means refused at once.
    stripe.due_in(-60);
    let app = spawn(&stripe).await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let (tenant, invoice) = finalized_invoice(&app, &operator, "Late Payer").await;
    let id = invoice["id"].as_str().unwrap().to_owned();
    let (_, key) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "k"}),
        )
        .await;
    let key = key["secret"].as_str().unwrap().to_owned();
    let call = |key: String| {
        let app = &app;
        async move {
            let res = app
                .post_as(
                    &key,
                    "/v1/chat/completions",
                    &json!({"model": "mock", "max_tokens": 5,
                            "messages": [{"role": "user", "content": "hi"}]}),
                )
                .await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(call(key.clone()).await.0, 200);

    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!(done.sent, 1);
    let provider_invoice = stripe.invoices()[0]["id"].as_str().unwrap().to_owned();
    let (status, refused) = call(key.clone()).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "tenant_suspended", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unpaid"),
        "{refused}"
    );

    // Refused notices change nothing, each named.
    let paid = event(
        "invoice.paid",
        invoice_object(&provider_invoice, "cus_1", "usd"),
    );
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (signature, field) in [
        (None, "stripe-signature"),
        (Some("t=1,v1=00".to_owned()), "stripe-signature"),
        (
            Some(signature(&paid, "whsec_someone_else", now)),
            "stripe-signature",
        ),
        (
            Some(signature(&paid, WEBHOOK_SECRET, now - 600)),
            "stripe-signature",
        ),
        (
            Some(signature(&paid, WEBHOOK_SECRET, now + 600)),
            "stripe-signature",
        ),
        (Some("garbage".to_owned()), "stripe-signature"),
    ] {
        let (status, problem) = notice(&app, &paid, signature.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            problem.to_string().contains(field),
            "{signature:?}: {problem}"
        );
    }
    let (status, problem) = signed(&app, "{\"id\": \"evt_1\", \"object\": \"event\"").await;
    assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(problem.to_string().contains("body"), "{problem}");
    assert_eq!(call(key.clone()).await.0, 403);

    // A failed payment keeps it due; the payment lifts the suspension at once; the same
    // notice again, or a late failure, changes nothing.
    let failed = event(
        "invoice.payment_failed",
        invoice_object(&provider_invoice, "cus_1", "usd"),
    );
    let (status, outcome) = signed(&app, &failed).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome, json!({"outcome": "invoice", "changed": true}));
    assert_eq!(
        invoice_view(&operator, &tenant, &id).await["payment"]["status"],
        "failed"
    );
    assert_eq!(call(key.clone()).await.0, 403);
    let (status, outcome) = signed(&app, &paid).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome, json!({"outcome": "invoice", "changed": true}));
    assert_eq!(call(key.clone()).await.0, 200);
    let view = invoice_view(&operator, &tenant, &id).await;
    assert_eq!(view["payment"]["status"], "paid");
    assert!(view["payment"]["paid_at"].is_string());
    for again in [&paid, &failed] {
        let (status, outcome) = signed(&app, again).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(outcome["changed"], false);
    }
    assert_eq!(
        invoice_view(&operator, &tenant, &id).await["payment"]["status"],
        "paid"
    );
    // The tenant's audit log shows what Stripe said, once each.
    let (status, events) = operator
        .get(&format!("/api/v1/tenants/{tenant}/audit-events?limit=200"))
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|it| it["action"].as_str())
        .filter(|it| it.starts_with("billing.payment."))
        .collect();
    assert_eq!(
        actions,
        vec!["billing.payment.paid", "billing.payment.failed"],
        "{events}"
    );
    // Someone else's invoice on the same Stripe account; an event of no interest.
    let (_, outcome) = signed(
        &app,
        &event("invoice.paid", invoice_object("in_other", "cus_9", "usd")),
    )
    .await;
    assert_eq!(outcome["outcome"], "ignored");
    let (_, outcome) = signed(
        &app,
        &event(
            "customer.created",
            json!({"id": "cus_9", "object": "customer",
                                           "created": now, "livemode": false}),
        ),
    )
    .await;
    assert_eq!(outcome["outcome"], "ignored");

    // A paid invoice is not voided.
    let (status, problem) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/billing/invoices/{id}/void"),
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    // A payment tagged with the tenant tops up its prepaid credit, once.
    let top_up = event(
        "payment_intent.succeeded",
        payment_intent_object("pi_42", 2_500, "usd", json!({"sluice_tenant_id": tenant})),
    );
    let (status, outcome) = signed(&app, &top_up).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome, json!({"outcome": "top_up", "changed": true}));
    let (_, outcome) = signed(&app, &top_up).await;
    assert_eq!(outcome, json!({"outcome": "top_up", "changed": false}));
    let (_, credit) = operator
        .get(&format!("/api/v1/tenants/{tenant}/billing/credit"))
        .await;
    let top_ups = credit["top_ups"].as_array().unwrap();
    assert_eq!(top_ups.len(), 1, "{credit}");
    assert_eq!(top_ups[0]["amount"], "25");
    assert_eq!(top_ups[0]["reference"], "pi_42");
    assert_eq!(top_ups[0]["author"], "stripe");
    // In another currency, for no tenant, or for a tenant that does not exist: refused by name.
    for (intent, field) in [
        (
            payment_intent_object("pi_43", 100, "eur", json!({"sluice_tenant_id": tenant})),
            "data.object.currency",
        ),
        (
            payment_intent_object("pi_44", 100, "usd", json!({"sluice_tenant_id": "nobody"})),
            "data.object.metadata.sluice_tenant_id",
        ),
        (
            payment_intent_object(
                "pi_45",
                100,
                "usd",
                json!({"sluice_tenant_id": TenantId::new().to_string()}),
            ),
            "data.object.metadata.sluice_tenant_id",
        ),
    ] {
        let (status, problem) = signed(&app, &event("payment_intent.succeeded", intent)).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{problem}");
    }
    // A payment not tagged with a tenant is an invoice's own.
    let (_, outcome) = signed(
        &app,
        &event(
            "payment_intent.succeeded",
            payment_intent_object("pi_46", 100, "usd", json!({})),
        ),
    )
    .await;
    assert_eq!(outcome["outcome"], "ignored");
    let (_, credit) = operator
        .get(&format!("/api/v1/tenants/{tenant}/billing/credit"))
        .await;
    assert_eq!(credit["top_ups"].as_array().unwrap().len(), 1);
    assert!(
        eventually(Duration::from_secs(5), || async {
            stripe.problems().is_empty()
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stripe_the_webhook_is_not_found_and_invoices_are_not_sent() {
    let app = TestApp::builder().spawn().await;
    let payload = event("invoice.paid", invoice_object("in_1", "cus_1", "usd"));
    let (status, problem) = signed(&app, &payload).await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    assert!(problem.to_string().contains("not configured"), "{problem}");
    let done = app.manager.send_invoices().await.unwrap();
    assert_eq!(done, management::payments::SentInvoices::default());

    // Nor is credit bought by card.
    let operator = Browser::join(&app, "ops@example.com").await;
    let tenant = operator.create_tenant("Prepaid Ltd").await;
    let base = format!("/api/v1/tenants/{tenant}/billing/credit");
    let (status, credit) = operator.put(&base, json!({"stop_at_zero": true})).await;
    assert_eq!(status, StatusCode::OK, "{credit}");
    assert_eq!(credit["can_pay"], false);
    let (status, problem) = operator
        .post(&format!("{base}/checkout"), json!({"amount": "25"}))
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    assert!(problem.to_string().contains("not configured"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepaid_tenant_buys_credit_on_a_checkout_page_and_its_payment_tops_it_up_once() {
    let stripe = FakeStripe::start();
    let app = spawn(&stripe).await;
    let world = crate::partners::world(&app).await;
    let operator = &world.operator;
    let tenant = operator.create_tenant("Prepaid Ltd").await;
    let base = format!("/api/v1/tenants/{tenant}/billing/credit");
    let checkout = format!("{base}/checkout");
    // Billed afterwards: nothing to buy.
    let (_, credit) = operator.get(&base).await;
    assert_eq!(credit["can_pay"], false, "{credit}");
    let (status, problem) = operator.post(&checkout, json!({"amount": "25"})).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    assert!(
        problem.to_string().contains("billed afterwards"),
        "{problem}"
    );
    let (status, _) = operator.put(&base, json!({"stop_at_zero": true})).await;
    assert_eq!(status, StatusCode::OK);

    // Finance buys it; developers may not see billing at all.
    let finance = crate::isolation::invite(
        operator,
        &app,
        &tenant,
        "finance@prepaid.example",
        "finance",
    )
    .await;
    let developer =
        crate::isolation::invite(operator, &app, &tenant, "dev@prepaid.example", "developer").await;
    let (status, problem) = developer.post(&checkout, json!({"amount": "25"})).await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let (_, credit) = finance.get(&base).await;
    assert_eq!(credit["can_pay"], true, "{credit}");

    // Bad amounts and currencies are refused by name, and nothing reaches Stripe.
    for (body, field) in [
        (json!({"amount": "0"}), "amount"),
        (json!({"amount": "-5"}), "amount"),
        (json!({"amount": "12.345"}), "amount"),
        (json!({"amount": "0.49"}), "amount"),
        (json!({"amount": "1000000"}), "amount"),
        (json!({"amount": "1e3"}), "amount"),
        (json!({"amount": "٢٥"}), "amount"),
        (json!({"amount": "25", "currency": "EUR"}), "currency"),
    ] {
        let (status, problem) = finance.post(&checkout, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let (status, problem) = finance
        .post(&checkout, json!({"amount": "25", "tip": "1"}))
        .await;
    assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(stripe.checkouts().is_empty());

    let (status, page) = finance.post(&checkout, json!({"amount": "25.5"})).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert_eq!(
        page["url"], "https://checkout.stripe.test/c/pay/cs_test_1",
        "{page}"
    );
    assert!(page["expires_at"].is_string(), "{page}");
    assert_eq!(stripe.problems(), Vec::<String>::new());
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1, "the tenant's customer: {customers:?}");
    assert_eq!(
        customers[0]["metadata"]["sluice_tenant_id"],
        tenant.as_str()
    );
    let session = &stripe.checkouts()[0];
    assert_eq!(session["customer"], customers[0]["id"]);
    assert_eq!(session["amount_total"], 2_550);
    assert_eq!(session["currency"], "usd");
    assert_eq!(session["quantity"], "1");
    assert_eq!(session["name"], "Prepaid credit for Prepaid Ltd");
    assert_eq!(
        session["intent_metadata"]["sluice_tenant_id"],
        tenant.as_str()
    );
    assert_eq!(session["metadata"]["sluice_tenant_id"], tenant.as_str());
    assert!(
        session["success_url"]
            .as_str()
            .unwrap()
            .ends_with("/billing?credit=paid"),
        "{session}"
    );

    // Stripe's notice of the payment tops the credit up, once however often it comes.
    let paid = event(
        "payment_intent.succeeded",
        payment_intent_object("pi_7", 2_550, "usd", session["intent_metadata"].clone()),
    );
    for changed in [true, false] {
        let (status, outcome) = signed(&app, &paid).await;
        assert_eq!(status, StatusCode::OK, "{outcome}");
        assert_eq!(outcome, json!({"outcome": "top_up", "changed": changed}));
    }
    let (_, credit) = finance.get(&base).await;
    assert_eq!(credit["balance"], "25.5", "{credit}");
    assert_eq!(credit["top_ups"][0]["reference"], "pi_7");

    // A partner's sub-tenant's credit is its partner's to keep.
    let sub = world.sub_tenant("Customer").await;
    let sub_base = format!("/api/v1/tenants/{sub}/billing/credit");
    let (status, credit) = world
        .admin
        .put(&sub_base, json!({"stop_at_zero": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{credit}");
    assert_eq!(credit["can_pay"], false);
    let (status, problem) = world
        .admin
        .post(&format!("{sub_base}/checkout"), json!({"amount": "25"}))
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    assert!(problem.to_string().contains("partner"), "{problem}");
    assert_eq!(stripe.checkouts().len(), 1);
}
