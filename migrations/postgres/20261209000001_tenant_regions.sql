-- Data residency (issue 17): the regions whose deployments may serve a tenant's calls, as a
-- JSON list; null means any. A key narrows it further (`api_keys.regions`, the same form;
-- service accounts keep theirs in their `scopes` JSON).

alter table tenants add column regions text;
alter table api_keys add column regions text;
