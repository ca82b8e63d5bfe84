//! A fake Stripe over real HTTP: the parts of its API the gateway uses (customers, invoices,
//! invoice items, finalize, void, delete, checkout sessions), answering with objects in Stripe's shape, replaying
//! the first answer to a repeated `Idempotency-Key` (and refusing one reused with other
//! parameters, as Stripe does), and keeping every request for the test to check. It can lose
//! the answer to a request it carried out (a sync cut short after Stripe acted), and it signs
//! webhook notices as Stripe does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// The secret key the gateway must present.
pub const SECRET_KEY: &str = "sk_test_fake_0123456789";
/// The webhook signing secret.
pub const WEBHOOK_SECRET: &str = "whsec_fake_0123456789";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    /// Answered from the idempotency cache, not carried out again.
    pub replayed: bool,
}

impl Request {
    /// The first value of a form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// Key → (method, path and sorted parameters; status; answer).
    idempotent: HashMap<String, (String, u16, Value)>,
    customers: Vec<Value>,
    invoices: Vec<Value>,
    items: Vec<Value>,
    checkouts: Vec<Value>,
    /// Request numbers (1-based, over every request) whose answer is lost after they were
    /// carried out.
    lose: Vec<usize>,
    /// Seconds from finalizing to the due date.
    due_in: i64,
    problems: Vec<String>,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn stripe_error(status: u16, kind: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": {"type": kind, "message": message}}))
}

/// An invoice in Stripe's shape.
pub fn invoice_object(id: &str, customer: &str, currency: &str) -> Value {
    let at = now();
    json!({
        "id": id, "object": "invoice", "customer": customer, "currency": currency,
        "amount_due": 0, "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0,
        "amount_shipping": 0, "attempt_count": 0, "attempted": false,
        "automatic_tax": {"enabled": false}, "collection_method": "send_invoice",
        "created": at, "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": {"object": "list", "data": [], "has_more": false,
                  "url": format!("/v1/invoices/{id}/lines")},
        "livemode": false, "metadata": {}, "payment_settings": {}, "period_end": at,
        "period_start": at, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "starting_balance": 0, "status": "draft",
        "status_transitions": {}, "subtotal": 0, "total": 0,
    })
}

/// A successful payment in Stripe's shape, tagged with `metadata`.
pub fn payment_intent_object(id: &str, amount: i64, currency: &str, metadata: Value) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": amount, "capture_method": "automatic",
        "confirmation_method": "automatic", "created": now(), "currency": currency,
        "livemode": false, "metadata": metadata, "payment_method_types": ["card"],
        "status": "succeeded",
    })
}

/// An event around `object`, as Stripe posts it.
pub fn event(kind: &str, object: Value) -> String {
    json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()), "object": "event",
        "api_version": "2025-11-17.clover", "created": now(), "livemode": false,
        "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
        "type": kind, "data": {"object": object},
    })
    .to_string()
}

/// The `Stripe-Signature` header of `payload` signed with `secret` at `timestamp`.
pub fn signature(payload: &str, secret: &str, timestamp: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp}.{payload}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

impl FakeStripe {
    /// Starts on a free port; needs a Tokio runtime.
    pub fn start() -> FakeStripe {
        let state = Arc::new(Mutex::new(State {
            due_in: 30 * 86_400,
            ..State::default()
        }));
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        FakeStripe {
            url: format!("http://127.0.0.1:{port}/"),
            state,
        }
    }

    /// Loses the answer to the `nth` request from now on (1 is the next one): it is carried
    /// out, and the client is told 500.
    pub fn lose_answer(&self, nth: usize) {
        let mut state = self.state.lock().unwrap();
        let at = state.requests.len() + nth;
        state.lose.push(at);
    }

