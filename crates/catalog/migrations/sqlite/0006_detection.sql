-- Detection and containment: the alerts raised, canary files, per-tenant and per-account
-- threshold overrides, and why an account was locked.

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,          -- UUID v7
    time_ms     INTEGER NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    rule        TEXT NOT NULL,
    account     TEXT,
    tenant      TEXT,
    source      TEXT,
    body        TEXT NOT NULL,             -- the alert as JSON (schema: docs/DETECTION.md)
    acked_at    INTEGER,
    acked_by    TEXT,
    ack_note    TEXT
);
CREATE INDEX alerts_time ON alerts (time_ms);
CREATE INDEX alerts_account ON alerts (account, time_ms);

-- A canary is a file (a node) of its tenant; it goes with the node.
CREATE TABLE canaries (
    node_id     INTEGER PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE detection_overrides (
    scope       TEXT NOT NULL CHECK (scope IN ('tenant', 'account')),
    name        TEXT NOT NULL,
    thresholds  TEXT NOT NULL,             -- JSON, every threshold named (docs/DETECTION.md)
    PRIMARY KEY (scope, name)
);

ALTER TABLE accounts ADD COLUMN lock_reason TEXT;
