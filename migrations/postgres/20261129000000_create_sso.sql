-- Single sign-on: sign-ins in flight (single-use state) and email domains that must use SSO.
-- Identical for SQLite and Postgres.

create table sso_states (
    state_hash text primary key,
    provider text not null,
    nonce text not null,
    pkce_verifier text not null,
    return_to text not null,
    created_at bigint not null,
    expires_at bigint not null
);

create table sso_domains (
    domain text primary key,
    tenant_id text not null references tenants (id),
    provider text not null,
    created_at bigint not null
);

create index sso_domains_by_tenant on sso_domains (tenant_id, created_at);
