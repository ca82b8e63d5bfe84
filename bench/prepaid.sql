-- The bench tenant on prepaid credit that stops at zero, with a balance no run spends: every
-- call then takes one more hard spend counter in the admit stage. The revision bump makes the
-- running gateway reload its snapshot.
insert into credit_accounts (tenant_id, stop_at_zero, as_of, balance_nanos)
select id, 1, cast((julianday('now') - 2440587.5) * 86400000000 as integer), 1000000000000000000
from tenants where name = 'default';
update store_revision set revision = revision + 1 where id = 1;
