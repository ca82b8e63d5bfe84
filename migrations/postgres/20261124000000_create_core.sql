-- Tenants, API keys, usage records and the change counter nodes poll.
-- The column types mirror the SQLite schema, so both backends share their queries (store-sql):
-- ids are UUID text, times are bigint microseconds since the Unix epoch, JSON is text.

create table tenants (
    id text primary key,
    name text not null unique,
    status text not null,
    created_at bigint not null
);

create table api_keys (
    tenant_id text not null references tenants (id),
    id text not null unique,
    name text,
    display_prefix text not null,
    last_four text not null,
    key_hash text not null unique,
    allowed_models text not null,
    created_at bigint not null,
    expires_at bigint,
    revoked_at bigint,
    primary key (tenant_id, id)
);

create table usage_records (
    tenant_id text not null,
    id text primary key,
    request_id text not null,
    key_id text not null,
    endpoint text not null,
    model_alias text not null,
    provider text not null,
    upstream_model text not null,
    stream boolean not null,
    prompt_tokens bigint not null,
    completion_tokens bigint not null,
    cached_tokens bigint not null,
    cache_write_tokens bigint not null,
    reasoning_tokens bigint not null,
    estimated boolean not null,
    -- The provider's usage object, byte for byte.
    raw_usage text,
    status text not null,
    http_status bigint not null,
    error_code text,
    latency_ms bigint not null,
    ttft_ms bigint,
    created_at bigint not null
);

create index usage_records_tenant_time on usage_records (tenant_id, created_at desc);

create table store_revision (
    id integer primary key check (id = 1),
    revision bigint not null
);

insert into store_revision (id, revision) values (1, 0);
