-- The ledger this catalog's changes are recorded in, by the public half of the key that signs
-- its checkpoints: a ledger removed (or replaced by an empty one) and its key with it would
-- otherwise make the server start a new, "intact" ledger, the history gone without a trace.
-- Empty until the server's first start has a checkpoint signed.
CREATE TABLE ledger_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_key  BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL
);
