-- Prepaid credit. `credit_topups`: money added to a tenant's credit, only ever added, each
-- counted once per (tenant, reference) however often it is sent. `credit_accounts`: one row per
-- tenant on prepaid credit: whether calls stop at zero, and the balance as of `as_of`
-- (microseconds): top-ups less prices and corrections of everything before it, worked out by
-- the database on every top-up and change and hourly (the gateway counts what is spent after
-- it). Money in nano-units.

create table credit_topups (
    id text primary key,
    tenant_id text not null,
    amount_nanos integer not null,
    reference text not null,
    reason text not null,
    author text not null,
    created_at integer not null
);

create unique index credit_topups_reference on credit_topups (tenant_id, reference);
create index credit_topups_tenant_time on credit_topups (tenant_id, created_at);

create table credit_accounts (
    tenant_id text primary key,
    stop_at_zero integer not null,
    as_of integer not null,
    balance_nanos integer not null
);
