-- Corrections to a tenant's bill: credits and adjustments, only ever added (a wrong one is
-- undone by another), each with its reason and its author. `kind` is `credit` or
-- `adjustment`; `amount_nanos` is the signed effect on what the tenant owes, in nano-units
-- (negative for every credit); `effective_at` (microseconds) places it in the period whose bill
-- it corrects; `author_id` and `author` are the user who made it and their email then.

create table ledger_adjustments (
    id text primary key,
    tenant_id text not null,
    kind text not null,
    amount_nanos bigint not null,
    reason text not null,
    author_id text not null,
    author text not null,
    effective_at bigint not null,
    created_at bigint not null
);

create index ledger_adjustments_tenant_time on ledger_adjustments (tenant_id, effective_at);
