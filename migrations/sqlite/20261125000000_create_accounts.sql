-- Accounts, sessions, tokens, memberships, invitations, the audit log, and API key scopes.
-- This file is identical for SQLite and Postgres: ids are UUID text, times are bigint
-- microseconds since the Unix epoch, JSON is text.

create table users (
    id text primary key,
    email text not null unique,
    display_name text,
    password_hash text,
    email_verified_at bigint,
    is_operator boolean not null default false,
    failed_logins bigint not null default 0,
    locked_until bigint,
    created_at bigint not null
);

create table memberships (
    tenant_id text not null references tenants (id),
    user_id text not null references users (id),
    role text not null,
    created_at bigint not null,
    primary key (tenant_id, user_id)
);

create index memberships_user on memberships (user_id);

create table sessions (
    id_hash text primary key,
    user_id text not null references users (id),
    csrf_token text not null,
    created_at bigint not null,
    expires_at bigint not null,
    ip text,
    user_agent text
);

create index sessions_user on sessions (user_id);

create table email_tokens (
    token_hash text primary key,
    user_id text not null references users (id),
    purpose text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

create table personal_access_tokens (
    id text primary key,
    user_id text not null references users (id),
    name text not null,
    token_hash text not null unique,
    display_prefix text not null,
    last_four text not null,
    created_at bigint not null,
    expires_at bigint,
    revoked_at bigint
);

create index personal_access_tokens_user on personal_access_tokens (user_id);

create table invitations (
    tenant_id text not null references tenants (id),
    id text primary key,
    email text not null,
    role text not null,
    token_hash text not null unique,
    invited_by text not null,
    created_at bigint not null,
    expires_at bigint not null,
    accepted_at bigint,
    revoked_at bigint
);

create index invitations_tenant on invitations (tenant_id, created_at);

create table audit_events (
    seq bigint primary key,
    id text not null unique,
    tenant_id text,
    actor_kind text not null,
    actor_id text,
    actor_label text,
    action text not null,
    target_kind text,
    target_id text,
    ip text,
    before_json text,
    after_json text,
    created_at bigint not null,
    prev_hash text not null,
    hash text not null
);

create index audit_events_tenant on audit_events (tenant_id, seq);

-- The chain's head: the last sequence number and hash, one row, locked by every append.
create table audit_head (
    id integer primary key check (id = 1),
    seq bigint not null,
    hash text not null
);

insert into audit_head (id, seq, hash)
values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

alter table api_keys add column allowed_endpoints text not null default '[]';
alter table api_keys add column ip_allowlist text not null default '[]';
alter table api_keys add column limits text not null default '{}';
alter table api_keys add column created_by text;
alter table api_keys add column rotated_from text;
