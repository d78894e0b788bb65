-- The ledger's tail: records appended since they were last folded into `records`. Same
-- columns, no secondary indexes, so that a durable append writes one or two pages instead of
-- six or seven; the writer folds them into `records` (indexed, for export) in one transaction
-- every second, at checkpoints, at start and at shutdown. Every sequence number here is greater
-- than every one in `records`; verification walks `records` and then `recent` as one chain.
CREATE TABLE recent (
    seq       INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL,
    kind      TEXT    NOT NULL,
    account   TEXT,
    tenant    TEXT,
    source    TEXT,
    session   TEXT,
    body      BLOB    NOT NULL
);
