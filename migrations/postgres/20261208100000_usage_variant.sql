-- The experiment arm a usage record's call landed on (the deployment's `variant`, by default
-- its name) when its model runs an experiment (`strategy = "split"`) or labels its
-- deployments, so usage can be broken down by variant. NULL for every other call and for
-- every row from before experiments.

alter table usage_records add column variant text;