    /// Seconds from finalizing an invoice to its due date (negative: due already).
    pub fn due_in(&self, seconds: i64) {
        self.state.lock().unwrap().due_in = seconds;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn customers(&self) -> Vec<Value> {
        self.state.lock().unwrap().customers.clone()
    }

    /// Every invoice not deleted.
    pub fn invoices(&self) -> Vec<Value> {
        self.state.lock().unwrap().invoices.clone()
    }

    pub fn items(&self) -> Vec<Value> {
        self.state.lock().unwrap().items.clone()
    }

    /// Every checkout session opened.
    pub fn checkouts(&self) -> Vec<Value> {
        self.state.lock().unwrap().checkouts.clone()
    }

    /// What the fake found wrong in the requests (none expected).
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|it| it.to_str().ok())
        .map(str::to_owned);
    let mut state = state.lock().unwrap();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|it| it.to_str().ok())
        == Some(format!("Bearer {SECRET_KEY}").as_str());
    // Stripe compares a retry's parameters with the first request's, not their order (a
    // client's metadata map may come out in any order).
    let mut sorted = form.clone();
    sorted.sort();
    let fingerprint = format!("{method} {path} {sorted:?}");
    let mut request = Request {
        method: method.clone(),
        path: path.clone(),
        form: form.clone(),
        idempotency_key: key.clone(),
        replayed: false,
    };
    let (status, answer) = if !authorized {
        stripe_error(401, "invalid_request_error", "Invalid API Key provided")
    } else if let Some((seen, status, answer)) =
        key.as_ref().and_then(|it| state.idempotent.get(it))
    {
        request.replayed = true;
        if *seen == fingerprint {
            (*status, answer.clone())
        } else {
            stripe_error(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            )
        }
    } else {
        if method == "POST" && key.is_none() {
            state
                .problems
                .push(format!("{method} {path} without an idempotency key"));
        }
        let (status, answer) = carry_out(&mut state, &method, &path, &form);
        if let Some(key) = &key {
            state
                .idempotent
                .insert(key.clone(), (fingerprint, status, answer.clone()));
        }
        (status, answer)
    };
    state.requests.push(request);
    let number = state.requests.len();
    if state.lose.contains(&number) {
        return HttpResponse::InternalServerError()
            .json(json!({"error": {"type": "api_error", "message": "the answer was lost"}}));
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .insert_header(("request-id", format!("req_{number}")))
        .json(answer)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn metadata(form: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, value) in form {
        if let Some(name) = key
            .strip_prefix("metadata[")
            .and_then(|it| it.strip_suffix(']'))
        {
            map.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
    Value::Object(map)
}

fn carry_out(
    state: &mut State,
    method: &str,
    path: &str,
    form: &[(String, String)],
) -> (u16, Value) {
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["customers"]) => {
            let id = format!("cus_{}", state.customers.len() + 1);
            let customer = json!({
                "id": id, "object": "customer", "created": now(), "livemode": false,
                "name": field(form, "name"), "metadata": metadata(form),
            });
            state.customers.push(customer.clone());
            (200, customer)
        }
        ("POST", ["invoices"]) => {
            let Some(customer) = field(form, "customer") else {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "Missing required param: customer.",
                );
            };
            if !state.customers.iter().any(|it| it["id"] == customer) {
                return stripe_error(400, "invalid_request_error", "No such customer");
            }
            let id = format!("in_{}", state.invoices.len() + 1);
            let mut invoice =
                invoice_object(&id, customer, field(form, "currency").unwrap_or("usd"));
            invoice["metadata"] = metadata(form);
            invoice["description"] = json!(field(form, "description"));
            invoice["auto_advance"] = json!(field(form, "auto_advance") == Some("true"));
            invoice["collection_method"] =
                json!(field(form, "collection_method").unwrap_or("charge_automatically"));
            invoice["days_until_due"] =
                json!(field(form, "days_until_due").and_then(|it| it.parse::<i64>().ok()));
            invoice["pending_invoice_items_behavior"] =
                json!(field(form, "pending_invoice_items_behavior"));
            state.invoices.push(invoice.clone());
            (200, invoice)
        }
        ("POST", ["checkout", "sessions"]) => {
            let customer = field(form, "customer").unwrap_or_default();
            if !state.customers.iter().any(|it| it["id"] == customer) {
                return stripe_error(400, "invalid_request_error", "No such customer");
            }
            let mode = field(form, "mode");
            let amount = field(form, "line_items[0][price_data][unit_amount]")
                .and_then(|it| it.parse::<i64>().ok());
            let currency = field(form, "line_items[0][price_data][currency]");
            let (Some("payment"), Some(amount), Some(currency)) = (mode, amount, currency) else {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "Missing required param: mode, line_items[0][price_data][unit_amount] or currency.",
                );
            };
            if field(form, "success_url").is_none() {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "Missing required param: success_url.",
                );
            }
            let id = format!("cs_test_{}", state.checkouts.len() + 1);
            let created = now();
            let session = json!({
                "id": id, "object": "checkout.session", "created": created,
                "expires_at": created + 86_400, "livemode": false, "mode": "payment",
                "status": "open", "payment_status": "unpaid", "customer": customer,
                "currency": currency, "amount_total": amount, "amount_subtotal": amount,
                "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
                "custom_fields": [], "custom_text": {}, "shipping_options": [],
                "payment_method_types": ["card"], "metadata": metadata(form),
                "client_reference_id": field(form, "client_reference_id"),
                "success_url": field(form, "success_url"), "cancel_url": field(form, "cancel_url"),
                "url": format!("https://checkout.stripe.test/c/pay/{id}"),
                "quantity": field(form, "line_items[0][quantity]"),
                "name": field(form, "line_items[0][price_data][product_data][name]"),
                "intent_metadata": {
                    "sluice_tenant_id": field(form, "payment_intent_data[metadata][sluice_tenant_id]"),
                },
            });
            state.checkouts.push(session.clone());
            (200, session)
        }
        ("POST", ["invoiceitems"]) => {
            let invoice_id = field(form, "invoice").unwrap_or_default().to_owned();
            let Some(at) = state
                .invoices
                .iter()
                .position(|it| it["id"] == invoice_id.as_str())
            else {
                return stripe_error(400, "invalid_request_error", "No such invoice");
            };
            if state.invoices[at]["status"] != "draft" {
                return stripe_error(400, "invalid_request_error", "The invoice is not a draft");
            }
            let Some(amount) = field(form, "amount").and_then(|it| it.parse::<i64>().ok()) else {
                return stripe_error(400, "invalid_request_error", "Invalid integer: amount");
            };
            if field(form, "currency") != state.invoices[at]["currency"].as_str() {
                return stripe_error(400, "invalid_request_error", "Currency mismatch");
            }
            let customer = field(form, "customer").unwrap_or_default();
            let id = format!("ii_{}", state.items.len() + 1);
            let at_time = now();
            let item = json!({
                "id": id, "object": "invoiceitem", "amount": amount,
                "currency": field(form, "currency"), "customer": customer, "date": at_time,
                "description": field(form, "description"), "discountable": true,
                "invoice": invoice_id, "livemode": false, "metadata": {},
                "period": {"start": at_time, "end": at_time}, "proration": false,
                "quantity": 1, "quantity_decimal": "1",
            });
            state.items.push(item.clone());
            let invoice = &mut state.invoices[at];
            let total = invoice["total"].as_i64().unwrap_or(0) + amount;
            for name in ["total", "subtotal", "amount_due", "amount_remaining"] {
                invoice[name] = json!(total);
            }
            (200, item)
        }
        ("POST", ["invoices", id, "finalize"]) => {
            let due_in = state.due_in;
            let Some(invoice) = state.invoices.iter_mut().find(|it| it["id"] == *id) else {
                return stripe_error(404, "invalid_request_error", "No such invoice");
            };
            if invoice["status"] != "draft" {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "This invoice is already finalized",
                );
            }
            let total = invoice["total"].as_i64().unwrap_or(0);
            invoice["status"] = json!(if total <= 0 { "paid" } else { "open" });
            invoice["number"] = json!(format!("FAKE-{id}"));
            invoice["hosted_invoice_url"] = json!(format!("https://invoice.stripe.test/i/{id}"));
            if invoice["collection_method"] == "send_invoice" {
                invoice["due_date"] = json!(now() + due_in);
            }
            (200, invoice.clone())
        }
        ("POST", ["invoices", id, "void"]) => {
            let Some(invoice) = state.invoices.iter_mut().find(|it| it["id"] == *id) else {
                return stripe_error(404, "invalid_request_error", "No such invoice");
            };
            if invoice["status"] != "open" {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "Only open invoices can be voided",
                );
            }
            invoice["status"] = json!("void");
            (200, invoice.clone())
        }
        ("DELETE", ["invoices", id]) => {
            let Some(at) = state.invoices.iter().position(|it| it["id"] == *id) else {
                return stripe_error(404, "invalid_request_error", "No such invoice");
            };
            if state.invoices[at]["status"] != "draft" {
                return stripe_error(400, "invalid_request_error", "Only drafts can be deleted");
            }
            state.invoices.remove(at);
            (200, json!({"id": id, "object": "invoice", "deleted": true}))
        }
        _ => {
            state.problems.push(format!("unexpected {method} {path}"));
            stripe_error(404, "invalid_request_error", "Unrecognized request URL")
        }
    }
}
