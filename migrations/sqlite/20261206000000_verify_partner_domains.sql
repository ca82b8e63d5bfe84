-- A partner's domain counts only once its owner proves control of it (a TXT record at
-- `_domain-verification.<host>` holding the claim's random challenge). Several partners may
-- claim a host while it is unproven (so nobody can squat a domain by claiming it first), but
-- only one can hold it verified.
--
-- Rows from before this migration become pending claims with a fresh challenge: nothing
-- recorded who added them or whether they were ever proved, and an unproven domain is exactly
-- what this change stops trusting. Partners re-prove them; an operator can vouch for one by
-- adding it again.

create table partner_domain_claims (
    partner_id text not null references partners (id),
    host text not null,
    challenge text not null,
    created_at bigint not null,
    verified_at bigint,
    primary key (partner_id, host)
);

insert into partner_domain_claims (partner_id, host, challenge, created_at, verified_at)
select partner_id, host, lower(hex(randomblob(16))), created_at, null from partner_domains;

drop table partner_domains;

alter table partner_domain_claims rename to partner_domains;

create unique index partner_domains_verified_host on partner_domains (host)
    where verified_at is not null;

create index partner_domains_by_host on partner_domains (host);
