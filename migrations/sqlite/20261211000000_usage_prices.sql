-- What each call cost and what it is charged, from the price book in force when it arrived,
-- in nano-units (billionths) of the platform's currency: `cost_nanos` what the platform pays
-- the provider, `wholesale_nanos` what a partner pays for its sub-tenant's call, `price_nanos`
-- what the tenant pays. NULL where no price applies (an unpriced model, and every row from
-- before prices): never recorded as zero.

alter table usage_records add column cost_nanos bigint;
alter table usage_records add column wholesale_nanos bigint;
alter table usage_records add column price_nanos bigint;
