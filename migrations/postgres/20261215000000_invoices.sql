-- A tenant's invoices, one per billing period. A draft has no number and no content: it is read
-- from the ledger whenever it is shown. Finalizing sets `number` (one platform-wide sequence),
-- `finalized_at`, `total_nanos` and `content_json` (the frozen lines, corrections, carried
-- usage, tax and total: `domain::invoice::InvoiceContent`); after that only voiding changes a
-- row (`status`, `voided_at`, `void_reason`). Times are microseconds. The writer refuses a
-- second invoice that is not void over any part of a tenant's period; the partial index below
-- is the last guard for the common case of the same start.

create table invoices (
    id text primary key,
    tenant_id text not null,
    status text not null,
    number bigint,
    period_from bigint not null,
    period_to bigint not null,
    created_by text not null,
    created_at bigint not null,
    finalized_at bigint,
    voided_at bigint,
    void_reason text,
    total_nanos bigint,
    content_json text
);

create unique index invoices_number on invoices (number);
create index invoices_tenant_period on invoices (tenant_id, period_from);
create unique index invoices_one_per_period on invoices (tenant_id, period_from) where status <> 'void';
