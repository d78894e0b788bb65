-- The audit ledger, in its own database file. Each record carries its sequence number, the
-- hash of the record before it and its own hash (see crates/ledger); the indexed columns are
-- copies of fields of the body, for fast filtered export.
CREATE TABLE records (
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
CREATE INDEX records_time ON records (time);
CREATE INDEX records_account ON records (account, time);
CREATE INDEX records_tenant ON records (tenant, time);
CREATE INDEX records_source ON records (source, time);
CREATE INDEX records_session ON records (session, time);

-- Signed checkpoints (Ed25519 over seq, hash and time).
CREATE TABLE checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB    NOT NULL,
    time      INTEGER NOT NULL,
    signature BLOB    NOT NULL
);
