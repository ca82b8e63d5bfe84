-- Model aliases tenants define over the platform's models and their own credentials
-- (issue 17). The spec is JSON (`domain::route::RouteSpec`); every node flattens it when its
-- snapshot loads. Identical for SQLite and Postgres.

create table tenant_routes (
    tenant_id text not null references tenants (id),
    alias text not null,
    spec text not null,
    updated_by text references users (id),
    created_at bigint not null,
    updated_at bigint not null,
    primary key (tenant_id, alias)
);
