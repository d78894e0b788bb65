-- A tenant key rotation re-keys the tenant's rows in steps (a transaction each), not in one
-- transaction that held the catalog's writer (every tenant's uploads) for as long as the tenant
-- had files: 40 s for 620,000 files. While it goes on, the key being replaced is kept here
-- (wrapped like the current one in `tenant_keys`, which holds the new key), with how far the
-- rotation has come: the tenant's nodes re-keyed up to `nodes_done_to` of those that existed
-- when it began (up to `until_node`; every node made since is under the new key), then its
-- class history up to `history_done_to`. The row, and with it the old key, is deleted in the
-- transaction of the last step.
CREATE TABLE retiring_tenant_keys (
    tenant_id       INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    master_key_id   BLOB    NOT NULL,
    wrapped         BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    retiring_since  INTEGER NOT NULL,
    until_node      INTEGER NOT NULL,
    nodes_done_to   INTEGER NOT NULL DEFAULT 0,
    history_done_to INTEGER NOT NULL DEFAULT 0
);

-- A directory's listing pages through its children by id, which a rotation does not change
-- (by their names' lookup forms, which it does, a listing beside a rotation could skip or
-- repeat names).
CREATE INDEX nodes_children ON nodes (parent_id, id);
