-- The semantic response cache (issue 17): answers found again by the embedding of the prompt
-- that got them, within a tenant, a model alias and the request's other parameters (`scope`,
-- a hash). `vector` is base64 of the normalised embedding's little-endian f32s, `body` the
-- JSON answer, `counts` its token counts as a JSON list. Rows past `expires_at` are never
-- served and are deleted by the nodes. Identical for SQLite and Postgres.

create table semantic_cache_entries (
    tenant_id text not null references tenants (id),
    id text not null,
    alias text not null,
    scope text not null,
    vector text not null,
    body text not null,
    counts text not null,
    deployment text not null,
    created_at bigint not null,
    expires_at bigint not null,
    primary key (tenant_id, id)
);

create index semantic_cache_entries_by_expiry on semantic_cache_entries (expires_at);

-- A tenant's own similarity threshold in parts per 10 000 (0.95 is 9500); null: each model's.
alter table tenants add column semantic_threshold bigint;
