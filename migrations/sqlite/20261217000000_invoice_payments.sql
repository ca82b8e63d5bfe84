-- Collecting finalized invoices through the payment provider (Stripe).
-- `billing_customers`: the provider's customer of each tenant, created once.
-- `invoice_payments`: one row per finalized invoice once payments are configured: how far its
-- sync got (`provider_invoice`, `items_sent`: a retried sync resumes there), and whether it
-- is paid. While `status` is `open` or `failed`, from `suspend_at` (the due date plus the
-- grace period) on, the tenant's calls are refused. Times are microseconds.

create table billing_customers (
    tenant_id text primary key,
    customer_id text not null,
    created_at integer not null
);

create table invoice_payments (
    invoice_id text primary key,
    tenant_id text not null,
    status text not null,
    provider_invoice text,
    items_sent integer not null,
    hosted_url text,
    due_at integer,
    suspend_at integer,
    paid_at integer,
    failed_at integer,
    updated_at integer not null
);

create unique index invoice_payments_provider on invoice_payments (provider_invoice);
create index invoice_payments_tenant_status on invoice_payments (tenant_id, status);
