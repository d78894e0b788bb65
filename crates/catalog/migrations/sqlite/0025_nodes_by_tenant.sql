-- A tenant's nodes in id order, a page at a time (a key rotation's steps, `classify run`): with
-- only `nodes_tenant_sizes` (tenant, kind, size) to find them by, each page found every node of
-- the tenant and sorted them by id, so that a rotation of 600,000 nodes in steps of 2,048 sorted
-- the tenant some 300 times. An index on the tenant alone keeps its nodes in id order (SQLite
-- orders an index's equal keys by row id): each page reads only its own rows.
CREATE INDEX nodes_tenant ON nodes (tenant_id);
