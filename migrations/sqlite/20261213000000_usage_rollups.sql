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
    start_at integer not null,
    key_id text not null,
    model_alias text not null,
    variant text not null,
    shadow integer not null,
    requests integer not null,
    errors integer not null,
    cache_hits integer not null,
    prompt_tokens integer not null,
    completion_tokens integer not null,
    cached_tokens integer not null,
    cache_write_tokens integer not null,
    reasoning_tokens integer not null,
    cost_nanos integer not null,
    wholesale_nanos integer not null,
    price_nanos integer not null,
    unpriced integer not null,
    lat_00 integer not null,
    lat_01 integer not null,
    lat_02 integer not null,
    lat_03 integer not null,
    lat_04 integer not null,
    lat_05 integer not null,
    lat_06 integer not null,
    lat_07 integer not null,
    lat_08 integer not null,
    lat_09 integer not null,
    lat_10 integer not null,
    lat_11 integer not null,
    lat_12 integer not null,
    lat_13 integer not null,
    lat_14 integer not null,
    lat_15 integer not null,
    lat_16 integer not null,
    lat_17 integer not null,
    lat_18 integer not null,
    lat_19 integer not null,
    lat_20 integer not null,
    lat_21 integer not null,
    lat_22 integer not null,
    lat_23 integer not null,
    lat_24 integer not null,
    primary key (tenant_id, grain, start_at, key_id, model_alias, variant, shadow)
);

-- Whether the records written before rollups existed have been folded into them: a starting
-- node does it once, in one transaction, before it serves (`store_sql::backfill_rollups`).
create table rollup_backfill (
    id integer primary key check (id = 1),
    done integer not null
);

insert into rollup_backfill (id, done) values (1, 0);
