-- A partner's sub-tenants' invoices are collected from the partner, at wholesale: the payment
-- provider's customer of each partner, created once (a tenant's is in `billing_customers`).

create table partner_billing_customers (
    partner_id text primary key,
    customer_id text not null,
    created_at bigint not null
);
