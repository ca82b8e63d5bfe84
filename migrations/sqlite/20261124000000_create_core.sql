-- Tenants, API keys, usage records and the change counter nodes poll.
-- Ids are UUID text; times are integer microseconds since the Unix epoch.

create table tenants (
    id text primary key not null,
    name text not null unique,
    status text not null,
    created_at integer not null
);

create table api_keys (
    tenant_id text not null references tenants (id),
    id text not null unique,
    name text,
    display_prefix text not null,
    last_four text not null,
    key_hash text not null unique,
    allowed_models text not null,
    created_at integer not null,
    expires_at integer,
    revoked_at integer,
    primary key (tenant_id, id)
);

create table usage_records (
    tenant_id text not null,
    id text primary key not null,
    request_id text not null,
    key_id text not null,
    endpoint text not null,
    model_alias text not null,
    provider text not null,
    upstream_model text not null,
    stream integer not null,
    prompt_tokens integer not null,
    completion_tokens integer not null,
    cached_tokens integer not null,
    cache_write_tokens integer not null,
    reasoning_tokens integer not null,
    estimated integer not null,
    raw_usage text,
    status text not null,
    http_status integer not null,
    error_code text,
    latency_ms integer not null,
    ttft_ms integer,
    created_at integer not null
);

create index usage_records_tenant_time on usage_records (tenant_id, created_at desc);

create table store_revision (
    id integer primary key check (id = 1),
    revision integer not null
);

insert into store_revision (id, revision) values (1, 0);
