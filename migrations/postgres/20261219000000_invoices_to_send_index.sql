-- The payment sync's pass (`invoices_to_send`) reads finalized invoices from a date on, oldest
-- first: without this it scanned every invoice ever made, every `sync_ms`, on every node.

create index invoices_finalized_at on invoices (finalized_at, id) where status = 'finalized';
