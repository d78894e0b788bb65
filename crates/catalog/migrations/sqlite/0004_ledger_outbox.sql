-- Audit records of catalog changes, written in the same transaction as the change they record
-- (so that a change is never committed without its record, and the two share one flush), until
-- the server's ledger writer has appended them to the ledger (ledger.db) and deletes them.
-- `id` is random (chosen by the server, so that it can delete the rows it appended without
-- reading them back); `queued_ns` orders what is left for recovery at the next start.
CREATE TABLE ledger_outbox (
    id        INTEGER PRIMARY KEY,
    queued_ns INTEGER NOT NULL,
    time      INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    account   TEXT,
    tenant    TEXT,
    source    TEXT,
    session   TEXT,
    body      BLOB    NOT NULL -- the event, sealed with the ledger body key
);
