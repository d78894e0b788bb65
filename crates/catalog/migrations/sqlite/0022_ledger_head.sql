-- The ledger's head as its writer last settled it (once a second while records come, in the
-- transaction that clears the appended records from the outbox): records after the last signed
-- checkpoint (up to 30 s of them, more after a crash) are covered too. A ledger that lacks the
-- record, or holds another at its place, was rolled back or rewritten. NULL: none settled since
-- the identity was recorded or a rollback accepted.
ALTER TABLE ledger_identity ADD COLUMN head_seq INTEGER;
ALTER TABLE ledger_identity ADD COLUMN head_hash BLOB;
ALTER TABLE ledger_identity ADD COLUMN head_time INTEGER;
