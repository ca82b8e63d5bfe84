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
-- JSON of `domain::limits::BudgetAlert`, as its webhook carries it.
create table budget_alerts (
    id text primary key,
    recipient text not null,
    recipient_id text not null,
    dedupe_key text not null unique,
    alert text not null,
    raised_at bigint not null
);

create index budget_alerts_by_recipient on budget_alerts (recipient, recipient_id, raised_at);
