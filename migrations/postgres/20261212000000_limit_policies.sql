-- Limits above a key's (the management API's): one policy per scope, replaced whole. `scope` is
-- `platform` (every tenant, each on its own; `scope_id` ''), `partner` (all of a partner's
-- sub-tenants together) or `tenant` (all of a tenant's keys together). `policy` is the JSON of
-- `domain::limits::LimitPolicy`, checked before it is written.

create table limit_policies (
    scope text not null,
    scope_id text not null,
    policy text not null,
    updated_by text,
    updated_at bigint not null,
    primary key (scope, scope_id)
);

-- Budget alerts: one row per budget, period and threshold (`dedupe_key`), whichever node
-- raised it first. `recipient` is `tenant` or `partner`, `recipient_id` its id; `alert` the
-- JSON of `domain::limits::BudgetAlert`, as its webhook carries it. The row is also the
-- webhook's outbox: `delivery` is `pending` (due at `next_attempt_at`; a node that claims it
-- pushes that forward by a lease and counts the attempt), `delivered`, `failed` (out of
-- attempts) or `no_endpoint` (the recipient had no webhook when it was due).
create table budget_alerts (
    id text primary key,
    recipient text not null,
    recipient_id text not null,
    dedupe_key text not null unique,
    alert text not null,
    raised_at bigint not null,
    delivery text not null,
    attempts bigint not null,
    next_attempt_at bigint not null,
    last_error text,
    delivered_at bigint
);

create index budget_alerts_by_recipient on budget_alerts (recipient, recipient_id, raised_at);
create index budget_alerts_due on budget_alerts (delivery, next_attempt_at);

-- Where a recipient's alerts are sent: one endpoint per tenant or partner, its signing secret
-- sealed under the master key (re-sealed by `sluice admin rotate-master-key`).
create table webhook_endpoints (
    recipient text not null,
    recipient_id text not null,
    url text not null,
    secret text not null,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (recipient, recipient_id)
);
