-- Usage rollups: the usage records summed per tenant, grain (`minute`, `hour`, UTC `day`),
-- bucket start (microseconds), key, model alias, experiment arm ('' when none) and shadow flag
-- (mirrors to shadow deployments, 1, kept apart). The usage writer adds every record it inserts
-- to its three rows in the same transaction, and only if the record was new, so a replayed
-- record is never counted twice and the rollups always equal the ledger. Money in nano-units
-- (`cost_nanos`, `wholesale_nanos`, `price_nanos`: sums of the priced calls); `unpriced` counts
-- calls that used tokens of a model with no price; `lat_00`…`lat_24` count calls per latency
-- bucket (`domain::rollup::LATENCY_BOUNDS_MS`). Dashboards, bills and invoices read these.

create table usage_rollups (
    tenant_id text not null,
    grain text not null,
    start_at bigint not null,
    key_id text not null,
    model_alias text not null,
    variant text not null,
    shadow bigint not null,
    requests bigint not null,
    errors bigint not null,
    cache_hits bigint not null,
    prompt_tokens bigint not null,
    completion_tokens bigint not null,
    cached_tokens bigint not null,
    cache_write_tokens bigint not null,
    reasoning_tokens bigint not null,
    cost_nanos bigint not null,
    wholesale_nanos bigint not null,
    price_nanos bigint not null,
    unpriced bigint not null,
    lat_00 bigint not null,
    lat_01 bigint not null,
    lat_02 bigint not null,
    lat_03 bigint not null,
    lat_04 bigint not null,
    lat_05 bigint not null,
    lat_06 bigint not null,
    lat_07 bigint not null,
    lat_08 bigint not null,
    lat_09 bigint not null,
    lat_10 bigint not null,
    lat_11 bigint not null,
    lat_12 bigint not null,
    lat_13 bigint not null,
    lat_14 bigint not null,
    lat_15 bigint not null,
    lat_16 bigint not null,
    lat_17 bigint not null,
    lat_18 bigint not null,
    lat_19 bigint not null,
    lat_20 bigint not null,
    lat_21 bigint not null,
    lat_22 bigint not null,
    lat_23 bigint not null,
    lat_24 bigint not null,
    primary key (tenant_id, grain, start_at, key_id, model_alias, variant, shadow)
);

-- Whether the records written before rollups existed have been folded into them: a starting
-- node does it once, in one transaction, before it serves (`store_sql::backfill_rollups`).
create table rollup_backfill (
    id bigint primary key check (id = 1),
    done bigint not null
);

insert into rollup_backfill (id, done) values (1, 0);
