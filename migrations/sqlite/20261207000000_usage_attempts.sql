-- The tries a call made before the one a usage record bills (the gateway fails over between a
-- model's deployments): a compact JSON array of {deployment, http_status, error_code,
-- latency_ms}, in order. NULL when the first try answered, which is nearly every call, and for
-- every row from before failover.

alter table usage_records add column attempts text;
