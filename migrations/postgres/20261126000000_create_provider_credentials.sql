-- Tenants' own provider credentials (bring your own key), sealed with the master key.
-- Identical for SQLite and Postgres.

create table provider_credentials (
    tenant_id text not null references tenants (id),
    id text primary key,
    name text not null,
    provider text not null,
    base_url text,
    sealed text not null,
    mask text not null,
    created_by text,
    created_at bigint not null,
    unique (tenant_id, name),
    unique (tenant_id, provider)
);
