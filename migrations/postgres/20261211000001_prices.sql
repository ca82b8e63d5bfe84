-- The stored price lists (the management API's): each row one model's rates in one list from a
-- date on, never edited (a change is a new row from a later date), so a price change never
-- rewrites the past. `scope` is `cost` (what the platform pays), `platform` (what it charges),
-- `partner` (a partner's rate card) or `tenant` (negotiated prices); `scope_id` the partner's
-- or tenant's id, '' for the platform's own lists. Money in nano-units per million tokens.

create table price_entries (
    id text primary key,
    scope text not null,
    scope_id text not null,
    provider text not null,
    model text not null,
    effective_from bigint not null,
    input_nanos bigint not null,
    output_nanos bigint not null,
    cached_input_nanos bigint,
    cache_write_nanos bigint,
    reasoning_nanos bigint,
    created_by text,
    created_at bigint not null,
    unique (scope, scope_id, provider, model, effective_from)
);

-- A list's markup (or, negative, discount) in basis points from a date on; also never edited.
create table price_markups (
    id text primary key,
    scope text not null,
    scope_id text not null,
    effective_from bigint not null,
    basis_points bigint not null,
    created_by text,
    created_at bigint not null,
    unique (scope, scope_id, effective_from)
);
