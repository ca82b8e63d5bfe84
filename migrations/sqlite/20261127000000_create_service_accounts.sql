-- Service accounts (OAuth 2.0 client credentials) and the keys access tokens are signed with.
-- Identical for SQLite and Postgres.

create table service_accounts (
    tenant_id text not null references tenants (id),
    id text primary key,
    name text not null,
    secret_hash text not null unique,
    secret_last_four text not null,
    allowed_models text not null,
    scopes text not null,
    created_by text,
    created_at bigint not null,
    revoked_at bigint
);

create index service_accounts_by_tenant on service_accounts (tenant_id, created_at);

create table signing_keys (
    kid text primary key,
    algorithm text not null,
    private_key text not null,
    public_jwk text not null,
    created_at bigint not null,
    retired_at bigint
);
