-- Partners (white-label resellers): branding, custom domains, administrators, sub-tenants.
-- Identical for SQLite and Postgres.

create table partners (
    id text primary key,
    name text not null unique,
    branding text not null,
    key_prefix text not null unique,
    created_at bigint not null
);

create table partner_domains (
    host text primary key,
    partner_id text not null references partners (id),
    created_at bigint not null
);

create index partner_domains_by_partner on partner_domains (partner_id, created_at);

create table partner_admins (
    partner_id text not null references partners (id),
    user_id text not null references users (id),
    created_at bigint not null,
    primary key (partner_id, user_id)
);

create index partner_admins_by_user on partner_admins (user_id);

alter table tenants add column partner_id text references partners (id);

create index tenants_by_partner on tenants (partner_id, created_at);
